"""Does benchmark X predict preference? Tests whose unit of evidence is the model, not the vote.

A benchmark score is a property of a model, so however many votes there are, the evidence that a
benchmark predicts preference comes from the number of models. Votes only make each model's
arena strength more precise. Vote-level p-values (a logit's Wald test) treat 154 votes among 6
models as 154 independent observations about the benchmark; under shuffled benchmarks they call
some benchmark significant in most arenas (benchmarks/regress_null.py).

Here, per benchmark:

- Kendall's τ-b between the benchmark and the models' Bradley–Terry strengths;
- its exact permutation p-value: the benchmark's values shuffled across models, every one of the
  n! orders when n <= `EXACT_PERMUTATION_MODELS`, else `MONTE_CARLO_PERMUTATIONS` random ones;
  valid whatever the votes, because under "no relation" every assignment of benchmark rows to
  models is equally likely;
- Holm's (default) or Benjamini–Hochberg's adjustment across the benchmarks tested;
- a percentile interval that resamples models, only with at least `min_models` of them
  (resampling 6 models says little; the interval is withheld and the reason given).

A benchmark is reported as predicting preference only when the adjusted p-value is at most
alpha and at least `min_models` models were compared. `models_needed` answers the actionable
question: how many models a team would need to detect a given effect (by simulation).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtri

MIN_MODELS = 8  # below this, no benchmark is declared to predict preference
EXACT_PERMUTATION_MODELS = 8  # 8! = 40,320 orders; beyond, random permutations
MONTE_CARLO_PERMUTATIONS = 10_000
MODEL_BOOTSTRAP_ROUNDS = 2_000
ALPHA = 0.05
DEFAULT_EFFECT = 0.5  # correlation between a benchmark and model strength, for `models_needed`
DEFAULT_POWER = 0.8
Correction = Literal["holm", "bh"]


@dataclass
class BenchmarkTest:
    """One benchmark against the arena strengths, at the level of models."""

    benchmark: str
    models: int
    tau: float
    p_value: float  # permutation over models, two-sided
    p_adjusted: float  # Holm or Benjamini–Hochberg across the benchmarks tested
    ci_low: float | None  # bootstrap over models; None when too few models to resample
    ci_high: float | None
    significant: bool
    held_out_r2: float | None = None  # leave-one-model-out strength R² of this benchmark alone

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def kendall_tau_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's τ-b of each row of `x` against the same row of `y` (both (rounds, n))."""
    i, j = np.triu_indices(x.shape[1], k=1)
    sx = np.sign(x[:, i] - x[:, j])
    sy = np.sign(y[:, i] - y[:, j])
    denominator = np.sqrt(np.abs(sx).sum(axis=1) * np.abs(sy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (sx * sy).sum(axis=1) / denominator, np.nan)


def permutation_orders(n: int, seed: int = 0) -> tuple[np.ndarray, bool]:
    """Orders of n models: all n! when n is small (exact), else random ones; (orders, exact)."""
    if n <= EXACT_PERMUTATION_MODELS:
        return np.array(list(itertools.permutations(range(n))), dtype=np.int64), True
    rng = np.random.default_rng(seed)
    orders = np.argsort(rng.random((MONTE_CARLO_PERMUTATIONS, n)), axis=1)
    return orders, False


def permutation_p_values(
    scores: np.ndarray, strengths: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, bool]:
    """(τ, two-sided permutation p, exact?) of each benchmark column of `scores` (models, k)."""
    n, k = scores.shape
    orders, exact = permutation_orders(n, seed)
    i, j = np.triu_indices(n, k=1)
    permuted = strengths[orders]  # (P, n): the strengths reassigned to the models
    sy = np.sign(permuted[:, i] - permuted[:, j])  # (P, pairs), shared by every benchmark
    sx = np.sign(scores[i] - scores[j])  # (pairs, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        null = (sy @ sx) / np.sqrt(np.abs(sy).sum(axis=1)[:, None] * np.abs(sx).sum(axis=0))
        observed = kendall_tau_rows(scores.T, np.broadcast_to(strengths, (k, n)))
    extreme = np.sum(np.abs(null) >= np.abs(observed) - 1e-12, axis=0)
    p = extreme / len(null) if exact else (extreme + 1) / (len(null) + 1)
    p = np.where(np.isfinite(observed), p, 1.0)
    return observed, p, exact


def adjust_p_values(p: np.ndarray, method: Correction = "holm") -> np.ndarray:
    """Holm's step-down (family-wise error) or Benjamini–Hochberg (false discovery rate)."""
    p = np.asarray(p, float)
    k = len(p)
    if k == 0:
        return p
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        stepped = np.maximum.accumulate((k - np.arange(k)) * ranked)
    elif method == "bh":
        stepped = np.minimum.accumulate(k / np.arange(k, 0, -1) * ranked[::-1])[::-1]
    else:
        raise ValueError(f"correction {method!r}; expected holm or bh")
    out = np.empty(k)
    out[order] = np.minimum(stepped, 1.0)
    return out


def model_bootstrap_intervals(
    scores: np.ndarray, strengths: np.ndarray, seed: int = 0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of τ per benchmark, resampling models with replacement."""
    n, k = scores.shape
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, (MODEL_BOOTSTRAP_ROUNDS, n))
    tail = (1 - level) / 2 * 100
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    for col in range(k):
        taus = kendall_tau_rows(scores[picks, col], strengths[picks])
        taus = taus[np.isfinite(taus)]
        if len(taus):
            low[col], high[col] = np.percentile(taus, [tail, 100 - tail])
    return low, high


def benchmark_tests(
    scores: np.ndarray,
    strengths: np.ndarray,
    names: list[str],
    *,
    min_models: int = MIN_MODELS,
    alpha: float = ALPHA,
    correction: Correction = "holm",
    seed: int = 0,
    intervals: bool = True,
) -> list[BenchmarkTest]:
    """Model-level test of each benchmark (columns of `scores`, models x k) against strengths
    (`intervals=False`: skip the model bootstrap, for simulations)."""
    n = scores.shape[0]
    taus, p, _ = permutation_p_values(scores, strengths, seed)
    adjusted = adjust_p_values(p, correction)
    enough = n >= min_models
    if enough and intervals:
        low, high = model_bootstrap_intervals(scores, strengths, seed)
    out = []
    for col, name in enumerate(names):
        out.append(
            BenchmarkTest(
                benchmark=name,
                models=n,
                tau=float(taus[col]),
                p_value=float(p[col]),
                p_adjusted=float(adjusted[col]),
                ci_low=float(low[col]) if enough and intervals else None,
                ci_high=float(high[col]) if enough and intervals else None,
                significant=bool(enough and adjusted[col] <= alpha),
            )
        )
    return out


def _critical_tau(n: int, alpha_each: float, seed: int = 0) -> float:
    """|τ| a benchmark must reach among n models for a two-sided permutation p <= alpha_each."""
    if n <= EXACT_PERMUTATION_MODELS:
        orders, _ = permutation_orders(n, seed)
        null = np.abs(kendall_tau_rows(np.broadcast_to(np.arange(n), orders.shape), orders))
        values = np.sort(np.unique(np.round(null, 12)))
        for value in values:  # smallest |τ| whose tail share is within alpha_each
            if np.mean(null >= value - 1e-12) <= alpha_each:
                return float(value)
        return math.inf
    # beyond 8 models τ's permutation distribution is close to normal (Kendall 1938)
    sd = math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    return float(ndtri(1 - alpha_each / 2) * sd)


@functools.lru_cache(maxsize=64)
def detection_rate(
    n_models: int,
    effect: float = DEFAULT_EFFECT,
    n_tests: int = 1,
    alpha: float = ALPHA,
    simulations: int = 2000,
    seed: int = 0,
) -> float:
    """Share of simulated arenas of `n_models` in which a benchmark whose correlation with model
    strength is `effect` is detected at alpha / n_tests (Holm's first step), when each model's
    strength is known precisely (many votes per model). Cached: the CLI asks once per run."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(simulations, n_models))
    y = effect * x + math.sqrt(max(1 - effect**2, 0.0)) * rng.normal(size=x.shape)
    taus = np.abs(kendall_tau_rows(x, y))
    return float(np.mean(taus >= _critical_tau(n_models, alpha / n_tests, seed) - 1e-12))


@functools.lru_cache(maxsize=64)
def models_needed(
    effect: float = DEFAULT_EFFECT,
    n_tests: int = 1,
    alpha: float = ALPHA,
    power: float = DEFAULT_POWER,
    max_models: int = 200,
) -> int | None:
    """Fewest models at which `detection_rate` reaches `power` (None: more than `max_models`)."""
    low, high = 3, 4
    while detection_rate(high, effect, n_tests, alpha) < power:
        if high >= max_models:
            return None
        low, high = high, min(2 * high, max_models)
    while high - low > 1:  # detection grows with the number of models: bisect
        mid = (low + high) // 2
        if detection_rate(mid, effect, n_tests, alpha) >= power:
            high = mid
        else:
            low = mid
    return high


def format_p(value: float) -> str:
    """A p-value for people: 0.017, 0.30, 1, or '< 0.001' (never '1.6e-01')."""
    if value < 0.001:
        return "< 0.001"
    if value >= 0.995:
        return "1"
    return f"{value:.2g}" if value < 0.1 else f"{value:.2f}"


def random_effect_identifiability(model_design: np.ndarray) -> dict[str, Any]:
    """Can a per-model random effect be told apart from the benchmark terms?

    Benchmark differences are functions of model identity: the centred models x benchmarks
    design spans `rank` of the m - 1 directions in which model strengths can differ, and the
    random effect's variance is estimated from the remaining m - 1 - rank only.
    """
    m = model_design.shape[0]
    centred = model_design - model_design.mean(axis=0)
    rank = int(np.linalg.matrix_rank(centred)) if centred.size else 0
    free = max(m - 1 - rank, 0)
    return {"models": m, "rank": rank, "degrees_of_freedom": free, "identifiable": free > 0}
