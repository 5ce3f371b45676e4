"""Which pair a rater sees next: uniform, Chatbot Arena's variance rule, or our adaptive rule.

Every rule works on votes aggregated to per-pair counts, so the cost of a choice does not grow
with the number of votes beyond one pass to count them. The two rules that look at the data fit
a small Bradley–Terry model here (a few Newton steps on the counts, half-win ties, a pseudo-vote
prior that keeps every strength finite); `ranking.bradley_terry` is the reference fit, not
imported so that the arena stage stays beside the analysis stages.

- ``uniform``: every unordered pair equally likely (the original Talk Arena app).
- ``variance``: Chatbot Arena's active sampling rule (Chiang et al. 2024, section 5): pair a is
  drawn with probability proportional to sqrt(v_a / n_a) - sqrt(v_a / (n_a + 1)), how much one
  more vote shrinks the standard error of that pair's win rate (v_a: the per-vote variance of
  the pair's outcome under the current fit, n_a: its votes so far).
- ``adaptive`` (ours): a vote on pair (i, j) shrinks the covariance of the fitted strengths by a
  rank-one update; the rule scores each pair by the drop in the standard errors of the ratings
  it would bring (the widths a leaderboard shows), weighted per system: 1, plus `focus / k` for
  both systems of the k-th pair of adjacent ranks while their intervals still overlap, for the
  first `focus_ranks` such pairs (the leader and its challenger first: the leader's
  fragility). Pairs are drawn in proportion to score ** sharpness, mixed with a minimum share
  of uniform draws. The settings were tuned on simulated arenas
  (`benchmarks/arena_scheduler.py --tune`, seeds apart from those of the reported figures).

The two data-driven rules first serve pairs below `min_pair_count` (uniform stays uniform), and
every rule orders the two sides to balance the rater's history: each system as often on side A as on
side B, per rater.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

RULES = ("uniform", "variance", "adaptive")
ELO_SCALE = 400.0 / math.log(10.0)  # rating points per unit of Bradley–Terry strength
Z95 = 1.959963984540054
PRIOR_VOTES = 0.5  # virtual wins (and losses) of every system against an average one
A_SCORES = {"model_a": 1.0, "model_b": 0.0}  # anything else (tie, both bad) scores a half


@dataclass(frozen=True)
class SchedulerConfig:
    """How the next pair is chosen; `focus` and `sharpness` tune the adaptive rule only."""

    rule: str = "adaptive"  # "uniform" | "variance" (Chatbot Arena) | "adaptive" (ours)
    explore_share: float = 0.2  # minimum share of uniform draws
    min_pair_count: int = 1  # every pair at least this many votes before adaptivity
    focus: float = 16.0  # extra weight of a system whose interval overlaps a neighbour's
    sharpness: float = 1.5  # pair probabilities follow score ** sharpness
    focus_ranks: int = 3  # only the first this many adjacent-rank pairs get `focus` (0: all)
    per_se: bool = True  # weigh variance drops by 1 / standard error (widths, not variances)
    z: float = Z95  # interval half-width in standard errors (overlap test)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"scheduler rule {self.rule!r}; expected one of {', '.join(RULES)}")
        if not 0.0 <= self.explore_share <= 1.0:
            raise ValueError(f"explore_share {self.explore_share}; expected 0 to 1")
        if self.min_pair_count < 0:
            raise ValueError(f"min_pair_count {self.min_pair_count}; expected 0 or more")
        if self.focus < 0 or self.sharpness <= 0:
            raise ValueError("focus must be at least 0 and sharpness above 0")


@dataclass
class VoteCounts:
    """Votes per unordered pair: `games[i, j]` votes, `score[i, j]` points of i against j."""

    systems: tuple[str, ...]
    games: np.ndarray  # (m, m) symmetric
    score: np.ndarray  # (m, m): wins plus half ties of the row system; score + score.T = games

    @classmethod
    def empty(cls, systems: Sequence[str]) -> VoteCounts:
        m = len(systems)
        return cls(tuple(systems), np.zeros((m, m)), np.zeros((m, m)))

    def add(self, ia: np.ndarray, ib: np.ndarray, score_a: np.ndarray) -> None:
        """Add votes given as system indices of both sides and A's score (1, 0.5, 0)."""
        m = len(self.systems)
        ia, ib = np.asarray(ia, np.int64), np.asarray(ib, np.int64)
        s = np.asarray(score_a, float)
        flat_ab, flat_ba = ia * m + ib, ib * m + ia
        n = np.bincount(flat_ab, minlength=m * m) + np.bincount(flat_ba, minlength=m * m)
        pts = np.bincount(flat_ab, s, m * m) + np.bincount(flat_ba, 1.0 - s, m * m)
        self.games += n.reshape(m, m)
        self.score += pts.reshape(m, m)


@dataclass
class StrengthFit:
    """Centred Bradley–Terry strengths (natural log scale) and their covariance."""

    theta: np.ndarray
    cov: np.ndarray
    iterations: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.maximum(np.diag(self.cov), 0.0))

    def ratings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ratings (mean 1000, Elo-like points) with the low and high ends of 95% intervals."""
        rating = 1000.0 + ELO_SCALE * self.theta
        half = Z95 * ELO_SCALE * self.se
        return rating, rating - half, rating + half


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def fit_strengths(
    counts: VoteCounts, theta0: np.ndarray | None = None, max_iter: int = 50, tol: float = 1e-8
) -> StrengthFit:
    """Newton fit of Bradley–Terry strengths on the counts; every system gets `PRIOR_VOTES`
    virtual wins and losses against an average one, so strengths stay finite with few votes."""
    m = len(counts.systems)
    n, w = counts.games, counts.score
    theta = np.zeros(m) if theta0 is None else np.array(theta0, float)
    idx = np.arange(m)
    info = np.eye(m)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        p = _expit(theta[:, None] - theta[None, :])
        s = _expit(theta)
        grad = (w - n * p).sum(axis=1) + PRIOR_VOTES * (1.0 - 2.0 * s)
        weights = n * p * (1.0 - p)
        info = -weights
        info[idx, idx] = weights.sum(axis=1) + 2.0 * PRIOR_VOTES * s * (1.0 - s)
        step = np.linalg.solve(info, grad)
        size = np.abs(step).max()
        theta += step * min(1.0, 2.0 / max(size, 1e-300))
        if size < tol:
            break
    p = _expit(theta[:, None] - theta[None, :])
    s = _expit(theta)
    weights = n * p * (1.0 - p)
    info = -weights
    info[idx, idx] = weights.sum(axis=1) + 2.0 * PRIOR_VOTES * s * (1.0 - s)
    inverse = np.linalg.inv(info)
    centre = np.eye(m) - 1.0 / m
    return StrengthFit(theta - theta.mean(), centre @ inverse @ centre, iterations)


def count_votes(systems: Sequence[str], votes: pd.DataFrame) -> VoteCounts:
    """Aggregate a vote frame (model_a, model_b, winner) to pair counts over `systems`;
    votes naming a system that is not offered (retired, misspelt) or one system twice are left out."""
    counts = VoteCounts.empty(systems)
    if votes is None or len(votes) == 0:
        return counts
    ia, ib, keep = _codes(systems, votes)
    counts.add(ia[keep], ib[keep], _scores(votes["winner"])[keep])
    return counts


def _codes(
    systems: Sequence[str], votes: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = pd.Index(list(systems), dtype=object)
    ia, ib = _lookup(index, votes["model_a"]), _lookup(index, votes["model_b"])
    return ia, ib, (ia >= 0) & (ib >= 0) & (ia != ib)


def _lookup(index: pd.Index, column: pd.Series) -> np.ndarray:
    """Position of each value in `index` (-1: not there), looking up distinct values only."""
    codes, uniques = pd.factorize(column)
    positions = np.append(index.get_indexer(np.asarray(uniques, dtype=object)), -1)
    return positions[codes]  # a missing value's code is -1: the appended -1


def _scores(winner: pd.Series) -> np.ndarray:
    codes, labels = pd.factorize(winner)
    per_label = np.array([A_SCORES.get(label, 0.5) for label in labels] + [0.5], float)
    return per_label[codes]


def pair_probabilities(
    counts: VoteCounts, config: SchedulerConfig = SchedulerConfig(), fit: StrengthFit | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first system, second system, probability) over all unordered pairs for the next draw."""
    m = len(counts.systems)
    i, j = np.triu_indices(m, 1)
    n = counts.games[i, j]
    uniform = np.full(len(i), 1.0 / len(i))
    short = n < config.min_pair_count
    if config.rule == "uniform":
        return i, j, uniform
    if short.any():
        return i, j, short / short.sum()
    fit = fit_strengths(counts) if fit is None else fit
    if config.rule == "variance":
        score = variance_scores(fit, i, j, n)
        explore = 0.0
    else:
        score = adaptive_scores(fit, i, j, config)
        explore = config.explore_share
    score = np.maximum(score, 0.0) ** config.sharpness if config.rule == "adaptive" else score
    total = score.sum()
    targeted = score / total if total > 0 and np.isfinite(total) else uniform
    return i, j, explore * uniform + (1.0 - explore) * targeted


def variance_scores(fit: StrengthFit, i: np.ndarray, j: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Chatbot Arena's weight: the drop in a pair's win-rate standard error from one more vote."""
    p = _expit(fit.theta[i] - fit.theta[j])
    sd = np.sqrt(p * (1.0 - p))
    before = np.where(n > 0, 1.0 / np.sqrt(np.maximum(n, 1.0)), 1.0)
    return sd * (before - 1.0 / np.sqrt(n + 1.0))


def system_weights(fit: StrengthFit, config: SchedulerConfig) -> np.ndarray:
    """1 for every system, plus `focus / k` for each system of the k-th pair of adjacent ranks
    whose intervals still overlap (the leader and its challenger first), divided by the
    system's standard error when `per_se` (a drop in variance is worth more where it is small)."""
    order = np.argsort(-fit.theta, kind="stable")
    low = fit.theta - config.z * fit.se
    high = fit.theta + config.z * fit.se
    upper, lower = order[:-1], order[1:]
    overlap = low[upper] <= high[lower]
    rank_weight = config.focus / np.arange(1, len(upper) + 1)
    if config.focus_ranks > 0:
        rank_weight[config.focus_ranks :] = 0.0
    weights = np.ones(len(fit.theta))
    np.add.at(weights, upper, overlap * rank_weight)
    np.add.at(weights, lower, overlap * rank_weight)
    return weights / np.maximum(fit.se, 1e-12) if config.per_se else weights


def adaptive_scores(
    fit: StrengthFit, i: np.ndarray, j: np.ndarray, config: SchedulerConfig
) -> np.ndarray:
    """Weighted drop of the rating variances one vote on each pair would bring (rank-one update
    of the covariance: cov u u' cov / (1 / info + u' cov u), u = e_i - e_j); with `per_se`
    the weights make it, to first order, twice the drop in the standard errors."""
    p = _expit(fit.theta[i] - fit.theta[j])
    info = p * (1.0 - p)
    cov_u = fit.cov[:, i] - fit.cov[:, j]  # (systems, pairs)
    u_cov_u = cov_u[i, np.arange(len(i))] - cov_u[j, np.arange(len(i))]
    weights = system_weights(fit, config)
    gain = (weights[:, None] * cov_u**2).sum(axis=0)
    return gain / (1.0 / np.maximum(info, 1e-12) + np.maximum(u_cov_u, 0.0))


def side_balance(systems: Sequence[str], votes: pd.DataFrame, rater: str | None) -> np.ndarray:
    """Per system: times on side A minus times on side B in the rater's votes (all votes if None)."""
    if votes is None or len(votes) == 0:
        return np.zeros(len(systems))
    ia, ib, keep = _codes(systems, votes)
    return _balance(len(systems), votes, rater, ia, ib, keep)


def _balance(
    m: int, votes: pd.DataFrame, rater: str | None, ia: np.ndarray, ib: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    if rater is not None and "user_id" in votes:
        keep = keep & votes["user_id"].eq(rater).fillna(False).to_numpy(dtype=bool)
    return np.bincount(ia[keep], minlength=m) - np.bincount(ib[keep], minlength=m).astype(float)


def order_sides(x: int, y: int, balance: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Put on side A the system that has been on side A less often (a coin decides ties)."""
    lean = balance[x] - balance[y]
    if lean < 0 or (lean == 0 and rng.random() < 0.5):
        return x, y
    return y, x


def next_pair(
    systems: Sequence[str],
    votes: pd.DataFrame,
    rater: str | None,
    rng: np.random.Generator,
    config: SchedulerConfig = SchedulerConfig(),
) -> tuple[str, str]:
    """The next (side A, side B) to show; `votes` has columns model_a, model_b, winner, user_id."""
    names = _check_systems(systems)
    counts = VoteCounts.empty(names)
    balance = np.zeros(len(names))
    if votes is not None and len(votes) > 0:
        ia, ib, keep = _codes(names, votes)
        counts.add(ia[keep], ib[keep], _scores(votes["winner"])[keep])
        balance = _balance(len(names), votes, rater, ia, ib, keep)
    i, j, prob = pair_probabilities(counts, config)
    k = int(rng.choice(len(prob), p=prob))
    a, b = order_sides(int(i[k]), int(j[k]), balance, rng)
    return names[a], names[b]


def _check_systems(systems: Sequence[str]) -> list[str]:
    names = [str(s) for s in systems]
    if len(names) < 2:
        raise ValueError(f"a pair needs at least two systems; got {len(names)}")
    if len(set(names)) != len(names):
        raise ValueError("system names must be distinct")
    return names


class PairScheduler:
    """`next_pair` with counts kept incrementally (record each vote) instead of re-read."""

    def __init__(self, systems: Sequence[str], config: SchedulerConfig = SchedulerConfig()):
        self.systems = _check_systems(systems)
        self.config = config
        self.counts = VoteCounts.empty(self.systems)
        self._index = {name: k for k, name in enumerate(self.systems)}
        self._balance: dict[str | None, np.ndarray] = {}

    def record(self, model_a: str, model_b: str, winner: str, rater: str | None = None) -> None:
        """Count one vote (ignored when it names a system not offered)."""
        a, b = self._index.get(model_a), self._index.get(model_b)
        if a is None or b is None or a == b:
            return
        score = np.array([A_SCORES.get(winner, 0.5)])
        self.counts.add(np.array([a]), np.array([b]), score)
        for key in {rater, None}:
            balance = self._balance.setdefault(key, np.zeros(len(self.systems)))
            balance[a] += 1
            balance[b] -= 1

    def next_pair(self, rater: str | None, rng: np.random.Generator) -> tuple[str, str]:
        """The next (side A, side B) for this rater."""
        i, j, prob = pair_probabilities(self.counts, self.config)
        k = int(rng.choice(len(prob), p=prob))
        balance = self._balance.get(rater, np.zeros(len(self.systems)))
        a, b = order_sides(int(i[k]), int(j[k]), balance, rng)
        return self.systems[a], self.systems[b]
