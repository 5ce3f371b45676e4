"""Leaderboards per slice of the votes (category, language, loss reason, any metadata field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
    """Rank each slice value with at least `min_slice_votes` votes; others are listed as skipped."""
    frame = explode_slices(votes, column)
    result = SliceResult(field_name)
    if frame.empty:
        raise RankingError(f"no vote has a value for {field_name!r}")
    sizes = frame[column].value_counts()
    for rank, (value, size) in enumerate(sizes.items()):
        if rank >= max_slices:
            result.skipped[value] = f"beyond the {max_slices} largest slices"
            continue
        if size < min_slice_votes:
            result.skipped[value] = f"{size} votes (fewer than {min_slice_votes})"
            continue
        part = frame[frame[column] == value]
        lengths = {}
        if options.length_control:
            lengths = {
                "length_a": part["length_a"].to_numpy(float),
                "length_b": part["length_b"].to_numpy(float),
            }
        try:
            result.boards[value] = rank_votes(
                part["model_a"].to_numpy(),
                part["model_b"].to_numpy(),
                winner_scores(part["winner"]),
                options,
                **lengths,
            )
        except RankingError as exc:
            result.skipped[value] = str(exc)
    return result


def slice_sizes(values: pd.Series) -> dict[str, int]:
    """Votes per slice value (list values counted once per value)."""
    exploded = values.explode().dropna().astype(str)
    return {str(k): int(v) for k, v in exploded.value_counts().items()} if len(exploded) else {}


def metadata_values(extra: pd.Series, key: str) -> pd.Series:
    """Per-vote value of `key` in the interactions' `extra` dict (None where absent)."""
    return extra.map(lambda e: (e or {}).get(key) if isinstance(e, dict) else None)


def metadata_keys(extra: pd.Series) -> list[str]:
    """Metadata fields present on at least one vote."""
    keys: set[str] = set()
    for e in extra:
        if isinstance(e, dict):
            keys.update(e)
    return sorted(keys)
