"""`arenalens code`: code voters' feedback into loss reasons (optionally learning first)."""

from __future__ import annotations

import time
from dataclasses import asdict

import click
import pandas as pd

from arenalens.cli_output import echo_json, with_intervals
from arenalens.context import AppContext
from coding.cli.options import agreement_table, coding_command, frame_table
from coding.codebook import Codebook
from coding.coder import CodingConfig, code_feedback
from coding.errors import CodingError
from coding.json_values import json_records
from coding.labelers import coding_labeler


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
        from coding.distill import distil_coder
        from coding.zeroshot import CalibratedCoder

        labeler = CalibratedCoder(app.embedder, codebook)
        distilled = distil_coder(
            app.labeler, labeler, app.store, llm_sample, seed=app.settings.seed
        )
        recode = True
        if not as_json:
            click.echo(
                f"classifier vs LLM on {distilled.held_back} held-back items of the LLM's "
                f"sample of {distilled.sample} (trained on {distilled.trained_on}):"
            )
            click.echo(agreement_table(distilled.agreement))
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
            click.echo(_learning_table(learning.table()))
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
    if few_shot:
        from coding.learning import human_examples

        examples = human_examples(app.store, app.embedder, codebook)
    else:
        examples = None
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
            payload["learning"] = json_records(learning.table())
        if distilled is not None:
            payload["llm_sample"] = {
                "sample": distilled.sample,
                "held_back": distilled.held_back,
                "agreement": json_records(distilled.agreement),
                "savings": distilled.savings_line(summary.feedback_total, coder_seconds),
            }
        echo_json(payload)
    else:
        click.echo(summary.line())
        if distilled is not None:
            click.echo(distilled.savings_line(summary.feedback_total, coder_seconds))


def _learning_table(table: pd.DataFrame) -> str:
    """`code --learn`'s comparison: F1 and κ of the learned and the zero-shot decision, each
    with its 95% interval in one cell."""
    intervals = {
        f"{who}_{metric}": (f"{who}_{metric}_low", f"{who}_{metric}_high")
        for who in ("learned", "zero_shot")
        for metric in ("f1", "kappa")
    }
    return frame_table(
        with_intervals(table, intervals),
        headings={
            "positives": "items with it",
            "learned_f1": "learned F1",
            "learned_kappa": "learned κ",
            "zero_shot_f1": "zero-shot F1",
            "zero_shot_kappa": "zero-shot κ",
        },
    )
