"""`arenalens agreement`: machine codes against annotators (or against another labeler)."""

from __future__ import annotations

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from coding.agreement import (
    agreement_report,
    coded_items_sample,
    compare_with_labeler,
    confusion_table,
)
from coding.cli.options import agreement_table, coding_command, frame_table
from coding.codebook import Codebook
from coding.json_values import json_records
from coding.labelers import COMPARABLE_LABELERS, labeler_named


@click.command("agreement")
@coding_command(
    click.option(
        "--boot", default=1000, show_default=True, help="Bootstrap resamples for the kappa CI."
    ),
    click.option(
        "--against",
        type=click.Choice(COMPARABLE_LABELERS),
        help="Instead: code a random set of already-coded items with this labeler (in memory, "
        "nothing stored) and give its kappa with the stored machine codes per code.",
    ),
    click.option(
        "--items",
        "against_items",
        default=200,
        show_default=True,
        help="With --against: how many coded items to compare on.",
    ),
)
def agreement_command(
    app: AppContext,
    codebook: Codebook,
    boot: int,
    against: str | None,
    against_items: int,
    as_json: bool,
) -> None:
    """Per code: machine-vs-human Cohen's kappa (bootstrap CI), agreement, precision/recall; human alpha."""
    if against is not None:
        _agreement_against(app, codebook, against, against_items, boot, as_json)
        return
    report = agreement_report(app.store, codebook, n_boot=boot, seed=app.settings.seed)
    if as_json:
        echo_json(report.to_json())
        return
    click.echo(
        f"{report.codebook_version}: {report.items_annotated} items annotated, "
        f"{report.unresolved} unresolved disagreements (excluded until adjudicated)"
    )
    click.echo(agreement_table(report.per_code))
    click.echo("\nconfusion (machine x people):")
    click.echo(frame_table(confusion_table(report.confusion)))


def _agreement_against(
    app: AppContext, codebook: Codebook, against: str, n_items: int, boot: int, as_json: bool
) -> None:
    items = coded_items_sample(app.store, codebook, n_items, app.settings.seed)
    other = labeler_named(app, codebook, against)
    comparison = compare_with_labeler(items, codebook, other, n_boot=boot, seed=app.settings.seed)
    if as_json:
        echo_json(
            {
                "stored": comparison.stored,
                "other": comparison.other,
                "per_code": json_records(comparison.per_code),
            }
        )
        return
    click.echo(
        f"{comparison.codebook_version}: stored codes ({comparison.stored}) vs "
        f"{comparison.other} on {comparison.items} items"
    )
    click.echo(agreement_table(comparison.per_code))
