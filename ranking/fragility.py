"""How fragile is the order? The fewest votes whose removal flips two models, and a status per model.

For a pair (higher, lower), votes are removed greedily: at each step the one-step influence
(inverse information times a vote's score) says which kind of vote (pair and outcome) most
narrows the gap, as many of those are dropped as the linear approximation says are needed, and
the model is refitted exactly. Once the order flips, a bisection over the removal sequence finds
the shortest prefix that still flips it. The count is an upper bound on the true minimum (as in
2025 work on the fragility of arena rankings, finding the exact minimum is combinatorial), and
a small one is the warning that matters.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from ranking.bootstrap import per_round_degenerate
from ranking.bradley_terry import PairCounts, TiesMode, newton_pairs, pair_laplacian

MAX_STEPS = 200
LEADER_CHALLENGERS = 3  # the leader is challenged by the next models by rating
# status from votes and 95% CI width (rating points): (min votes, max width)
ESTABLISHED = (1000, 50.0)
PROVISIONAL = (100, 150.0)


@dataclass
class PairFragility:
    """Fewest votes found whose removal puts `lower` at or above `higher`."""

    kind: str  # "leader" | "adjacent"
    higher: str
    lower: str
    votes_to_flip: int | None  # None: not within half of the votes
    n_votes: int

    @property
    def share(self) -> float | None:
        return None if self.votes_to_flip is None else self.votes_to_flip / self.n_votes

    def sentence(self) -> str:
        """Plain-language line, e.g. 'the leader changes after dropping 4 of 303 votes (1.3%)'."""
        if self.kind == "leader":
            subject = f"the leader ({self.higher}) changes"
        else:
            subject = f"{self.higher} and {self.lower} swap"
        if self.votes_to_flip is None:
            return f"{subject} only after dropping more than half of the {self.n_votes} votes"
        share = self.votes_to_flip / self.n_votes
        return (
            f"{subject} after dropping {self.votes_to_flip} of {self.n_votes} votes ({share:.1%})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share, "sentence": self.sentence()}


def _fit_theta(pc: PairCounts, counts: np.ndarray, ties: TiesMode) -> np.ndarray:
    mask = per_round_degenerate(pc, counts[None])
    result = newton_pairs(pc, counts[None], ties=ties, prior_mask=mask)
    return result.theta[0]


def _gap(pc: PairCounts, counts: np.ndarray, ties: TiesMode, i: int, j: int) -> float:
    theta = _fit_theta(pc, counts, ties)
    return float(theta[i] - theta[j])


def _influence(pc: PairCounts, counts: np.ndarray, theta: np.ndarray, i: int, j: int) -> np.ndarray:
    """(pairs, 3): first-order change of theta_i - theta_j when one vote of a cell is removed."""
    m = pc.n_models
    d = theta[pc.pair_i] - theta[pc.pair_j]
    p = expit(d)
    n = counts.sum(axis=1)
    info = pair_laplacian(pc, n * p * (1 - p)) + np.eye(m) * 1e-6 + 1.0 / m
    contrast = np.zeros(m)
    contrast[i], contrast[j] = 1.0, -1.0
    v = np.linalg.solve(info, contrast)
    score = np.stack([1 - p, 0.5 - p, -p], axis=1)  # one vote's score of d, per outcome
    return -score * (v[pc.pair_i] - v[pc.pair_j])[:, None]


def votes_to_flip(
    pc: PairCounts, i: int, j: int, ties: TiesMode = "half", max_share: float = 0.5
) -> int | None:
    """Fewest votes (greedy + bisection, an upper bound) whose removal puts model j at or above i."""
    counts = pc.counts.copy()
    total = counts.sum()
    sequence: list[tuple[int, int]] = []  # (flat cell, votes removed)
    removed = 0
    flipped = False
    for _ in range(MAX_STEPS):
        theta = _fit_theta(pc, counts, ties)
        gap = theta[i] - theta[j]
        if gap <= 0:
            flipped = True
            break
        impact = _influence(pc, counts, theta, i, j).reshape(-1)
        impact[counts.reshape(-1) <= 0] = np.inf
        cell = int(np.argmin(impact))
        if not np.isfinite(impact[cell]) or impact[cell] >= 0:
            break
        available = int(counts.reshape(-1)[cell])
        k = max(1, min(available, math.ceil(gap / -impact[cell])))
        counts.reshape(-1)[cell] -= k
        sequence.append((cell, k))
        removed += k
        if removed > max_share * total:
            return None
    if not flipped:
        return None
    expanded = np.repeat([c for c, _ in sequence], [k for _, k in sequence])
    low, high = 0, len(expanded)  # flips with `high` removals, not known for `low`

    def flips(length: int) -> bool:
        trial = pc.counts.copy().reshape(-1)
        np.subtract.at(trial, expanded[:length], 1.0)
        return _gap(pc, trial.reshape(pc.counts.shape), ties, i, j) <= 0

    while high - low > 1:
        mid = (low + high) // 2
        if flips(mid):
            high = mid
        else:
            low = mid
    return int(high)


def order_fragility(
    pc: PairCounts, theta: np.ndarray, ties: TiesMode = "half"
) -> list[PairFragility]:
    """The leader against its closest challengers (the smallest count), then each adjacent pair."""
    order = [int(k) for k in np.argsort(-theta, kind="stable")]
    n = pc.n_votes
    out: list[PairFragility] = []
    if len(order) < 2:
        return out
    leader = order[0]
    best: tuple[int, str] | None = None
    for challenger in order[1 : 1 + LEADER_CHALLENGERS]:
        k = votes_to_flip(pc, leader, challenger, ties)
        if k is not None and (best is None or k < best[0]):
            best = (k, pc.models[challenger])
    out.append(
        PairFragility(
            "leader",
            pc.models[leader],
            best[1] if best else pc.models[order[1]],
            best[0] if best else None,
            n,
        )
    )
    for hi, lo in zip(order, order[1:], strict=False):
        out.append(
            PairFragility(
                "adjacent", pc.models[hi], pc.models[lo], votes_to_flip(pc, hi, lo, ties), n
            )
        )
    return out


def model_status(votes: int, ci_low: float, ci_high: float) -> str:
    """'established', 'provisional' or 'preliminary' from a model's votes and 95% CI width."""
    width = ci_high - ci_low
    if votes >= ESTABLISHED[0] and width <= ESTABLISHED[1]:
        return "established"
    if votes >= PROVISIONAL[0] and width <= PROVISIONAL[1]:
        return "provisional"
    return "preliminary"


STATUS_RULE = (
    f"established: at least {ESTABLISHED[0]} votes and a 95% CI at most {ESTABLISHED[1]:.0f} "
    f"points wide; provisional: at least {PROVISIONAL[0]} votes and at most "
    f"{PROVISIONAL[1]:.0f} points; otherwise preliminary"
)
