"""Who may be ranked, or named leader: one rule for the CLI, the stored runs and the dashboard.

A model with a handful of votes gets its rating largely from the prior (a model that never lost
in one vote sits near the top with a 300-point interval). Below the rule (too few votes, or a
95% interval wider than the limit) a model is left off the main board and listed apart as "too
few votes" with its count; ranks and the leader are decided among the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arenalens.config import BOARD_MAX_CI_WIDTH, BOARD_MIN_VOTES, Settings

TOO_FEW_VOTES = "too few votes"


@dataclass(frozen=True)
class EvidenceRule:
    """Minimum evidence for the main board: votes, and the widest 95% interval in points."""

    min_votes: int = BOARD_MIN_VOTES
    max_ci_width: float = BOARD_MAX_CI_WIDTH

    @classmethod
    def from_settings(cls, settings: Settings) -> EvidenceRule:
        """The rule configured for this workspace (`board_min_votes`, `board_max_ci_width`)."""
        return cls(settings.board_min_votes, settings.board_max_ci_width)

    def admits(self, votes: float, ci_low: float, ci_high: float) -> bool:
        """Whether a model with these votes and this 95% interval is ranked on the main board."""
        width = ci_high - ci_low
        return bool(votes >= self.min_votes and np.isfinite(width) and width <= self.max_ci_width)

    def admitted(self, votes: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
        """`admits` for arrays of models."""
        return np.array(
            [self.admits(v, lo, hi) for v, lo, hi in zip(votes, ci_low, ci_high, strict=True)],
            dtype=bool,
        )

    def describe(self) -> str:
        """The rule in words."""
        return (
            f"ranked only with at least {self.min_votes} votes and a 95% interval at most "
            f"{self.max_ci_width:.0f} points wide; other models are listed apart as "
            f"'{TOO_FEW_VOTES}'"
        )


def listed_apart(models: list[str], votes: list[int]) -> str:
    """'gemini_2f (1 vote), x (12 votes)'."""
    return ", ".join(
        f"{m} ({v} vote{'' if v == 1 else 's'})" for m, v in zip(models, votes, strict=True)
    )


def leader_headline(ranked: Sequence[Mapping[str, Any]]) -> str:
    """Who leads among the ranked models, in words: the one headline of the CLI, the stored
    runs' summaries and the dashboard. Each row has model, rank, rating and maybe component."""
    if not ranked:
        return "No model has enough votes to be ranked yet."
    groups = {r.get("component") for r in ranked}
    if len(groups) > 1:
        return (
            f"No overall leader: the models form {len(groups)} groups that are ranked "
            "separately (see the warnings)."
        )
    first = sorted((r for r in ranked if r["rank"] == 1), key=lambda r: -float(r["rating"]))
    names = [str(r["model"]) for r in first]
    if len(names) == 1:
        return f"Leader: {names[0]} (its 95% interval lies above every other ranked model's)."
    return (
        f"No single leader: the intervals of {', '.join(names)} overlap (all rank 1); more "
        "votes would be needed to separate them."
    )
