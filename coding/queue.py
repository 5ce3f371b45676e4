"""Annotation order and the coder's per-item confidence (what the Annotate page shows).

Public and stable (the dashboard calls these): `coder_confidence`, `uncertain_first`.
The order only changes which assigned item an annotator sees next; which items are in a
validation sample is decided by `coding.sampling` (random, so estimates stay unbiased).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from arenalens.store import Store
from coding import persist

CONFIDENCE_COLUMNS = ["feedback_id", "code", "probability", "decision", "source"]


def coder_confidence(
    store: Store, version: str, feedback_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """The coder's probability and decision (present/uncertain/absent) per (item, code).

    Empty for items coded before scores were stored; an LLM labeler reports only the codes it gave.
    """
    frame = persist.scores_frame(store, version)
    if feedback_ids is not None and len(frame):
        frame = frame[frame["feedback_id"].isin(set(map(str, feedback_ids)))]
    return (
        frame[CONFIDENCE_COLUMNS].reset_index(drop=True)
        if len(frame)
        else pd.DataFrame(columns=CONFIDENCE_COLUMNS)
    )


def uncertainty_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per item: how many codes are uncertain and how close its least sure code is to a coin flip.

    `uncertainty` = max over the item's codes of 1 - |2p - 1| (1 = p of 0.5, 0 = p of 0 or 1).
    """
    if scores.empty:
        return pd.DataFrame(
            columns=["feedback_id", "n_uncertain", "uncertainty", "uncertain_codes"]
        )
    frame = scores.assign(
        is_uncertain=scores["decision"].eq("uncertain"),
        closeness=1 - (2 * scores["probability"].astype(float) - 1).abs(),
    )
    grouped = frame.groupby("feedback_id", sort=False)
    return pd.DataFrame(
        {
            "n_uncertain": grouped["is_uncertain"].sum().astype(int),
            "uncertainty": grouped["closeness"].max().astype(float),
            "uncertain_codes": grouped.apply(
                lambda g: ", ".join(sorted(g.loc[g["is_uncertain"], "code"])),
                include_groups=False,
            ),
        }
    ).reset_index()


def uncertain_first(feedback_ids: Sequence[str], scores: pd.DataFrame) -> list[str]:
    """`feedback_ids` reordered: items with uncertain codes first (more uncertain codes, then
    closer to a coin flip, first); the rest keep their given order. Stable and pure."""
    table = uncertainty_table(scores).set_index("feedback_id") if len(scores) else None
    position = {fid: i for i, fid in enumerate(feedback_ids)}

    def key(fid: str) -> tuple[int, float, int]:
        if table is None or fid not in table.index:
            return (0, 0.0, position[fid])
        row = table.loc[fid]
        n = int(row["n_uncertain"])
        return (-n, -float(row["uncertainty"]) if n else 0.0, position[fid])

    return sorted(feedback_ids, key=key)
