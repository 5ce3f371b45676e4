"""`arenalens annotate`: human validation of the machine's codes (sample, CSV, progress,
adjudication), through the same `AnnotationQueue` the dashboard's Annotate page uses."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from arenalens.display import display_name, plural
from coding.annotations import AnnotationQueue
from coding.cli.options import coding_command, frame_table, resolve_code, show_frame
from coding.codebook import Codebook
from coding.json_values import json_records
from coding.sampling import create_validation_sample


@click.group("annotate")
def annotate_group() -> None:
    """Human validation of the machine's codes: sample, export/import CSV, progress, adjudicate."""


@annotate_group.command("sample")
@coding_command(
    click.option(
        "--annotator",
        "annotators",
        multiple=True,
        required=True,
        help="An annotator's name (repeat for each).",
    ),
    click.option("--size", type=int, help="Items to sample (default: from --ci-width)."),
    click.option(
        "--ci-width",
        default=0.1,
        show_default=True,
        help="Target total width of a 95% CI for a code's rate.",
    ),
    click.option(
        "--overlap", default=0.2, show_default=True, help="Share of items given to two annotators."
    ),
    click.option(
        "--name",
        default="validation",
        show_default=True,
        help="Sample name (once per codebook version).",
    ),
    click.option("--seed", type=int, help="Random seed (default: settings seed)."),
    click.option(
        "--kappa-ci-width",
        type=float,
        default=0.3,
        show_default=True,
        help="Power analysis: items each code needs for a 95% CI of kappa this wide (printed).",
    ),
    click.option(
        "--expected-kappa",
        type=float,
        default=0.6,
        show_default=True,
        help="Kappa assumed by the power analysis.",
    ),
    click.option(
        "--uncertain",
        "uncertain_extra",
        type=int,
        default=0,
        show_default=True,
        help="Also assign this many items the coder is least sure of, as a separate sample "
        "<name>-uncertain flagged training-only (never used for prevalence or kappa).",
    ),
)
def sample_command(
    app: AppContext,
    codebook: Codebook,
    annotators: tuple[str, ...],
    size: int | None,
    ci_width: float,
    overlap: float,
    name: str,
    seed: int | None,
    kappa_ci_width: float,
    expected_kappa: float,
    uncertain_extra: int,
    as_json: bool,
) -> None:
    """Draw a random stratified (code x model) validation sample and assign it to annotators."""
    from coding.sampling import create_uncertainty_sample, machine_kappa_power

    power = machine_kappa_power(app.store, codebook, kappa_ci_width, expected_kappa)
    summary = create_validation_sample(
        app.store,
        codebook,
        annotators,
        name=name,
        size=size,
        ci_width=ci_width,
        overlap=overlap,
        seed=app.settings.seed if seed is None else seed,
    )
    extra = (
        create_uncertainty_sample(
            app.store, codebook, annotators, uncertain_extra, name=f"{name}-uncertain"
        )
        if uncertain_extra
        else None
    )
    if as_json:
        echo_json(
            {
                **asdict(summary),
                "uncertainty_sample": asdict(extra) if extra else None,
                "kappa_power": json_records(power),
            }
        )
        return
    click.echo(summary.line())
    if extra is not None:
        click.echo(extra.line() + " [uncertainty-chosen: training only]")
    click.echo(
        f"power: items for a 95% kappa CI of total width {kappa_ci_width} "
        f"(expected kappa {expected_kappa}, at each code's machine rate):"
    )
    click.echo(frame_table(power, percent=["machine_rate"]))


@annotate_group.command("export")
@coding_command(
    click.argument("path", type=click.Path(path_type=Path, dir_okay=False)),
    click.option("--annotator", help="Only this annotator's items."),
    click.option("--sample", help="Only this sample's items."),
    json_output=False,
)
def export_command(
    app: AppContext,
    codebook: Codebook,
    path: Path,
    annotator: str | None,
    sample: str | None,
) -> None:
    """Write assigned items to CSV: items already saved (dashboard or import) carry that
    answer and are marked done; the rest have the machine's codes prefilled."""
    queue = AnnotationQueue(app.store, codebook, sample=sample)
    rows = queue.export_csv(path, annotator=annotator, mask=app.settings.privacy_mask_pii)
    click.echo(
        f"wrote {plural(rows, 'row')} to {path} (saved answers marked done; set done=1 on each "
        "row you review, then `arenalens annotate import`)"
    )


@annotate_group.command("import")
@coding_command(
    click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True)),
    json_output=False,
)
def import_command(app: AppContext, codebook: Codebook, path: Path) -> None:
    """Save the rows marked done in an annotation CSV (one annotation row each)."""
    counts = AnnotationQueue(app.store, codebook).import_csv(path)
    click.echo(
        f"{path}: {plural(counts['rows_done'], 'row')} marked done, {counts['saved']} saved, "
        f"{counts['unchanged']} unchanged"
    )
    if counts["kept_newer"]:
        click.echo(
            f"not imported: {plural(counts['kept_newer'], 'row')} (line "
            f"{', '.join(counts['kept_newer_lines'])}) whose item the annotator saved again in "
            "the dashboard after this file was exported; the newer answer is kept. Export "
            "again to edit them in a spreadsheet."
        )


@annotate_group.command("progress")
@coding_command(
    click.option("--sample", help="Only this sample."),
)
def progress_command(
    app: AppContext, codebook: Codebook, sample: str | None, as_json: bool
) -> None:
    """Items assigned, annotated and remaining per annotator."""
    frame = AnnotationQueue(app.store, codebook, sample=sample).progress()
    show_frame(frame, as_json, empty="(no items assigned: `arenalens annotate sample`)")


@annotate_group.command("adjudicate")
@coding_command(
    click.option(
        "--item", "feedback_id", help="Feedback id to settle (omit to list open disagreements)."
    ),
    click.option("--code", help="The code to settle: its name or its words (e.g. Human-likeness)."),
    click.option("--present/--absent", default=None, help="The adjudicated label."),
    click.option("--by", "adjudicator", help="Adjudicator's name."),
    click.option("--note", default="", help="Why."),
)
def adjudicate_command(
    app: AppContext,
    codebook: Codebook,
    feedback_id: str | None,
    code: str | None,
    present: bool | None,
    adjudicator: str | None,
    note: str,
    as_json: bool,
) -> None:
    """List disagreements between annotators, or settle one (--item, --code, --present/--absent, --by)."""
    queue = AnnotationQueue(app.store, codebook)
    if feedback_id is None:
        frame = queue.disagreements()
        if as_json:
            echo_json(json_records(frame))
            return
        shown = frame.assign(
            values=frame["values"].map(_answers), feedback=frame["feedback"].map(_shortened)
        )
        click.echo(
            frame_table(
                shown,
                headings={"feedback_id": "item", "values": "answers"},
                empty="(no open disagreements)",
            )
        )
        if len(frame):
            click.echo(
                "settle one: arenalens annotate adjudicate --item ITEM --code REASON "
                "--present|--absent --by NAME"
            )
        return
    if code is None or present is None or not adjudicator:
        raise click.UsageError(
            "settling a disagreement needs --item, --code, --present/--absent and --by"
        )
    code = resolve_code(codebook, code)
    row_id = queue.adjudicate(feedback_id, code, present, adjudicator, note)
    click.echo(
        f"adjudicated {feedback_id} / {display_name(code)}: "
        f"{'present' if present else 'absent'} (row {row_id})"
    )


def _answers(values: object) -> str:
    """Annotators' answers on a code: '1 present, 1 absent'."""
    answers = list(values) if isinstance(values, (list, tuple)) else []
    present = sum(bool(v) for v in answers)
    return f"{present} present, {len(answers) - present} absent"


def _shortened(text: object, limit: int = 70) -> str:
    """A feedback text cut to one table line ('…' where cut; --json has it whole)."""
    words = " ".join(str(text or "").split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"
