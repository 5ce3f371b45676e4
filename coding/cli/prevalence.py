"""`arenalens prevalence`: how often each loss reason occurs, raw and prediction-powered."""

from __future__ import annotations

import click

from arenalens.cli_output import echo_json, text_table
from arenalens.context import AppContext
from coding.cli.options import coding_command
from coding.codebook import Codebook
from coding.json_values import json_records
from coding.prevalence import GROUPINGS, MIN_VALIDATED, prevalence_table, readable_prevalence


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
    click.echo(text_table(readable_prevalence(frame, by)))
    if frame["ppi_rate"].isna().any():
        click.echo(
            f"A bias-corrected share needs at least {MIN_VALIDATED} items people validated in "
            "its group: draw a sample with `arenalens annotate sample`, then annotate it."
        )
