"""Which two systems meet next in a live campaign (placeholder: uniform pairs, balanced sides).

The interface (`SchedulerConfig`, `next_pair`) is the one the adaptive scheduler keeps; this
version draws every pair uniformly whatever `rule` says, and puts on side A the system this
rater has seen least often as A."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SchedulerConfig:
    rule: str = "adaptive"  # "uniform" | "variance" (Chatbot Arena) | "adaptive" (ours)
    explore_share: float = 0.2  # minimum share of uniform draws
    min_pair_count: int = 1  # every pair at least this many votes before adaptivity


def next_pair(
    systems: Sequence[str],
    votes: pd.DataFrame,
    rater: str | None,
    rng: np.random.Generator,
    config: SchedulerConfig = SchedulerConfig(),  # noqa: B008 - frozen, so sharing it is safe
) -> tuple[str, str]:
    """The next (side A, side B) to show; `votes` has columns model_a, model_b, winner, user_id."""
    names = sorted(set(systems))
    if len(names) < 2:
        raise ValueError(f"a battle needs two systems, got {len(names)}")
    first, second = rng.choice(len(names), size=2, replace=False)
    pair = (names[int(first)], names[int(second)])
    mine = votes[votes["user_id"] == rater] if rater is not None and len(votes) else votes
    as_a = mine["model_a"].value_counts() if len(mine) else pd.Series(dtype=int)
    as_b = mine["model_b"].value_counts() if len(mine) else pd.Series(dtype=int)

    def lean(name: str) -> int:  # how much more often this system was A than B for the rater
        return int(as_a.get(name, 0)) - int(as_b.get(name, 0))

    if lean(pair[0]) > lean(pair[1]):
        pair = (pair[1], pair[0])
    return pair
