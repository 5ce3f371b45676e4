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
from scipy import linalg
from scipy.special import expit

from ranking.bootstrap import chord_refit, information_factor, per_round_degenerate
from ranking.bradley_terry import (
    DENSE_MAX_MODELS,
    EXACT_COVARIANCE_MAX_MODELS,
    BTFit,
    PairCounts,
    TiesMode,
    needs_global_prior,
    newton_pairs,
    pair_laplacian,
)

MAX_STEPS = 200
LEADER_CHALLENGERS = 3  # the leader is challenged by the next models by rating
# above DENSE_MAX_MODELS: adjacent pairs among this many top models only, fewer greedy steps
FRAGILITY_TOP_MODELS = 5
MAX_STEPS_MANY_MODELS = 30
BISECTION_STEPS_MANY_MODELS = 4  # the count is then within ~1/16 of the greedy sequence
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
    component: int = 0
    scope: str = ""  # e.g. "in group 2 (a, b, c)" when groups of models are rated apart

    @property
    def share(self) -> float | None:
        return None if self.votes_to_flip is None else self.votes_to_flip / self.n_votes

    def sentence(self) -> str:
        """Plain-language line, e.g. 'the leader changes after dropping 4 of 303 votes (1.3%)'."""
        if self.kind == "leader":
            subject = f"the top-rated model ({self.higher}) changes"
        else:
            subject = f"{self.higher} and {self.lower} swap"
        if self.scope:
            subject = f"{self.scope}, {subject}"
        if self.votes_to_flip is None:
            return f"{subject} only after dropping more than half of the {self.n_votes} votes"
        share = self.votes_to_flip / self.n_votes
        return (
            f"{subject} after dropping {self.votes_to_flip} of {self.n_votes} votes ({share:.1%})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share, "sentence": self.sentence()}


def _fit_thetas(
    pc: PairCounts, counts: np.ndarray, ties: TiesMode, fit: BTFit | None = None
) -> np.ndarray:
    """Strengths (rounds, models) for a batch of count tables (rounds, pairs, 3).

    Many models (`fit` given): refitted from `fit` with its factorised information (a few
    votes removed move little), and the all-models prior only for rounds whose fit does not
    converge (checking every round's graph first would cost more than the fits).
    """
    if fit is None or pc.n_models <= DENSE_MAX_MODELS:
        mask = per_round_degenerate(pc, counts)
        return newton_pairs(pc, counts, ties=ties, prior_mask=mask).theta
    mask = _model_mask(pc, counts) | fit.prior_mask[None, :]
    result = chord_refit(fit, counts, mask, tol=1e-6)
    for r in np.flatnonzero(~result.converged):
        if needs_global_prior(PairCounts(pc.models, pc.pair_i, pc.pair_j, counts[r]), mask[r]):
            again = newton_pairs(pc, counts[r : r + 1], ties=ties, prior_mask=np.ones_like(mask[r]))
            result.theta[r] = again.theta[0]
    return result.theta


def _model_mask(pc: PairCounts, counts: np.ndarray) -> np.ndarray:
    """(rounds, models): models that never lost, never won or have no votes in a round."""
    n = counts[..., 0] + counts[..., 1] + counts[..., 2]  # faster than a sum over 3 columns
    first = counts[..., 0] + 0.5 * counts[..., 1]
    incidence = pc.incidence()
    to_first, to_second = incidence.maximum(0).T.tocsr(), (-incidence).maximum(0).T.tocsr()
    votes = (to_first @ n.T + to_second @ n.T).T
    scores = (to_first @ first.T + to_second @ (n - first).T).T
    return (scores <= 0) | (scores >= votes)


def _influence(
    pc: PairCounts,
    counts: np.ndarray,
    theta: np.ndarray,
    i: int,
    j: int,
    fit: BTFit | None = None,
) -> np.ndarray:
    """(pairs, 3): first-order change of theta_i - theta_j when one vote of a cell is removed."""
    m = pc.n_models
    d = theta[pc.pair_i] - theta[pc.pair_j]
    p = expit(d)
    n = counts.sum(axis=1)
    contrast = np.zeros(m)
    contrast[i], contrast[j] = 1.0, -1.0
    if fit is None or m <= DENSE_MAX_MODELS:
        info = pair_laplacian(pc, n * p * (1 - p)) + np.eye(m) * 1e-6 + 1.0 / m
        v = np.linalg.solve(info, contrast)
    else:  # the full fit's information, factorised once, guides the search as well
        factor = information_factor(fit)
        v = linalg.cho_solve(factor, np.append(contrast, [0.0] * (len(factor[0]) - m)))[:m]
    score = np.stack([1 - p, 0.5 - p, -p], axis=1)  # one vote's score of d, per outcome
    return -score * (v[pc.pair_i] - v[pc.pair_j])[:, None]


def flip_counts(
    pc: PairCounts,
    pairs: list[tuple[int, int]],
    ties: TiesMode = "half",
    max_share: float = 0.5,
    fit: BTFit | None = None,
) -> list[int | None]:
    """For each (i, j): fewest votes found whose removal puts j at or above i (None: more than
    `max_share` of the votes). All pairs are refitted together, one batched solve per step.

    Many models (`fit` given, above `DENSE_MAX_MODELS`): a step removes as many cells, in
    order of influence, as the linear approximation says close the gap, and refits start from
    `fit` with its factorised information."""
    n_pairs = len(pairs)
    many = fit is not None and pc.n_models > DENSE_MAX_MODELS
    max_steps = MAX_STEPS_MANY_MODELS if many else MAX_STEPS
    if n_pairs == 0:
        return []
    total = pc.counts.sum()
    counts = np.repeat(pc.counts[None], n_pairs, axis=0)
    sequences: list[list[tuple[int, int]]] = [[] for _ in pairs]
    removed = np.zeros(n_pairs)
    active = np.ones(n_pairs, bool)
    flipped = np.zeros(n_pairs, bool)
    for _ in range(max_steps):
        rows = np.flatnonzero(active)
        if len(rows) == 0:
            break
        if many and not removed[rows].any():  # nothing removed yet: the full fit itself
            thetas = np.repeat(fit.theta[None], len(rows), axis=0)
        else:
            thetas = _fit_thetas(pc, counts[rows], ties, fit)
        for theta, r in zip(thetas, rows, strict=True):
            i, j = pairs[r]
            gap = theta[i] - theta[j]
            if gap <= 0:
                flipped[r], active[r] = True, False
                continue
            impact = _influence(pc, counts[r], theta, i, j, fit).reshape(-1)
            impact[counts[r].reshape(-1) <= 0] = np.inf
            cell = int(np.argmin(impact))
            if not np.isfinite(impact[cell]) or impact[cell] >= 0:
                active[r] = False
                continue
            if many:
                steps = _cells_closing_gap(impact, counts[r].reshape(-1), gap)
            else:
                k = max(1, min(int(counts[r].reshape(-1)[cell]), math.ceil(gap / -impact[cell])))
                steps = [(cell, k)]
            for cell, k in steps:
                counts[r].reshape(-1)[cell] -= k
                sequences[r].append((cell, k))
                removed[r] += k
            if removed[r] > max_share * total:
                active[r] = False
    # shortest prefix of each removal sequence that still flips: bisection, batched over pairs
    expanded = [
        np.repeat([c for c, _ in seq], [k for _, k in seq]).astype(np.int64) for seq in sequences
    ]
    low = np.zeros(n_pairs, np.int64)
    high = np.array([len(e) for e in expanded], np.int64)
    for _ in range(BISECTION_STEPS_MANY_MODELS if many else 64):  # 64 halvings end any search
        rows = np.flatnonzero(flipped & (high - low > 1))
        if len(rows) == 0:
            break
        mid = (low[rows] + high[rows]) // 2
        trial = np.repeat(pc.counts.reshape(1, -1), len(rows), axis=0)
        for t, (r, length) in enumerate(zip(rows, mid, strict=True)):
            trial[t] -= np.bincount(expanded[r][:length], minlength=trial.shape[1])
        thetas = _fit_thetas(pc, trial.reshape(len(rows), *pc.counts.shape), ties, fit)
        for theta, r, length in zip(thetas, rows, mid, strict=True):
            i, j = pairs[r]
            if theta[i] - theta[j] <= 0:
                high[r] = length
            else:
                low[r] = length
    return [int(high[r]) if flipped[r] else None for r in range(n_pairs)]


def _cells_closing_gap(impact: np.ndarray, counts: np.ndarray, gap: float) -> list[tuple[int, int]]:
    """(cell, votes) to remove, most influential cells first, until the linear approximation
    says the gap closes (the last cell only partly)."""
    candidates = np.flatnonzero(np.isfinite(impact) & (impact < 0))
    shown = min(len(candidates), 256)
    while True:  # sort only the most influential cells, as many as can close the gap
        if shown < len(candidates):
            part = np.sort(np.argpartition(impact[candidates], shown)[:shown])  # ties: by cell
        else:
            part = np.arange(len(candidates))
        useful = candidates[part[np.argsort(impact[candidates[part]], kind="stable")]]
        closed = np.cumsum(-impact[useful] * counts[useful])
        if shown == len(candidates) or closed[-1] >= gap:
            break
        shown = min(len(candidates), shown * 8)
    last = min(int(np.searchsorted(closed, gap)), len(useful) - 1)
    before = float(closed[last - 1]) if last > 0 else 0.0
    steps = [(int(c), int(counts[c])) for c in useful[:last]]
    cell = int(useful[last])
    steps.append((cell, max(1, min(int(counts[cell]), math.ceil((gap - before) / -impact[cell])))))
    return steps


def votes_to_flip(
    pc: PairCounts, i: int, j: int, ties: TiesMode = "half", max_share: float = 0.5
) -> int | None:
    """Fewest votes (greedy + bisection, an upper bound) whose removal puts model j at or above i."""
    return flip_counts(pc, [(i, j)], ties, max_share)[0]


def order_fragility(
    pc: PairCounts,
    theta: np.ndarray,
    ties: TiesMode = "half",
    eligible: np.ndarray | None = None,
    component: int = 0,
    fit: BTFit | None = None,
) -> list[PairFragility]:
    """The leader against its closest challengers (the smallest count), then each adjacent pair;
    among the `eligible` models only (those ranked under the evidence rule), when given (above
    `DENSE_MAX_MODELS` models, adjacent pairs among the top `FRAGILITY_TOP_MODELS` only; above
    `EXACT_COVARIANCE_MAX_MODELS`, the leader only)."""
    order = [int(k) for k in np.argsort(-theta, kind="stable")]
    if eligible is not None:
        order = [k for k in order if eligible[k]]
    n = pc.n_votes
    if len(order) < 2:
        return []
    leader = order[0]
    challengers = order[1 : 1 + LEADER_CHALLENGERS]
    top = order if pc.n_models <= DENSE_MAX_MODELS else order[:FRAGILITY_TOP_MODELS]
    if pc.n_models > EXACT_COVARIANCE_MAX_MODELS:
        top = []  # every refit reads a models x models factor: the leader only
    adjacent = list(zip(top, top[1:], strict=False))
    asked = [(leader, c) for c in challengers] + adjacent
    unique = list(dict.fromkeys(asked))  # the leader and the runner-up are asked twice
    found_for = dict(zip(unique, flip_counts(pc, unique, ties, fit=fit), strict=True))
    counts = [found_for[pair] for pair in asked]
    leader_counts = counts[: len(challengers)]
    found = [(k, c) for k, c in zip(leader_counts, challengers, strict=True) if k is not None]
    best_k, best_c = min(found) if found else (None, order[1])
    out = [PairFragility("leader", pc.models[leader], pc.models[best_c], best_k, n, component)]
    for (hi, lo), k in zip(adjacent, counts[len(challengers) :], strict=True):
        out.append(PairFragility("adjacent", pc.models[hi], pc.models[lo], k, n, component))
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
