"""The `arenalens` command: a thin shell over the stage functions.

Commands are registered by name and imported only when they run (or when their own `--help` is
asked for), so the everyday paths start in well under a second.
"""

from __future__ import annotations

import errno
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from arenalens.errors import ArenalensError
from arenalens.stages import STAGES


@dataclass(frozen=True)
class LazyCommand:
    """Where a top-level command lives, and its one-line help for `arenalens --help`."""

    module: str
    help: str


# The application's own commands (not a stage's): module and one-line help.
CORE_COMMANDS: dict[str, LazyCommand] = {
    "ingest": LazyCommand(
        "arenalens.app.commands",
        "Ingest interaction files (canonical JSONL/CSV/Parquet or Talk Arena votes).",
    ),
    "benchmarks": LazyCommand(
        "arenalens.app.commands",
        "Static benchmark scores (long CSV: model, dataset, task, metric, "
        "score[, higher_is_better]).",
    ),
    "aliases": LazyCommand(
        "arenalens.app.commands",
        "Model-name aliases (vote names vs benchmark names, e.g. diva_3_8b -> Diva).",
    ),
    "demo": LazyCommand(
        "arenalens.app.commands",
        "Build a workspace from the shipped synthetic sample arena and run every stage.",
    ),
    "upgrade": LazyCommand(
        "arenalens.app.commands",
        "Open the workspace, upgrading its schema to this version of arenalens.",
    ),
    "status": LazyCommand(
        "arenalens.app.status", "What the workspace holds and which stages have run."
    ),
}


def registered_commands() -> dict[str, LazyCommand]:
    """Every top-level command: the application's own, then each stage's from the registry."""
    commands = dict(CORE_COMMANDS)
    for stage in STAGES:
        for name, help_line in stage.commands.items():
            commands[name] = LazyCommand(stage.cli_module, help_line)
    return commands


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: object, lazy: dict[str, LazyCommand], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load_command(cmd_name, self.lazy[cmd_name]))
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command from its registered help line, importing none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is not None:
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append(
                    (name, click.utils.make_default_short_help(self.lazy[name].help, limit))
                )
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(name: str, spec: LazyCommand) -> click.Command:
    """Import `spec.module` and return its command called `name` (from its `COMMANDS`)."""
    module = importlib.import_module(spec.module)
    for command in getattr(module, "COMMANDS", ()):
        if command.name == name:
            return command
    raise RuntimeError(f"{spec.module} registers no command {name!r} in COMMANDS")


@click.group(
    cls=LazyGroup,
    lazy=registered_commands(),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--workspace",
    type=click.Path(path_type=Path),
    help="Workspace folder [env ARENALENS_WORKSPACE].",
)
@click.option("--db", help="Database URL, e.g. postgresql://user@127.0.0.1/db [env ARENALENS_DB].")
@click.option(
    "--labeler", type=click.Choice(["auto", "llm", "embedding"]), help="Labeler implementation."
)
@click.option("--llm-base-url", help="OpenAI-compatible endpoint [env ARENALENS_LLM_BASE_URL].")
@click.option("--llm-model", help="Model name at that endpoint [env ARENALENS_LLM_MODEL].")
@click.option("--embedding-model", help="sentence-transformers name or path.")
@click.option(
    "--embedding-backend",
    type=click.Choice(["onnx", "torch"]),
    help="onnx: int8 ONNX Runtime export (default); torch: sentence-transformers "
    "[env ARENALENS_EMBEDDING_BACKEND].",
)
@click.pass_context
def main_group(ctx: click.Context, **flags: object) -> None:
    """Analyse arena-style evaluations of voice and audio AI models."""
    from arenalens.config import load_settings
    from arenalens.context import AppContext

    ctx.obj = AppContext(load_settings(flags))  # an invalid setting: one line (ConfigError)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: known errors become one line on stderr and exit code 2."""
    try:
        main_group.main(args=argv, prog_name="arenalens", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except ArenalensError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:  # a file the command writes: full disk, read-only, no permission
        if exc.errno not in ENVIRONMENT_ERRNOS:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        click.echo(
            f"error: cannot write{where} ({exc.strerror}); free space or choose a writable place",
            err=True,
        )
        sys.exit(2)


#: OS errors the environment causes (not arenalens): no space, quota, read-only, permission.
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
