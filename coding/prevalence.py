"""Prevalence of each loss reason: the raw machine rate and a prediction-powered (bias-corrected) rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arenalens import display
from arenalens.display import plural
from arenalens.stats import NAN_ESTIMATE, ppi_mean, wilson_interval
from arenalens.store import Store
from coding import persist
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.human_labels import decisions_matrix, resolve_labels
from taxonomy import persist as taxonomy_persist
from taxonomy.errors import TaxonomyError

GROUPINGS = ("overall", "model", "category", "modality", "output_modality")
NO_VOTE = "(no vote)"  # the answer form of feedback on an interaction without a vote
MIN_VALIDATED = 10


# -- categories from the taxonomy stage -------------------------------------------
def required_query_categories(store: Store) -> pd.DataFrame:
    """interaction_id, category, modality from the latest taxonomy run (a clear error when there is none)."""
    try:
        frame = taxonomy_persist.query_assignment_table(store)
    except TaxonomyError as exc:
        raise CodingError(f"per-category prevalence needs the taxonomy stage: {exc}") from exc
    if frame is None or len(frame) == 0:
        raise CodingError(
            "per-category prevalence needs query categories: run `arenalens taxonomy build` first"
        )
    return frame[["interaction_id", "category", "modality"]]


def answer_forms(store: Store) -> pd.DataFrame:
    """interaction_id, output_modality ('text' or 'speech') of every vote, as the core derives
    it (`arenalens.vote_features`)."""
    frame = store.vote_features_frame()
    return frame[["id", "output_modality"]].rename(columns={"id": "interaction_id"})


# -- the table -------------------------------------------------------------------
PREVALENCE_COLUMNS = [
    "grouping",
    "group",
    "code",
    "n_items",
    "n_validated",
    "machine_rate",
    "machine_low",
    "machine_high",
    "ppi_rate",
    "ppi_low",
    "ppi_high",
    "human_rate",
    "note",
]


def _groups(
    items: pd.DataFrame, by: str, categories: pd.DataFrame | None
) -> list[tuple[str, pd.DataFrame]]:
    if by == "overall":
        return [("all feedback", items)]
    if by == "model":  # loss reasons of a model: feedback on the battles it lost (ties left out)
        lost = items[items["rejected_model"].notna()]
        return [(str(model), group) for model, group in lost.groupby("rejected_model")]
    if categories is None:
        raise CodingError(f"prevalence by {by} needs the queries' categories")
    joined = items.merge(categories[["interaction_id", by]], on="interaction_id", how="left")
    joined[by] = joined[by].fillna(NO_VOTE if by == "output_modality" else "(uncategorised)")
    return [(str(value), group) for value, group in joined.groupby(by)]


def prevalence_table(
    store: Store,
    codebook: Codebook,
    by: str = "overall",
    *,
    level: float = 0.95,
    min_validated: int = MIN_VALIDATED,
) -> pd.DataFrame:
    """Per group and code: the machine's raw rate (Wilson CI) and the prediction-powered rate
    (PPI CI), from one read of the coding stage's labels (and the taxonomy's categories)."""
    if by not in GROUPINGS:
        raise CodingError(f"prevalence --by must be one of {list(GROUPINGS)}, got {by!r}")
    snapshot = persist.read_coding_snapshot(store, codebook.version_key, codebook.code_names)
    categories = required_query_categories(store) if by in ("category", "modality") else None
    if by == "output_modality":
        categories = answer_forms(store)
    return prevalence_from(
        snapshot, codebook.code_names, by, categories, level=level, min_validated=min_validated
    )


def prevalence_from(
    snapshot: persist.CodingSnapshot,
    code_names: Sequence[str],
    by: str = "overall",
    categories: pd.DataFrame | None = None,
    *,
    level: float = 0.95,
    min_validated: int = MIN_VALIDATED,
) -> pd.DataFrame:
    """`prevalence_table` computed from a snapshot (no store): `categories` (interaction_id and
    the `by` column: category, modality or output_modality) is needed to group by one."""
    items = snapshot.items
    labels = resolve_labels(decisions_matrix(snapshot.annotations), snapshot.adjudications)
    # PPI needs a random validation sample: items annotated outside a drawn sample are left out.
    # Uncertainty-chosen items (training only) are not random: left out too.
    sampled = persist.randomly_sampled(snapshot.assignments)
    resolved = (
        labels[labels["present"].notna() & labels["feedback_id"].isin(sampled)]
        if len(labels)
        else labels
    )
    rows = []
    for group_name, group in _groups(items, by, categories):
        for code in code_names:
            machine = group[code].to_numpy()
            raw = wilson_interval(int(machine.sum()), len(machine), level)
            human = (
                resolved[
                    (resolved["code"] == code)
                    & resolved["feedback_id"].isin(set(group["feedback_id"]))
                ]
                if len(resolved)
                else resolved
            )
            if len(human):
                f_lab = group.set_index("feedback_id").loc[human["feedback_id"], code].to_numpy()
                y_lab = human["present"].astype(float).to_numpy()
            else:
                f_lab = y_lab = np.array([])
            note = ""
            if len(y_lab) >= min_validated:
                # every item's machine code, the validated ones included (a random subset)
                ppi = ppi_mean(machine, f_lab, y_lab, machine_covers_labelled=True, level=level)
            else:
                ppi = NAN_ESTIMATE
                note = (
                    f"{plural(len(y_lab), 'validated item')} (< {min_validated}): "
                    "no bias-corrected estimate"
                )
            rows.append(
                {
                    "grouping": by,
                    "group": group_name,
                    "code": code,
                    "n_items": int(len(machine)),
                    "n_validated": int(len(y_lab)),
                    "machine_rate": raw.rate,
                    "machine_low": raw.low,
                    "machine_high": raw.high,
                    "ppi_rate": ppi.rate,
                    "ppi_low": ppi.low,
                    "ppi_high": ppi.high,
                    "human_rate": float(y_lab.mean()) if len(y_lab) else float("nan"),
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=PREVALENCE_COLUMNS)


def readable_prevalence(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """The prevalence table for people (the Feedback page and `arenalens prevalence`): codes
    in words, each share with its 95% CI in one cell, an empty bias-corrected share as '—'
    with its reason, plain headings; the group column only when grouped (a model's name as
    given, a category or modality in words)."""
    rows = []
    for r in table.itertuples():
        row = {}
        if by != "overall":
            row["group"] = r.group if by == "model" else display.display_value(by, r.group)
        row["reason"] = display.display_name(r.code)
        row["machine share"] = display.share_with_ci(r.machine_rate, r.machine_low, r.machine_high)
        row["bias-corrected share"] = (
            display.share_with_ci(r.ppi_rate, r.ppi_low, r.ppi_high)
            if not display.is_empty(r.ppi_rate)
            else display.or_dash(None, _ppi_missing_reason(int(r.n_validated or 0)))
        )
        row["feedback items"] = int(r.n_items)
        row["validated by people"] = int(r.n_validated)
        rows.append(row)
    columns = ["reason", "machine share", "bias-corrected share", "feedback items",
               "validated by people"]  # fmt: skip
    return pd.DataFrame(rows, columns=(["group"] if by != "overall" else []) + columns)


def _ppi_missing_reason(validated: int) -> str:
    if validated == 0:
        return "no validated items"
    return f"only {plural(validated, 'validated item')}"


DISTINCTIVE_COLUMNS = ["group", "code", "share", "others_share", "difference", "n_items"]
#: codes that are no reason to act on: never reported as what sets a model apart
CATCH_ALL_CODES = frozenset({"other"})


def distinctive_reasons(table: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Per group (e.g. the model that lost): the reasons that distinguish it, ranked by how much
    more often they appear in its feedback than in every other group's pooled feedback
    (percentage points), not by overall size, since the largest reason is often the same for
    all. Uses the bias-corrected share where every group has one, else the machine's."""
    if table.empty:
        return pd.DataFrame(columns=DISTINCTIVE_COLUMNS)
    use_ppi = table["ppi_rate"].notna().all()
    rate = table["ppi_rate" if use_ppi else "machine_rate"].astype(float)
    frame = table.assign(share=rate, count=rate * table["n_items"])
    frame = frame[~frame["code"].isin(CATCH_ALL_CODES)]
    totals = frame.groupby("code").agg(count=("count", "sum"), items=("n_items", "sum"))
    rows = []
    for r in frame.itertuples():
        other_items = totals.at[r.code, "items"] - r.n_items
        if other_items <= 0:
            continue
        others = (totals.at[r.code, "count"] - r.count) / other_items
        rows.append(
            {
                "group": r.group,
                "code": r.code,
                "share": float(r.share),
                "others_share": float(others),
                "difference": float(r.share - others),
                "n_items": int(r.n_items),
            }
        )
    out = pd.DataFrame(rows, columns=DISTINCTIVE_COLUMNS)
    out = out[out["difference"] > 0].sort_values(["group", "difference"], ascending=[True, False])
    return out.groupby("group", sort=False).head(top).reset_index(drop=True)
