"""Loaders for the coding stage: codebook, loss-reason prevalence, annotation, agreement."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from coding import persist
from coding.agreement import AgreementReport, agreement_report
from coding.annotations import AnnotationQueue
from coding.codebook import Codebook, resolve_codebook
from coding.prevalence import (
    CATCH_ALL_CODES,
    answer_forms,
    prevalence_table,
    required_query_categories,
)
from dashboard.loaders.cache import context_for, key, loader
from dashboard.loaders.workspace import masked, status, step_message
from dashboard.ui import Markdown


@loader
def codebook(app: AppContext) -> Codebook:
    """The codebook the CLI uses: <workspace>/codebook.yaml, else the shipped default."""
    return resolve_codebook(app.settings.workspace)


@loader
def coded_versions(app: AppContext) -> pd.DataFrame:
    """Codebook versions with machine codes in the store (version, items, labeler, last coded)."""
    return persist.coded_versions(app.store)


@loader(human=("coding",))
def prevalence(app: AppContext, by: str) -> pd.DataFrame:
    """Loss-reason prevalence per group and code: raw machine rate and bias-corrected (PPI) rate."""
    return prevalence_table(app.store, codebook(app), by=by)


@loader
def coded_items(app: AppContext) -> pd.DataFrame:
    """One row per coded feedback item with context, preferred/rejected model, a 0/1 column per code."""
    book = codebook(app)
    return masked(app, persist.machine_items_frame(app.store, book.version_key, book.code_names))


@loader
def machine_codes(app: AppContext) -> pd.DataFrame:
    """The machine's codes (item, code, side, polarity, evidence, confidence) for this codebook."""
    return masked(app, persist.codes_frame(app.store, codebook(app).version_key))


@loader(human=("coding",))
def agreement(app: AppContext, n_boot: int) -> AgreementReport:
    """`arenalens agreement` as a report (per-code kappa with CI, human alpha, confusion)."""
    return agreement_report(app.store, codebook(app), n_boot=n_boot, seed=app.settings.seed)


@loader(human=("coding",))
def disagreement_details(app: AppContext) -> pd.DataFrame:
    """Open disagreements with each annotator's answer by name and the machine's code."""
    queue = AnnotationQueue(app.store, codebook(app))
    open_items = queue.disagreements()
    if open_items.empty:
        return pd.DataFrame(columns=["feedback_id", "code", "machine", "feedback"])
    matrix = queue.annotation_matrix()
    answers = matrix.merge(open_items[["feedback_id", "code"]], on=["feedback_id", "code"])
    answers = answers.assign(answer=answers["present"].map({1: "present", 0: "absent"}))
    wide = answers.pivot_table(
        index=["feedback_id", "code"], columns="annotator", values="answer", aggfunc="last"
    ).reset_index()
    wide.columns.name = None
    machine = machine_codes(app)
    coded = (
        set(zip(machine["feedback_id"], machine["code"], strict=True)) if len(machine) else set()
    )
    wide.insert(
        2,
        "machine",
        [
            "present" if (f, c) in coded else "absent"
            for f, c in zip(wide["feedback_id"], wide["code"], strict=True)
        ],
    )
    text = open_items.set_index(["feedback_id", "code"])["feedback"]
    wide["feedback"] = [
        text.get((f, c)) for f, c in zip(wide["feedback_id"], wide["code"], strict=True)
    ]
    return wide


def annotation_samples(app: AppContext) -> pd.DataFrame:
    """Validation samples drawn for this codebook (read fresh: annotators need the latest)."""
    return persist.samples_frame(app.store, codebook(app).version_key)


@st.cache_resource(show_spinner=False, max_entries=16)
def _annotation_queue(
    workspace: str, db: str | None, version: str, sample: str | None, feedback_rows: int
) -> AnnotationQueue:
    return AnnotationQueue(
        context_for(workspace, db).store, resolve_codebook(Path(workspace)), sample=sample
    )


def annotation_queue(app: AppContext, sample: str | None) -> AnnotationQueue:
    """The coding stage's AnnotationQueue. It keeps the feedback frame in memory, so it is
    shared until feedback rows change; assignments and saves are read fresh on every call."""
    book = codebook(app)
    feedback_rows = int(status(app)["feedback"])
    return _annotation_queue(*key(app), book.version_key, sample, feedback_rows)


def coding_ready(app: AppContext) -> Markdown | None:
    """None when this codebook's codes exist; else the line saying what to run."""
    if int(status(app)["feedback"]) > 0:
        versions = coded_versions(app)
        if len(versions) and codebook(app).version_key in set(versions["codebook_version"]):
            return None
    # the checklist says why: no feedback, nothing coded, or not under the codebook in use
    return step_message(app, "Code feedback into loss reasons")


@loader
def feedback_categories(app: AppContext) -> pd.DataFrame:
    """interaction_id -> use-case category, as coding's per-category prevalence joins them."""
    return required_query_categories(app.store)


@loader
def feedback_answer_forms(app: AppContext) -> pd.DataFrame:
    """interaction_id -> output_modality (text or spoken answers) of every vote, as coding's
    prevalence by answer form joins them."""
    return answer_forms(app.store)


@loader(human=("coding",))
def top_loss_reasons(app: AppContext, n: int = 3) -> pd.DataFrame:
    """The `n` most frequent loss reasons overall (the catch-all 'other' left out): code, rate, low, high, estimate (bias-corrected
    when human labels allow it, else the machine's raw rate)."""
    table = prevalence(app, "overall")
    if table.empty:
        return pd.DataFrame(columns=["code", "rate", "low", "high", "estimate"])
    use_ppi = "ppi_rate" in table and table["ppi_rate"].notna().all()
    prefix, label = ("ppi", "bias-corrected") if use_ppi else ("machine", "machine-coded")
    out = pd.DataFrame(
        {
            "code": table["code"],
            "rate": table[f"{prefix}_rate"],
            "low": table[f"{prefix}_low"],
            "high": table[f"{prefix}_high"],
            "estimate": label,
        }
    )
    out = out[~out["code"].isin(CATCH_ALL_CODES)]  # "other" is no reason to act on
    return out.sort_values("rate", ascending=False).head(n).reset_index(drop=True)


@loader
def candidate_reasons(app: AppContext, version: str) -> pd.DataFrame:
    """Candidates of the latest `arenalens codebook discover` under this codebook version
    (names, keywords and examples masked like every text derived from user text)."""
    return masked(app, persist.latest_candidates(app.store, version))
