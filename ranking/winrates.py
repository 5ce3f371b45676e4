"""Pairwise win-rate matrices: observed rates and model-implied probabilities with bootstrap CIs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from arenalens.stats import percentile_interval
from ranking.bradley_terry import FIRST_WINS, TIE, PairCounts, TiesMode, _davidson_probs


@dataclass
class WinRateMatrix:
    """Row model vs column model: P(row beats column), ties counting half."""

    models: tuple[str, ...]
    predicted: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    observed: np.ndarray  # NaN where the pair never met
    battles: np.ndarray

    @property
    def significant(self) -> np.ndarray:
        """True where the interval excludes 0.5 (one model is reliably preferred)."""
        return (self.ci_low > 0.5) | (self.ci_high < 0.5)

    def records(self) -> list[dict[str, Any]]:
        """One dict per ordered pair of distinct models (JSON- and table-friendly)."""
        out = []
        for i, a in enumerate(self.models):
            for j, b in enumerate(self.models):
                if i == j:
                    continue
                observed = self.observed[i, j]
                out.append(
                    {
                        "model_a": a,
                        "model_b": b,
                        "win_rate": float(self.predicted[i, j]),
                        "ci_low": _finite_or_none(self.ci_low[i, j]),
                        "ci_high": _finite_or_none(self.ci_high[i, j]),
                        "significant": bool(self.significant[i, j]),
                        "observed": None if np.isnan(observed) else float(observed),
                        "battles": int(self.battles[i, j]),
                    }
                )
        return out


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN: intervals that were not computed become null."""
    return float(value) if np.isfinite(value) else None


def expected_score(
    theta: np.ndarray, ties: TiesMode, log_nu: np.ndarray | float | None
) -> np.ndarray:
    """(..., models, models) model-implied P(row beats column) + half P(tie)."""
    d = theta[..., :, None] - theta[..., None, :]
    if ties == "davidson" and log_nu is not None:
        nu = np.asarray(log_nu, dtype=float).reshape(np.shape(log_nu) + (1, 1))
        first, tie, _ = _davidson_probs(d, np.broadcast_to(nu, d.shape))
        return first + 0.5 * tie
    return expit(d)


def observed_win_rates(pc: PairCounts) -> tuple[np.ndarray, np.ndarray]:
    """Observed (wins + ties/2) / battles per ordered pair, and the battle counts."""
    m = pc.n_models
    battles = np.zeros((m, m))
    score = np.full((m, m), np.nan)
    n = pc.counts.sum(axis=1)
    first = pc.counts[:, FIRST_WINS] + 0.5 * pc.counts[:, TIE]
    battles[pc.pair_i, pc.pair_j] = n
    battles[pc.pair_j, pc.pair_i] = n
    score[pc.pair_i, pc.pair_j] = first / n
    score[pc.pair_j, pc.pair_i] = 1.0 - first / n
    return score, battles


def win_rate_matrix(
    pc: PairCounts,
    theta: np.ndarray,
    boot_theta: np.ndarray | None,
    ties: TiesMode = "half",
    log_nu: float | None = None,
    boot_log_nu: np.ndarray | None = None,
    level: float = 0.95,
) -> WinRateMatrix:
    """Model-implied win rates with percentile CIs over bootstrap rounds, plus observed rates."""
    predicted = expected_score(theta, ties, log_nu)
    if boot_theta is not None and len(boot_theta):
        low, high = percentile_interval(expected_score(boot_theta, ties, boot_log_nu), level)
    else:
        low = high = np.full_like(predicted, np.nan)
    observed, battles = observed_win_rates(pc)
    return WinRateMatrix(pc.models, predicted, low, high, observed, battles)
