"""Shares of categories and modalities with 95% intervals, and prediction-powered estimates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (good coverage also near 0 and 1)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def cluster_bootstrap_intervals(
    indicators: np.ndarray, groups: np.ndarray, n_boot: int = 1000, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile intervals of several shares (one 0/1 column of `indicators` each) when
    observations are correlated within groups; every column sees the same resampled groups."""
    indicators = np.asarray(indicators, dtype=float)
    if indicators.ndim == 1:
        indicators = indicators[:, None]
    rng = np.random.default_rng(random_state)
    codes, inverse = np.unique(groups, return_inverse=True)
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
    low, high = np.quantile(shares, [0.025, 0.975], axis=0)
    return low, high


def share_table(
    values: Sequence[str],
    groups: Sequence[object] | None = None,
    n_boot: int = 1000,
    random_state: int = 0,
) -> pd.DataFrame:
    """label, count, share, ci_low, ci_high, method: Wilson, or a user-level cluster bootstrap
    when `groups` are given and some group holds more than one query."""
    values = np.asarray([str(v) for v in values], dtype=object)
    n = len(values)
    use_bootstrap = False
    group_array = None
    if groups is not None:
        # None and NaN (pandas' missing value) are both "no user"
        group_array = np.asarray(["" if pd.isna(g) else str(g) for g in groups], dtype=object)
        known = group_array != ""
        if known.any():
            # queries without a user count as their own group
            group_array = np.where(
                known, group_array, np.array([f"__q{i}" for i in range(n)], dtype=object)
            )
            use_bootstrap = len(set(group_array.tolist())) < n
    labels, label_index = np.unique(values, return_inverse=True) if n else (np.array([]), None)
    counts = np.bincount(label_index, minlength=len(labels)) if n else np.array([], dtype=int)
    if use_bootstrap and len(labels):
        hits = np.zeros((n, len(labels)))
        hits[np.arange(n), label_index] = 1.0
        lows, highs = cluster_bootstrap_intervals(hits, group_array, n_boot, random_state)  # type: ignore[arg-type]
    rows = []
    for j, label in enumerate(labels.tolist()):
        k = int(counts[j])
        if use_bootstrap:
            low, high = float(lows[j]), float(highs[j])
            method = "cluster bootstrap (users)"
        else:
            low, high = wilson_interval(k, n)
            method = "wilson"
        rows.append(
            {
                "label": label,
                "count": k,
                "share": k / n if n else 0.0,
                "ci_low": low,
                "ci_high": high,
                "method": method,
            }
        )
    frame = pd.DataFrame(rows, columns=["label", "count", "share", "ci_low", "ci_high", "method"])
    return frame.sort_values(["count", "label"], ascending=[False, True]).reset_index(drop=True)


def ppi_share(
    predicted_unlabelled: np.ndarray,
    predicted_labelled: np.ndarray,
    human_labelled: np.ndarray,
    z: float = Z95,
) -> tuple[float, float, float]:
    """Prediction-powered mean (Angelopoulos et al. 2023) of a 0/1 indicator and its 95% interval.

    theta = mean(f(X_unlabelled)) + mean(Y - f(X_labelled)); variance = var(f_u)/N + var(Y - f)/n.
    """
    f_u = np.asarray(predicted_unlabelled, dtype=float)
    f_l = np.asarray(predicted_labelled, dtype=float)
    y = np.asarray(human_labelled, dtype=float)
    if len(y) == 0 or len(f_u) == 0:
        raise ValueError("PPI needs at least one labelled and one unlabelled query")
    rectifier = y - f_l
    theta = f_u.mean() + rectifier.mean()
    var = f_u.var(ddof=1) / len(f_u) if len(f_u) > 1 else 0.0
    var += rectifier.var(ddof=1) / len(y) if len(y) > 1 else 0.0
    half = z * np.sqrt(var)
    return float(theta), float(max(0.0, theta - half)), float(min(1.0, theta + half))


def ppi_share_table(predicted: pd.Series, human: pd.Series) -> pd.DataFrame:
    """Raw vs prediction-powered shares per label: `predicted` and `human` are indexed by query id."""
    human = human.dropna()
    labelled = human.index.intersection(predicted.index)
    unlabelled = predicted.index.difference(labelled)
    if len(unlabelled) == 0:
        unlabelled = predicted.index
    rows = []
    for label in sorted(set(predicted.astype(str)) | set(human.astype(str))):
        f_all = (predicted.astype(str) == label).to_numpy(dtype=float)
        f_u = (predicted.loc[unlabelled].astype(str) == label).to_numpy(dtype=float)
        f_l = (predicted.loc[labelled].astype(str) == label).to_numpy(dtype=float)
        y = (human.loc[labelled].astype(str) == label).to_numpy(dtype=float)
        row = {
            "label": label,
            "raw_share": float(f_all.mean()) if len(f_all) else 0.0,
            "n_labelled": int(len(labelled)),
        }
        if len(labelled):
            theta, low, high = ppi_share(f_u, f_l, y)
            row |= {"ppi_share": theta, "ppi_ci_low": low, "ppi_ci_high": high,
                    "human_share": float(y.mean()), "model_agreement": float(np.mean(f_l == y))}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
