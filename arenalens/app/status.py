"""`arenalens status`: what the workspace holds (kept apart so it starts without pandas)."""

from __future__ import annotations

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from arenalens.display import human_date, plural, stage_name


@click.command("status")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object (keys are a stable contract)."
)
@click.pass_obj
def status_command(app: AppContext, as_json: bool) -> None:
    """What the workspace holds and which stages have run."""
    status = app.store.status()
    status["workspace"] = str(app.settings.workspace)
    if as_json:
        echo_json(status)
        return
    click.echo(
        f"workspace: {status['workspace']} ({status['db']}, schema {status['schema_version']})"
    )
    for key in (
        "interactions",
        "votes",
        "ties",
        "queries",
        "audio",
        "conversations",
        "spoken_answers",
        "transcripts",
        "feedback",
        "systems",
        "benchmark_scores",
        "aliases",
        "model_outputs",
    ):
        click.echo(f"  {key.replace('_', ' '):<17}{status[key]:>9,}")
    if status["stages"]:
        click.echo("stages run:")
        for stage, info in sorted(status["stages"].items()):
            runs = plural(info["runs"], "run")
            click.echo(
                f"  {stage_name(stage):<26}{runs}, last {human_date(info['last_finished_at'])}"
            )
    else:
        click.echo("stages run: none yet")
    if status["unfinished_runs"]:
        click.echo("runs not finished (readers show each stage's last finished run):")
    for run in status["unfinished_runs"]:
        where = f"pid {run['pid']} on {run['host']}, " if run["pid"] is not None else ""
        reason = f": {run['reason']}" if run["reason"] else ""
        click.echo(
            f"  run {run['id']} {stage_name(run['stage'])} {run['status']} ({where}started "
            f"{human_date(run['started_at'])}){reason}"
        )


COMMANDS = [status_command]
