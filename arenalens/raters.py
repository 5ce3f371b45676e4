"""Rater quality from the votes the rater app stored: votes, time per vote, position bias and
attention-pair accuracy per rater, and which raters fail the attention pairs.

Core, not the arena stage: it reads only the canonical records (interactions whose extra fields
say `arena_campaign`), so the ranking and the dashboard use it without importing the arena."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from arenalens.stats import wilson_interval

if TYPE_CHECKING:
    import pandas as pd

    from arenalens.store import Store

# A rater fails when fewer than this share of their attention pairs went to the good side.
PASS_SHARE = 0.8
RATER_COLUMNS = [
    "rater",
    "votes",
    "median_seconds",
    "share_a",
    "share_a_low",
    "share_a_high",
    "attention_pairs",
    "attention_accuracy",
    "failing",
]


def arena_records(store: Store) -> pd.DataFrame:
    """Interactions the rater app stored (votes and attention pairs): id, user_id, winner, extra."""
    from sqlalchemy import select

    from arenalens.store import tables as t

    c = t.interactions.c
    query = select(c.id, c.user_id, c.winner, c.extra).where(c.id.like("arena\\_%", escape="\\"))
    frame = store.read_frame(query.order_by(c.id))
    keep = [bool((extra or {}).get("arena_campaign")) for extra in frame["extra"]]
    return frame[np.asarray(keep, dtype=bool)].reset_index(drop=True)


def rater_table(records: pd.DataFrame, campaign: str | None = None) -> pd.DataFrame:
    """One row per rater: votes on systems, median seconds per vote, share of decisive votes
    for side A with its 95% Wilson interval (0.5 = no position bias), attention pairs answered,
    the share they got right and whether that is below PASS_SHARE."""
    import pandas as pd

    if campaign is not None:
        mine = [(e or {}).get("arena_campaign") == campaign for e in records["extra"]]
        records = records[np.asarray(mine, dtype=bool)]
    rows = []
    for rater, group in records.groupby("user_id", sort=True):
        extra = group["extra"]
        attention = extra.map(lambda e: bool(e.get("arena_attention")))
        votes = group[~attention & group["winner"].notna()]
        seconds = [e.get("arena_vote_seconds") for e in extra if e.get("arena_vote_seconds")]
        decisive = votes["winner"].isin(["model_a", "model_b"])
        share = wilson_interval(int((votes["winner"] == "model_a").sum()), int(decisive.sum()))
        passed = [bool(e.get("arena_attention_passed")) for e in extra[attention]]
        accuracy = float(np.mean(passed)) if passed else float("nan")
        rows.append(
            {
                "rater": rater,
                "votes": len(votes),
                "median_seconds": float(np.median(seconds)) if seconds else float("nan"),
                "share_a": share.rate,
                "share_a_low": share.low,
                "share_a_high": share.high,
                "attention_pairs": len(passed),
                "attention_accuracy": accuracy,
                "failing": bool(passed) and accuracy < PASS_SHARE,
            }
        )
    return pd.DataFrame(rows, columns=RATER_COLUMNS)


def failing_raters(store: Store) -> set[str]:
    """Raters whose attention-pair accuracy is below PASS_SHARE (any campaign)."""
    table = rater_table(arena_records(store))
    return set(table.loc[table["failing"], "rater"])
