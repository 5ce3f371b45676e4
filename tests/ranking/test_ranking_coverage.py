"""Honest uncertainty: 95% intervals cover the true ratings about 95% of the time."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_sim import simulate_votes

from arenalens.stats import Z95, percentile_interval
from ranking.bootstrap import bootstrap_bradley_terry
from ranking.bradley_terry import aggregate_votes, fit_bradley_terry, to_ratings

SIMULATIONS = 200
ROUNDS = 1000
TRUE_THETA = np.array([-0.8, -0.4, -0.1, 0.0, 0.3, 0.5])


@pytest.mark.slow  # 200 simulated arenas x 1,000 bootstrap rounds
def test_bootstrap_ci_covers_truth() -> None:
    rng = np.random.default_rng(2024)
    truth = to_ratings(TRUE_THETA)
    boot_hits = sandwich_hits = total = 0
    for sim in range(SIMULATIONS):
        a, b, score = simulate_votes(TRUE_THETA, 1_500, rng)
        fit = fit_bradley_terry(aggregate_votes(a, b, score))
        order = [fit.models.index(f"m{k}") for k in range(len(TRUE_THETA))]
        boot = bootstrap_bradley_terry(fit, ROUNDS, seed=sim)
        low, high = percentile_interval(to_ratings(boot.theta))
        boot_hits += int(((low[order] <= truth) & (truth <= high[order])).sum())
        ratings = to_ratings(fit.theta)[order]
        half = Z95 * 400 / np.log(10) * np.sqrt(np.diag(fit.cov_sandwich))[order]
        sandwich_hits += int((np.abs(ratings - truth) <= half).sum())
        total += len(TRUE_THETA)
    assert 0.93 <= boot_hits / total <= 0.97, boot_hits / total
    assert 0.93 <= sandwich_hits / total <= 0.97, sandwich_hits / total
