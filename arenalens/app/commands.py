"""The application's own commands: ingest, benchmarks, aliases, demo, upgrade."""

from __future__ import annotations

from pathlib import Path

import click

from arenalens.cli_output import echo_json, text_table
from arenalens.context import AppContext
from arenalens.display import benchmark_label, plural
from arenalens.ingest import (
    FORMATS,
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)


def _parse_field_map(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"expected SOURCE=FIELD, got {pair!r}", param_hint="--map")
        source, target = pair.split("=", 1)
        mapping[source.strip()] = target.strip()
    return mapping


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Input format (default: from the file name).",
)
@click.option(
    "--map",
    "field_map",
    multiple=True,
    metavar="SOURCE=FIELD",
    help="Rename an input field, e.g. --map sentence=query_text.",
)
@click.option(
    "--audio-root",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder that query_audio paths must stay inside (default: each input file's folder).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_obj
def ingest_command(
    app: AppContext,
    paths: tuple[Path, ...],
    fmt: str | None,
    field_map: tuple[str, ...],
    audio_root: Path | None,
    as_json: bool,
) -> None:
    """Ingest interaction files (canonical JSONL/CSV/Parquet or Talk Arena votes).

    Each file is one transaction: a bad record refuses the whole file. Re-ingesting adds nothing.
    Audio paths (query_audio, response_audio_a/b) outside the audio root, or to files that are
    not audio, are refused. A JSONL line with a `turns` list is a conversation (one record per
    turn); flat records are turns when they give conversation_id and turn.
    """
    mapping = _parse_field_map(field_map)
    reports = [
        ingest_interactions(app.store, path, fmt, field_map=mapping, audio_root=audio_root)
        for path in paths
    ]
    if as_json:
        echo_json([r.as_dict() for r in reports])
        return
    for r in reports:
        if r.skipped:
            click.echo(f"{r.path}: {r.note} ({r.records} records)")
            continue
        click.echo(
            f"{r.path}: {r.records} records -> {r.interactions_added} new interactions, "
            f"{r.interactions_merged} updated, {r.feedback_added} feedback, {r.audio_added} audio"
            + conversation_note(r.conversations, r.response_audio_added)
            + truncation_note(r.truncated)
        )


def conversation_note(conversations: int, spoken_answers: int) -> str:
    """', 3 conversations, 6 spoken answers' (each part only when there are some), or ''."""
    parts = []
    if conversations:
        parts.append(f"{conversations:,} conversation" + ("s" if conversations != 1 else ""))
    if spoken_answers:
        parts.append(f"{spoken_answers:,} spoken answer" + ("s" if spoken_answers != 1 else ""))
    return "".join(f", {part}" for part in parts)


def truncation_note(truncated: dict[str, int]) -> str:
    """'; 2 texts cut to their first 100,000 characters (feedback 2)', or '' when none were."""
    if not truncated:
        return ""
    from arenalens.ingest.records import LONG_TEXT_LIMITS

    total = sum(truncated.values())
    limits = sorted({LONG_TEXT_LIMITS[name] for name in truncated})
    limit = " or ".join(f"{n:,}" for n in limits)
    fields = ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in sorted(truncated.items()))
    texts = "1 text cut to its" if total == 1 else f"{total:,} texts cut to their"
    return f"; {texts} first {limit} characters ({fields})"


@click.group("benchmarks")
def benchmarks_group() -> None:
    """Static benchmark scores (long CSV: model, dataset, task, metric, score[, higher_is_better])."""


@benchmarks_group.command("ingest")
@click.argument("path", type=click.Path(path_type=Path))
@click.pass_obj
def benchmarks_ingest(app: AppContext, path: Path) -> None:
    """Store benchmark scores from a long CSV (same key again replaces the score)."""
    rows = ingest_benchmark_scores(app.store, path)
    click.echo(f"{path}: {rows} benchmark scores stored")


@benchmarks_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def benchmarks_list(app: AppContext, as_json: bool) -> None:
    """Show stored benchmark scores (model names with aliases resolved)."""
    frame = app.store.benchmark_frame()
    if as_json:
        echo_json(frame.to_dict("records"))
    elif frame.empty:
        click.echo("no benchmark scores; run `arenalens benchmarks ingest FILE.csv`")
    else:
        # one row per benchmark: a dataset can hold several tasks (Commonvoice: accent, gender)
        labelled = frame.assign(
            benchmark=[
                benchmark_label(f"{d}:{t}")
                for d, t in zip(frame["dataset"], frame["task"], strict=True)
            ]
        )
        table = labelled.pivot_table(index="benchmark", columns="model", values="score")
        table.columns.name = None
        click.echo(text_table(table.reset_index(), digits=1))


@click.group("aliases")
def aliases_group() -> None:
    """Model-name aliases (vote names vs benchmark names, e.g. diva_3_8b -> Diva)."""


@aliases_group.command("add")
@click.argument("alias")
@click.argument("canonical")
@click.pass_obj
def aliases_add(app: AppContext, alias: str, canonical: str) -> None:
    """Make ALIAS mean CANONICAL everywhere (votes, benchmarks, outputs)."""
    ingest_aliases(app.store, {alias: canonical})
    click.echo(f"{alias} -> {canonical}")


@aliases_group.command("load")
@click.argument("path", type=click.Path(path_type=Path))
@click.pass_obj
def aliases_load(app: AppContext, path: Path) -> None:
    """Load aliases from a YAML mapping `alias: canonical` (the Talk Arena names:
    data/talkarena_aliases.yaml) and print each name it maps."""
    aliases = read_aliases(path)
    count = ingest_aliases(app.store, aliases)
    click.echo(f"{path}: {plural(count, 'alias', 'aliases')} stored; from now on")
    width = max((len(a) for a in aliases), default=0)
    for alias, canonical in sorted(aliases.items()):
        click.echo(f"  {alias:<{width}}  means  {canonical}")


@aliases_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def aliases_list(app: AppContext, as_json: bool) -> None:
    """Show the stored aliases."""
    aliases = app.store.aliases()
    if as_json:
        echo_json(aliases)
        return
    for alias, canonical in sorted(aliases.items()):
        click.echo(f"{alias} -> {canonical}")


@click.command("demo")
@click.option(
    "--no-audio", is_flag=True, help="Skip espeak-ng audio synthesis even when installed."
)
@click.pass_obj
def demo_command(app: AppContext, no_audio: bool) -> None:
    """Build a workspace from the shipped synthetic sample arena and run every stage."""
    from arenalens.app.demo import run_demo

    run_demo(app, with_audio=not no_audio, echo=click.echo)


@click.command("upgrade")
@click.pass_obj
def upgrade_command(app: AppContext) -> None:
    """Open the workspace, upgrading its schema to this version of arenalens."""
    status = app.store.status()
    click.echo(f"schema version {status['schema_version']}: up to date")


COMMANDS = [
    ingest_command,
    benchmarks_group,
    aliases_group,
    demo_command,
    upgrade_command,
]
