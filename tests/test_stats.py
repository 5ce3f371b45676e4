"""arenalens.stats: the one home of intervals, PPI and bootstrap helpers used by every stage.

The frozen numbers below are what taxonomy/shares.py, coding/prevalence.py and
coding/agreement.py computed with their own copies before those moved here: the move changed no
result (the kappa interval by at most one unit in the last place: 95% tails are now exactly
0.025/0.975)."""

from __future__ import annotations

import numpy as np
import pytest

from arenalens.stats import (
    NAN_ESTIMATE,
    Z95,
    bootstrap_interval,
    cluster_bootstrap_intervals,
    percentile_interval,
    ppi_mean,
    wilson_interval,
    z_value,
)


def _population() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    truth = rng.random(400) < 0.3
    machine = np.where(truth, rng.random(400) < 0.7, rng.random(400) < 0.1).astype(float)
    labelled = np.zeros(400, bool)
    labelled[rng.choice(400, 60, replace=False)] = True
    return machine, labelled, truth


def test_z_values_are_the_normal_quantiles() -> None:
    assert Z95 == 1.959963984540054
    assert z_value(0.9) == pytest.approx(1.6448536269514722, abs=1e-15)
    assert z_value(0.99) == pytest.approx(2.5758293035489004, abs=1e-15)


def test_wilson_interval_matches_the_textbook_value() -> None:
    estimate = wilson_interval(8, 10)
    assert (estimate.rate, estimate.n) == (0.8, 10)
    assert estimate.low == pytest.approx(0.4902, abs=1e-3)
    assert estimate.high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 10).low == 0.0
    assert wilson_interval(10, 10).high <= 1.0


def test_wilson_interval_is_unchanged_by_the_move() -> None:
    estimate = wilson_interval(37, 200)
    assert (estimate.low, estimate.high) == (0.13730192800616042, 0.2445706276115175)


def test_wilson_interval_of_none_or_all_ends_exactly_at_0_or_1() -> None:
    for n in range(1, 300):  # e.g. 0 of 39 left a lower bound of 1.4e-17 above the share
        assert wilson_interval(0, n).low == 0.0
        assert wilson_interval(n, n).high == 1.0


def test_wilson_interval_of_nothing_is_no_estimate() -> None:
    assert np.isnan(wilson_interval(0, 0).rate)


def test_wilson_interval_covers_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    intervals = [wilson_interval(int(rng.binomial(200, 0.3)), 200) for _ in range(2000)]
    covered = np.mean([e.low <= 0.3 <= e.high for e in intervals])
    assert 0.93 <= covered <= 0.97


def test_ppi_over_all_items_adds_the_covariance_term() -> None:
    machine, labelled, truth = _population()
    f_lab, y = machine[labelled], truth[labelled].astype(float)
    estimate = ppi_mean(machine, f_lab, y, machine_covers_labelled=True)
    rectifier = y - f_lab
    variance = (
        machine.var(ddof=1) / 400
        + rectifier.var(ddof=1) / 60
        + 2 * np.cov(f_lab, rectifier, ddof=1)[0, 1] / 400
    )
    assert estimate.rate == pytest.approx(machine.mean() + rectifier.mean())
    assert estimate.high - estimate.rate == pytest.approx(Z95 * np.sqrt(variance))
    # what coding/prevalence.py's own estimator gave
    assert (estimate.rate, estimate.low, estimate.high, estimate.n) == (
        0.3208333333333333,
        0.23379765522019297,
        0.40786901144647364,
        60,
    )


def test_ppi_over_unlabelled_items_has_no_covariance_term() -> None:
    machine, labelled, truth = _population()
    estimate = ppi_mean(
        machine[~labelled],
        machine[labelled],
        truth[labelled].astype(float),
        machine_covers_labelled=False,
    )
    # what taxonomy/shares.py's own estimator gave
    assert (estimate.rate, estimate.low, estimate.high) == (
        0.32156862745098036,
        0.22795573397324087,
        0.41518152092871985,
    )


def test_ppi_needs_two_items_on_each_side() -> None:
    assert ppi_mean([1, 0, 1], [1], [1], machine_covers_labelled=True) == NAN_ESTIMATE
    assert ppi_mean([1], [1, 0], [1, 1], machine_covers_labelled=False) == NAN_ESTIMATE


def test_ppi_bounds_clip_a_share_but_not_a_mean() -> None:
    machine = np.array([0.0, 0.0, 0.0, 0.0])
    share = ppi_mean(machine, [0.0, 0.0], [0.0, 1.0], machine_covers_labelled=True)
    free = ppi_mean(machine, [0.0, 0.0], [0.0, 1.0], machine_covers_labelled=True, bounds=None)
    assert share.low == 0.0 and free.low < 0.0


def test_ppi_corrects_a_biased_classifier_and_covers_the_truth() -> None:
    rng = np.random.default_rng(2)
    truth = 0.3
    covered_ppi, covered_raw = 0, 0
    for _ in range(300):
        y = rng.random(5000) < truth
        # a classifier that misses 40% of positives and flags 5% of negatives: biased low
        f = np.where(y, rng.random(5000) > 0.4, rng.random(5000) < 0.05)
        mask = np.zeros(5000, bool)
        mask[rng.choice(5000, 300, replace=False)] = True
        estimate = ppi_mean(f[~mask], f[mask], y[mask], machine_covers_labelled=False)
        covered_ppi += estimate.low <= truth <= estimate.high
        covered_raw += abs(f.mean() - truth) < 0.02
    assert covered_ppi / 300 >= 0.9
    assert covered_raw == 0  # the raw share is off by ~0.08 every time


def test_percentile_interval_is_equal_tailed() -> None:
    samples = np.arange(1001, dtype=float)
    low, high = percentile_interval(samples)
    assert (low, high) == (25.0, 975.0)
    lows, highs = percentile_interval(np.column_stack([samples, 2 * samples]), 0.9)
    assert lows.tolist() == [50.0, 100.0] and highs.tolist() == [950.0, 1900.0]


def test_bootstrap_interval_resamples_items_and_drops_undefined_rounds() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(5.0, 1.0, 400)
    low, high = bootstrap_interval(np.mean, values, n_boot=500, seed=1)
    assert low < 5.0 < high and high - low == pytest.approx(2 * Z95 / 20, rel=0.2)
    assert np.isnan(bootstrap_interval(np.mean, [1.0])[0])
    always_nan = bootstrap_interval(lambda x: float("nan"), values, n_boot=50)
    assert np.isnan(always_nan[0]) and np.isnan(always_nan[1])


def test_cluster_bootstrap_is_wider_when_groups_are_internally_alike() -> None:
    rng = np.random.default_rng(4)
    kinds = rng.random(50) < 0.4
    clustered = np.repeat(kinds, 20).astype(float)
    groups = np.repeat(np.arange(50), 20)
    low, high = cluster_bootstrap_intervals(clustered, groups, n_boot=400)
    naive = wilson_interval(int(clustered.sum()), len(clustered))
    assert (high[0] - low[0]) > 2 * (naive.high - naive.low)
