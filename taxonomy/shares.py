"""Shares of categories and modalities with 95% intervals, and prediction-powered estimates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from arenalens.stats import cluster_bootstrap_intervals, ppi_mean, wilson_interval


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
            wilson = wilson_interval(k, n)
            low, high = wilson.low, wilson.high
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
            # machine labels of the unlabelled queries only (all of them when every one is labelled)
            ppi = ppi_mean(f_u, f_l, y, machine_covers_labelled=False)
            row |= {"ppi_share": ppi.rate, "ppi_ci_low": ppi.low, "ppi_ci_high": ppi.high,
                    "human_share": float(y.mean()), "model_agreement": float(np.mean(f_l == y))}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
