"""`arenalens prevalence`: how often each loss reason occurs, raw and prediction-powered."""

from __future__ import annotations

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from coding.cli.options import coding_command, frame_table
from coding.codebook import Codebook
from coding.json_values import json_records
from coding.prevalence import GROUPINGS, prevalence_table


@click.command("prevalence")
@coding_command(
    click.option(
        "--by",
        "by",
        type=click.Choice(GROUPINGS),
        default="overall",
        show_default=True,
        help="Break down by: model (feedback on battles it lost), category or modality "
        "(taxonomy), output_modality (feedback on text answers vs spoken answers).",
    ),
)
def prevalence_command(app: AppContext, codebook: Codebook, by: str, as_json: bool) -> None:
    """Prevalence of each loss reason: raw machine rate and the prediction-powered rate, with 95% CIs."""
    frame = prevalence_table(app.store, codebook, by=by)
    if as_json:
        echo_json(json_records(frame))
        return
    shown = frame.drop(columns=["grouping"]).copy()
    click.echo(frame_table(shown))
