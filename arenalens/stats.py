"""Statistics shared by the stages, in one place: pure functions on arrays, no I/O.

Intervals for proportions (Wilson), the prediction-powered mean (PPI), normal critical values,
percentile intervals and the two bootstrap schemes the stages use (items, and groups of
correlated items). Taxonomy shares, coding prevalence/sampling/agreement and ranking call these;
stage-specific resampling (the Bradley–Terry multinomial bootstrap) stays in its stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri


@dataclass(frozen=True)
class Estimate:
    """A rate (or mean) with its confidence interval and the number of items behind it."""

    rate: float
    low: float
    high: float
    n: int


NAN_ESTIMATE = Estimate(float("nan"), float("nan"), float("nan"), 0)


def z_value(level: float = 0.95) -> float:
    """Two-sided standard-normal critical value (1.959964 for a 95% interval)."""
    return float(ndtri(0.5 + level / 2))


Z95 = z_value(0.95)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> Estimate:
    """A proportion with its Wilson score interval (good coverage also near 0 and 1).

    No items, no estimate: `NAN_ESTIMATE`."""
    if n == 0:
        return NAN_ESTIMATE
    z = z_value(level)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 or n successes the bound is exactly 0 or 1 (the formula leaves rounding noise)
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return Estimate(p, float(low), float(high), n)


def ppi_mean(
    machine: ArrayLike,
    machine_labelled: ArrayLike,
    human_labelled: ArrayLike,
    *,
    machine_covers_labelled: bool,
    level: float = 0.95,
    bounds: tuple[float, float] | None = (0.0, 1.0),
) -> Estimate:
    """Prediction-powered mean (Angelopoulos et al., 2023): the machine's mean plus the mean
    human-minus-machine rectifier on the labelled items, with a normal interval.

    theta = mean(f) + mean(y - f_labelled). The variance depends on which items `machine`
    holds, so the caller says it explicitly:

    - `machine_covers_labelled=True`: `machine` holds every item, the labelled ones included
      (they are a random subset of it); var = var(f)/N + var(y - f)/n + 2 cov(f, y - f)/N.
    - `machine_covers_labelled=False`: `machine` holds only the unlabelled items, disjoint from
      the labelled ones; var = var(f)/N + var(y - f)/n.

    Fewer than two items on either side leave the variance unknown: `NAN_ESTIMATE`. `bounds`
    clips the interval (a share lies in [0, 1]); `None` leaves it as is. `n` is the number of
    labelled items.
    """
    f = np.asarray(machine, dtype=float)
    f_lab = np.asarray(machine_labelled, dtype=float)
    y_lab = np.asarray(human_labelled, dtype=float)
    big_n, n = len(f), len(y_lab)
    if n < 2 or big_n < 2 or len(f_lab) != n:
        return NAN_ESTIMATE
    rectifier = y_lab - f_lab
    theta = f.mean() + rectifier.mean()
    variance = f.var(ddof=1) / big_n + rectifier.var(ddof=1) / n
    if machine_covers_labelled:
        variance += 2 * np.cov(f_lab, rectifier, ddof=1)[0, 1] / big_n
    half = z_value(level) * np.sqrt(max(variance, 0.0))
    low, high = theta - half, theta + half
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return Estimate(float(theta), float(low), float(high), n)


def percentile_interval(samples: ArrayLike, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed percentile interval along axis 0 (arrays for 2-D samples, scalars for 1-D)."""
    tail = round((1.0 - level) / 2.0, 12)  # 0.025 exactly for 95%, not 0.025000000000000022
    low, high = np.quantile(np.asarray(samples), [tail, 1.0 - tail], axis=0)
    return low, high


def bootstrap_interval(
    statistic: Callable[..., float],
    *samples: ArrayLike,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    min_valid_share: float = 0.5,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(*samples)`, resampling items (rows of every
    sample together) with replacement. Resamples where the statistic is NaN are dropped; when
    fewer than `min_valid_share` of them remain, or there are under two items, (NaN, NaN)."""
    arrays = [np.asarray(sample) for sample in samples]
    n = len(arrays[0])
    if n < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    values = np.array([statistic(*(array[i] for array in arrays)) for i in idx], dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < n_boot * min_valid_share:
        return float("nan"), float("nan")
    low, high = percentile_interval(values, level)
    return float(low), float(high)


def cluster_bootstrap_intervals(
    indicators: ArrayLike,
    groups: ArrayLike,
    n_boot: int = 1000,
    random_state: int = 0,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of several shares (one 0/1 column of `indicators` each) when
    observations are correlated within groups (e.g. the queries of one user): groups are
    resampled with replacement, and every column sees the same resampled groups."""
    indicators = np.asarray(indicators, dtype=float)
    if indicators.ndim == 1:
        indicators = indicators[:, None]
    rng = np.random.default_rng(random_state)
    codes, inverse = np.unique(np.asarray(groups), return_inverse=True)
    n_groups = len(codes)
    hits = np.column_stack(
        [np.bincount(inverse, weights=column, minlength=n_groups) for column in indicators.T]
    )
    sizes = np.bincount(inverse, minlength=n_groups).astype(float)
    shares = np.empty((n_boot, indicators.shape[1]))
    # draw in row blocks (same stream as one (n_boot, n_groups) draw) to bound memory
    block = max(1, min(n_boot, 20_000_000 // max(n_groups, 1)))
    for start in range(0, n_boot, block):
        rows = min(block, n_boot - start)
        draws = rng.integers(0, n_groups, size=(rows, n_groups))
        weights = np.empty((rows, n_groups))  # times each group is drawn, per resample
        for i in range(rows):  # row by row: cache-friendly, ~4x faster than one big bincount
            weights[i] = np.bincount(draws[i], minlength=n_groups)
        shares[start : start + rows] = (weights @ hits) / np.maximum(weights @ sizes, 1)[:, None]
    return percentile_interval(shares, level)
