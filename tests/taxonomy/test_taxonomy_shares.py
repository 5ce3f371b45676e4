"""Shares with 95% intervals and the prediction-powered (PPI) bias correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxonomy.shares import ppi_share_table, share_table


def test_share_table_counts_and_intervals():
    table = share_table(["a"] * 60 + ["b"] * 40).set_index("label")
    assert table.loc["a", "count"] == 60 and table.loc["a", "share"] == pytest.approx(0.6)
    assert table.loc["a", "ci_low"] < 0.6 < table.loc["a", "ci_high"]
    assert (table["method"] == "wilson").all()


def test_queries_without_a_user_each_count_as_their_own_group():
    # pandas reads a missing user id as NaN: those must not be pooled into one "nan" user
    values = ["a"] * 30 + ["b"] * 30
    users = [np.nan] * 60
    table = share_table(values, users)
    assert (table["method"] == "wilson").all()
    mixed = share_table(values, ["u1", "u1"] + [np.nan] * 58)
    assert mixed["method"].iloc[0].startswith("cluster bootstrap")
    lone = share_table(values, ["u1", "u1"] + [None] * 58).set_index("label")
    assert mixed.set_index("label").loc["a", "ci_low"] == pytest.approx(lone.loc["a", "ci_low"])


def test_user_clustered_shares_use_a_wider_bootstrap_interval():
    rng = np.random.default_rng(0)
    # 50 users who each always ask the same kind of thing, 20 queries each
    kinds = rng.choice(["a", "b"], size=50)
    values = np.repeat(kinds, 20)
    users = np.repeat(np.arange(50), 20)
    clustered = share_table(values, users).set_index("label")
    naive = share_table(values).set_index("label")
    assert clustered.loc["a", "method"].startswith("cluster bootstrap")
    width = clustered.loc["a", "ci_high"] - clustered.loc["a", "ci_low"]
    assert width > 2 * (naive.loc["a", "ci_high"] - naive.loc["a", "ci_low"])


def test_ppi_table_reports_raw_and_corrected_shares_side_by_side():
    predicted = pd.Series(["a"] * 80 + ["b"] * 20, index=[f"q{i}" for i in range(100)])
    # humans call all of q75..q84 "b"; the model said "a" for q75..q79: it under-counts "b"
    human = pd.Series(["b"] * 10, index=[f"q{i}" for i in range(75, 85)])
    table = ppi_share_table(predicted, human).set_index("label")
    assert table.loc["a", "raw_share"] == pytest.approx(0.8)
    assert table.loc["b", "ppi_share"] == pytest.approx(15 / 90 + 0.5)
    assert table.loc["b", "ppi_share"] > table.loc["b", "raw_share"]
    assert table.loc["b", "model_agreement"] == pytest.approx(0.5)
    assert table.loc["a", "n_labelled"] == 10


def _bootstrap_one_label(hit: np.ndarray, users: np.ndarray, n_boot: int, seed: int) -> tuple:
    """Reference: resample users with replacement, share of `hit` among their queries, percentiles."""
    rng = np.random.default_rng(seed)
    codes, inverse = np.unique(users, return_inverse=True)
    hits = np.bincount(inverse, weights=hit.astype(float), minlength=len(codes))
    sizes = np.bincount(inverse, minlength=len(codes)).astype(float)
    draws = rng.integers(0, len(codes), size=(n_boot, len(codes)))
    shares = hits[draws].sum(axis=1) / np.maximum(sizes[draws].sum(axis=1), 1)
    return tuple(np.quantile(shares, [0.025, 0.975]))


@pytest.mark.parametrize("n_boot", [1000, 37])
def test_bootstrap_intervals_of_all_labels_equal_the_one_label_bootstrap(n_boot):
    rng = np.random.default_rng(5)
    values = rng.choice(["a", "b", "c", "d"], size=900, p=[0.5, 0.3, 0.15, 0.05])
    users = np.array([f"u{k}" for k in rng.integers(0, 120, size=900)], dtype=object)
    table = share_table(values, users, n_boot=n_boot, random_state=7).set_index("label")
    for label in "abcd":
        low, high = _bootstrap_one_label(values == label, users, n_boot, 7)
        assert (table.loc[label, "ci_low"], table.loc[label, "ci_high"]) == (low, high)
        assert table.loc[label, "count"] == int((values == label).sum())
