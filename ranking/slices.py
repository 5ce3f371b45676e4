"""Leaderboards per slice of the votes (category, language, loss reason, any metadata field).

Slices go through the same `rank_votes` as the overall board, on the same grouped rows
(`n` votes per row, optional `user_id`), so a slice's CIs are clustered the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ranking.bradley_terry import winner_scores
from ranking.errors import RankingError
from ranking.leaderboard import Leaderboard, RankingOptions, rank_votes

MIN_SLICE_VOTES = 20  # below this a slice's leaderboard is skipped (too noisy to report)
MAX_SLICES = 50


@dataclass
class SliceResult:
    """Leaderboards by slice value, plus slices skipped and why."""

    field: str
    boards: dict[str, Leaderboard] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "slices": [
                {"value": value, **board.to_dict(with_win_rates=False)}
                for value, board in self.boards.items()
            ],
            "skipped": self.skipped,
        }


def explode_slices(votes: pd.DataFrame, column: str = "slice") -> pd.DataFrame:
    """One row per (vote, slice value): list values (e.g. several loss reasons) fan out."""
    frame = votes.explode(column)
    frame = frame[frame[column].notna()]
    frame[column] = frame[column].astype(str)
    return frame


def rank_slices(
    votes: pd.DataFrame,
    field_name: str,
    options: RankingOptions,
    *,
    column: str = "slice",
    min_slice_votes: int = MIN_SLICE_VOTES,
    max_slices: int = MAX_SLICES,
) -> SliceResult:
    """Rank each slice value with at least `min_slice_votes` votes; others are listed as skipped.

    `votes` has model_a, model_b, winner, the slice column, and optionally `n` (votes per row)
    and `user_id`.
    """
    frame = explode_slices(votes, column)
    if "n" not in frame:
        frame = frame.assign(n=1)
    result = SliceResult(field_name)
    if frame.empty:
        raise RankingError(f"no vote has a value for {field_name!r}")
    sizes = frame.groupby(column)["n"].sum().sort_values(ascending=False, kind="stable")
    quiet = replace(options, progress=False)  # one bar over slices, not one per bootstrap
    for position, (value, size) in enumerate(
        tqdm(
            sizes.items(),
            total=len(sizes),
            desc=f"slices by {field_name}",
            disable=not options.progress or len(sizes) < 2,
        )  # fmt: skip
    ):
        size = int(size)
        if position >= max_slices:
            result.skipped[value] = f"beyond the {max_slices} largest slices"
            continue
        if size < min_slice_votes:
            result.skipped[value] = f"{size} votes (fewer than {min_slice_votes})"
            continue
        part = frame[frame[column] == value]
        try:
            result.boards[value] = rank_votes(
                part["model_a"].to_numpy(),
                part["model_b"].to_numpy(),
                winner_scores(part["winner"]),
                quiet,
                weights=part["n"].to_numpy(dtype=float),
                users=part["user_id"].to_numpy(dtype=object) if "user_id" in part else None,
            )
        except RankingError as exc:
            result.skipped[value] = str(exc)
    return result


MIN_CELL_VOTES = 20  # a model's rating in a slice with fewer votes is greyed out, not compared


def who_wins_where(slice_ratings: pd.DataFrame, min_votes: int = MIN_CELL_VOTES) -> pd.DataFrame:
    """Slice x model matrix (long form) from stored per-slice ratings.

    Adds `role`: 'leader' (highest rating among models with at least `min_votes` votes in the
    slice), 'tied' (its 95% CI overlaps the leader's), 'behind', or 'too few votes'.
    """
    columns = ["slice_value", "model", "rating", "ci_low", "ci_high", "votes"]
    frame = slice_ratings[columns].copy()
    frame["role"] = np.where(frame["votes"] < min_votes, "too few votes", "behind")
    for _, group in frame[frame["role"] != "too few votes"].groupby("slice_value"):
        leader = group.loc[group["rating"].idxmax()]
        tied = group.index[(group["ci_high"] >= leader["ci_low"]) & (group.index != leader.name)]
        frame.loc[tied, "role"] = "tied"
        frame.loc[leader.name, "role"] = "leader"
    return frame.reset_index(drop=True)
