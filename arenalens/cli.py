"""The `arenalens` command: a thin shell over the stage functions."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from arenalens.cli_output import echo_json
from arenalens.config import ConfigError, load_settings
from arenalens.context import AppContext

# Each stage's `cli` module exposes COMMANDS (click commands) and optionally
# `demo(app) -> str` which `arenalens demo` calls in this order.
STAGE_CLI_MODULES = ("inference.cli", "taxonomy.cli", "coding.cli", "ranking.cli", "dashboard.cli")


class ArenalensError(Exception):
    """Base for errors shown to users as one clean line (no traceback)."""


def stage_modules() -> list:
    modules = []
    for name in STAGE_CLI_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
@click.pass_context
def main_group(ctx: click.Context, **flags: object) -> None:
    """Analyse arena-style evaluations of voice and audio AI models."""
    try:
        settings = load_settings(flags)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    ctx.obj = AppContext(settings)


def _register_core_commands() -> None:
    from arenalens import commands

    for command in commands.COMMANDS:
        main_group.add_command(command)
    for module in stage_modules():
        for command in getattr(module, "COMMANDS", []):
            main_group.add_command(command)


_register_core_commands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: known errors become one line on stderr and exit code 2."""
    from arenalens.errors import USER_ERRORS

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
    except USER_ERRORS as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


__all__ = ["echo_json", "main", "main_group"]
