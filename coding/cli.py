"""Commands of the coding stage: code, codebook, annotate, agreement, prevalence; and its demo step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
import pandas as pd

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from arenalens.display import plural
from coding import persist
from coding.agreement import agreement_report
from coding.annotations import AnnotationQueue
from coding.codebook import Codebook, resolve_codebook
from coding.coder import CodingConfig, code_feedback
from coding.errors import CodingError
from coding.prevalence import GROUPINGS, prevalence_table
from coding.sampling import create_validation_sample

F = TypeVar("F", bound=Callable[..., Any])
DEMO_ANNOTATORS = ("demo-annotator-1", "demo-annotator-2")
DEMO_SAMPLE = "demo"
CODEBOOK_HELP = (
    "Codebook YAML (default: <workspace>/codebook.yaml, else the shipped data/codebook.yaml)."
)
codebook_path_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=CODEBOOK_HELP,
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _resolve_codebook(ctx: click.Context, _param: click.Parameter, path: Path | None) -> Codebook:
    return resolve_codebook(ctx.find_object(AppContext).settings.workspace, path)


codebook_option = click.option(
    "--codebook",
    "codebook",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_resolve_codebook,
    help=CODEBOOK_HELP,
)


def coding_command(*options: Any, json_output: bool = True) -> Callable[[F], F]:
    """The options every coding command shares, composed once: --codebook (the command gets the
    resolved `codebook`), then `options`, then --json (`as_json`); the command gets the AppContext
    first."""

    def decorate(fn: F) -> F:
        wrapped = click.pass_obj(fn)
        if json_output:
            wrapped = json_option(wrapped)
        for option in reversed(options):
            wrapped = option(wrapped)
        return codebook_option(wrapped)

    return decorate


def show_frame(frame: pd.DataFrame, as_json: bool) -> None:
    """Print `frame` as JSON records or as a table."""
    echo_json(_frame_records(frame)) if as_json else click.echo(_table(frame))


def _frame_records(frame: pd.DataFrame) -> list[dict]:
    clean = frame.astype(object).where(frame.notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
        for r in clean.to_dict("records")
    ]


def _table(frame: pd.DataFrame) -> str:
    return (
        frame.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")
        if len(frame)
        else "(nothing)"
    )


def coding_labeler(app: AppContext, codebook: Codebook):
    """The settings' labeler, except that the offline embedding labeler gives way to the
    calibrated coder (with the learned decisions of `code --learn`, where any)."""
    from arenalens.labeler.embedding import EmbeddingLabeler

    labeler = app.labeler
    if not isinstance(labeler, EmbeddingLabeler):
        return labeler  # an LLM (or another labeler the settings chose)
    from coding.learning import learned_overrides
    from coding.zeroshot import CalibratedCoder

    coder = CalibratedCoder(app.embedder, codebook)
    coder.overrides = learned_overrides(app.store, codebook.version_key)
    return coder


def _human_examples(app: AppContext, codebook: Codebook):
    """Resolved human labels (adjudicated, else consensus/single) with their texts, for few-shot."""
    from coding.annotations import AnnotationQueue
    from coding.fewshot import FewShotExamples
    from coding.learning import resolved_labels

    labels = resolved_labels(
        AnnotationQueue(app.store, codebook).human_labels(), codebook.code_names
    )
    texts = app.store.feedback_frame().set_index("id")["text"].astype(str)
    labels = labels[labels["feedback_id"].isin(texts.index)]
    return FewShotExamples.build(
        app.embedder,
        texts.loc[labels["feedback_id"]].tolist(),
        [[c for c in codebook.code_names if row[c]] for row in labels.to_dict("records")],
    )


@click.command("code")
@coding_command(
    click.option(
        "--batch-size",
        default=16,
        show_default=True,
        help="Feedback items per labeler call (committed together).",
    ),
    click.option(
        "--samples",
        default=1,
        show_default=True,
        help="Self-consistency: labeler samples per item, majority vote (with an LLM, set llm_temperature > 0).",
    ),
    click.option(
        "--min-confidence", default=0.0, show_default=True, help="Drop codes below this confidence."
    ),
    click.option("--limit", type=int, help="Code at most this many items now (a rerun resumes)."),
    click.option(
        "--recode", is_flag=True, help="Replace the machine codes of this codebook version."
    ),
    click.option(
        "--wait", is_flag=True, help="If another process is coding this workspace, wait for it."
    ),
    click.option(
        "--learn",
        is_flag=True,
        help="First train per-code classifiers on validated/adjudicated items; use one for a code "
        "only where cross-validation beats the zero-shot decision; then recode with them.",
    ),
    click.option(
        "--few-shot",
        default=0,
        show_default=True,
        help="LLM path: add the K human-coded items nearest to each batch as examples.",
    ),
    click.option(
        "--llm-sample",
        type=int,
        help="The LLM codes this many random items; a classifier trained on its codes codes the "
        "rest (agreement with the LLM on a held-back part, and the time saved, are printed).",
    ),
)
def code_command(
    app: AppContext,
    codebook: Codebook,
    batch_size: int,
    samples: int,
    min_confidence: float,
    limit: int | None,
    recode: bool,
    wait: bool,
    learn: bool,
    few_shot: int,
    llm_sample: int | None,
    as_json: bool,
) -> None:
    """Code voters' feedback into loss reasons (resumable: reruns code only what is missing)."""
    if few_shot < 0:
        raise CodingError(f"--few-shot must be 0 or more, got {few_shot}")
    learning = None
    labeler = None
    distilled = None
    if llm_sample is not None:
        if learn:
            raise CodingError("choose one of --learn and --llm-sample")
        if not app.settings.use_llm:
            raise CodingError(
                "--llm-sample needs an LLM: set llm_base_url and llm_model (or their flags)"
            )
        from coding.distill import distil_from_llm
        from coding.zeroshot import CalibratedCoder

        labeler = CalibratedCoder(app.embedder, codebook)
        feedback = app.store.feedback_frame().rename(columns={"id": "feedback_id"})
        distilled = distil_from_llm(
            app.labeler, labeler, feedback, llm_sample, seed=app.settings.seed
        )
        labeler.overrides = distilled.overrides()
        labeler.name = f"distilled:{distilled.llm} via {labeler.name}"
        recode = True
        if not as_json:
            click.echo(
                f"classifier vs LLM on {distilled.held_back} held-back items of the LLM's "
                f"sample of {distilled.sample} (trained on {distilled.trained_on}):"
            )
            click.echo(_table(distilled.agreement))
    if learn:
        if app.settings.use_llm:
            raise CodingError(
                "--learn trains the offline coder's decisions; choose labeler 'embedding' "
                "(--labeler embedding) to use it"
            )
        from coding.learning import learn_from_annotations
        from coding.zeroshot import CalibratedCoder

        learning = learn_from_annotations(
            app.store, CalibratedCoder(app.embedder, codebook), seed=app.settings.seed
        )
        recode = True  # the learned decisions replace this version's codes (kept until success)
        if not as_json:
            click.echo(
                f"learned from {learning.labels} validated items "
                "(cross-validated, 95% bootstrap CIs):"
            )
            click.echo(_table(learning.table()))
    config = CodingConfig(
        batch_size=batch_size,
        samples=samples,
        min_confidence=min_confidence,
        limit=limit,
        recode=recode,
        wait=wait,
        seed=app.settings.seed,
        few_shot=few_shot,
    )
    examples = _human_examples(app, codebook) if few_shot else None
    import time

    started = time.perf_counter()
    summary = code_feedback(
        app.store,
        labeler or coding_labeler(app, codebook),
        codebook,
        config,
        progress=not as_json,
        examples=examples,
    )
    coder_seconds = time.perf_counter() - started
    if as_json:
        payload = asdict(summary)
        if learning is not None:
            payload["learning"] = _frame_records(learning.table())
        if distilled is not None:
            payload["llm_sample"] = {
                "sample": distilled.sample,
                "held_back": distilled.held_back,
                "agreement": _frame_records(distilled.agreement),
                "savings": distilled.savings_line(summary.feedback_total, coder_seconds),
            }
        echo_json(payload)
    else:
        click.echo(summary.line())
        if distilled is not None:
            click.echo(distilled.savings_line(summary.feedback_total, coder_seconds))


@click.group("codebook", invoke_without_command=True)
@codebook_path_option
@json_option
@click.pass_context
def codebook_command(ctx: click.Context, codebook_path: Path | None, as_json: bool) -> None:
    """Show the codebook in use (codes, definitions, version) and the versions coded in the workspace."""
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    codebook = resolve_codebook(app.settings.workspace, codebook_path)
    versions = persist.coded_versions(app.store)
    if as_json:
        echo_json(
            {
                "version_key": codebook.version_key,
                "source": codebook.source,
                **codebook.to_dict(),
                "coded_versions": _frame_records(versions),
            }
        )
        return
    click.echo(f"{codebook.version_key}  ({codebook.source})")
    for code in codebook.codes:
        click.echo(f"  {code.name}: {code.definition}")
    click.echo("coded versions in this workspace:")
    click.echo(_table(versions))


@codebook_command.command("discover")
@coding_command(
    click.option(
        "--min-support", default=3, show_default=True, help="Smallest group kept as a candidate."
    ),
    click.option("--max-candidates", default=8, show_default=True, help="At most this many."),
    click.option(
        "--distance",
        default=0.55,
        show_default=True,
        help="Cosine distance under which texts are grouped (smaller: tighter groups).",
    ),
    click.option(
        "--draft",
        "draft_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Write the codebook plus the candidates as a draft version to this YAML file.",
    ),
)
def discover_command(
    app: AppContext,
    codebook: Codebook,
    min_support: int,
    max_candidates: int,
    distance: float,
    draft_path: Path | None,
    as_json: bool,
) -> None:
    """Cluster feedback left uncoded or coded `other` and name candidate new reasons."""
    from coding.discover import candidates_frame, discover_reasons, draft_codebook, write_draft

    candidates, clustered = discover_reasons(
        app.store,
        codebook,
        app.embedder,
        app.labeler,
        min_support=min_support,
        max_candidates=max_candidates,
        distance_threshold=distance,
    )
    frame = candidates_frame(candidates)
    persist.save_candidates(app.store, codebook.version_key, clustered, _frame_records(frame))
    if draft_path is not None and candidates:
        write_draft(draft_codebook(codebook, candidates), draft_path)
    if as_json:
        echo_json({"clustered": clustered, "candidates": _frame_records(frame)})
        return
    click.echo(
        f"{len(candidates)} candidate reasons from {clustered} items left uncoded or coded "
        f"'other' under {codebook.version_key}:"
    )
    click.echo(_table(frame[["code", "name", "support", "share", "keywords"]]))
    for c in candidates:
        click.echo(f"  {c.code}: " + " | ".join(c.examples))
    if draft_path is not None and candidates:
        click.echo(f"draft written to {draft_path}: edit it, then `arenalens codebook accept`")


@codebook_command.command("accept")
@click.argument("draft", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def accept_command(app: AppContext, draft: Path) -> None:
    """Make a draft from `codebook discover` the workspace codebook, with its version bumped."""
    from coding.codebook import WORKSPACE_CODEBOOK_NAME
    from coding.discover import accept_draft

    destination = Path(app.settings.workspace) / WORKSPACE_CODEBOOK_NAME
    codebook = accept_draft(draft, destination)
    click.echo(
        f"{destination} is now {codebook.version_key}: run `arenalens code` to code under it "
        "(codes of the previous version are kept apart)"
    )


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
    from coding.sampling import create_uncertainty_sample, kappa_power_table

    persist.require_coded(app.store, codebook.version_key)
    items = persist.machine_items_frame(app.store, codebook.version_key, codebook.code_names)
    power = kappa_power_table(
        {c: float(items[c].mean()) for c in codebook.code_names}, kappa_ci_width, expected_kappa
    )
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
                "kappa_power": _frame_records(power),
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
    click.echo(_table(power))


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
    show_frame(frame, as_json)


@annotate_group.command("adjudicate")
@coding_command(
    click.option(
        "--item", "feedback_id", help="Feedback id to settle (omit to list open disagreements)."
    ),
    click.option("--code", help="The code to settle."),
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
        show_frame(frame, as_json)
        return
    if code is None or present is None or not adjudicator:
        raise click.UsageError(
            "settling a disagreement needs --item, --code, --present/--absent and --by"
        )
    row_id = queue.adjudicate(feedback_id, code, present, adjudicator, note)
    click.echo(
        f"adjudicated {feedback_id} / {code}: {'present' if present else 'absent'} (row {row_id})"
    )


@click.command("agreement")
@coding_command(
    click.option(
        "--boot", default=1000, show_default=True, help="Bootstrap resamples for the kappa CI."
    ),
    click.option(
        "--against",
        type=click.Choice(["llm", "embedding", "calibrated"]),
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
    click.echo(_table(report.per_code))
    click.echo("\nconfusion (machine x human):")
    wide = (
        report.confusion.pivot(index="code", columns="cell", values="count").reset_index()
        if len(report.confusion)
        else report.confusion
    )
    click.echo(_table(wide))


def _agreement_against(
    app: AppContext, codebook: Codebook, against: str, n_items: int, boot: int, as_json: bool
) -> None:
    from coding.agreement import code_with_labeler, labeler_agreement

    version = codebook.version_key
    persist.require_coded(app.store, version)
    if n_items < 2:
        raise CodingError(f"--items must be at least 2, got {n_items}")
    items = persist.machine_items_frame(app.store, version, codebook.code_names)
    items = items.sample(min(n_items, len(items)), random_state=app.settings.seed)
    if against == "llm":
        from arenalens.labeler.llm import LLMLabeler

        if not (app.settings.llm_base_url and app.settings.llm_model):
            raise CodingError("--against llm needs llm_base_url and llm_model configured")
        other = LLMLabeler.from_settings(app.settings, app.store)
    elif against == "embedding":
        from arenalens.labeler.embedding import EmbeddingLabeler

        other = EmbeddingLabeler(app.embedder)
    else:
        from coding.zeroshot import CalibratedCoder

        other = CalibratedCoder(app.embedder, codebook)
    stored_name = ", ".join(sorted(set(items["labeler"].astype(str))))
    table = labeler_agreement(
        items[["feedback_id", *codebook.code_names]],
        code_with_labeler(other, codebook, items[["feedback_id", "text"]]),
        codebook.code_names,
        n_boot=boot,
        seed=app.settings.seed,
    )
    if as_json:
        echo_json({"stored": stored_name, "other": other.name, "per_code": _frame_records(table)})
        return
    click.echo(f"{version}: stored codes ({stored_name}) vs {other.name} on {len(items)} items")
    click.echo(_table(table))


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
        echo_json(_frame_records(frame))
        return
    shown = frame.drop(columns=["grouping"]).copy()
    click.echo(_table(shown))


COMMANDS: list[click.Command] = [
    code_command,
    codebook_command,
    annotate_group,
    agreement_command,
    prevalence_command,
]


def demo(app: AppContext) -> str:
    """Code the sample arena's feedback and seed a small annotation sample for two demo annotators."""
    codebook = resolve_codebook(app.settings.workspace)
    summary = code_feedback(
        app.store, app.labeler, codebook, CodingConfig(seed=app.settings.seed), progress=False
    )
    existing = persist.samples_frame(app.store, codebook.version_key)
    if len(existing) and DEMO_SAMPLE in set(existing["name"]):
        sample_line = f"annotation sample {DEMO_SAMPLE!r} already exists"
    else:
        try:
            sample = create_validation_sample(
                app.store,
                codebook,
                DEMO_ANNOTATORS,
                name=DEMO_SAMPLE,
                size=60,
                overlap=0.2,
                seed=app.settings.seed,
            )
            sample_line = (
                f"annotation sample of {sample.size} items for {', '.join(DEMO_ANNOTATORS)}"
            )
        except CodingError as exc:
            sample_line = f"no annotation sample ({exc})"
    total_codes = len(persist.codes_frame(app.store, codebook.version_key))
    coded = summary.already_coded + summary.coded_now
    return (
        f"{total_codes} codes on {coded} feedback items ({summary.coded_now} coded now, "
        f"{summary.labeler}); {sample_line}"
    )
