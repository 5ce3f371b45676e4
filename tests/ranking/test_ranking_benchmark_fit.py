"""Benchmarks vs preference out of sample: known truth in, honest figures out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from ranking.benchmark_fit import (
    battles_from_votes,
    kendall_tau_b,
    lomo_cross_validation,
    permutation_test,
    select_benchmarks,
)

MODELS = [f"model{k}" for k in range(7)]
STRENGTH = np.array([-0.9, -0.5, -0.2, 0.0, 0.3, 0.6, 0.8])


def _votes(n: int, rng: np.random.Generator) -> pd.DataFrame:
    a = rng.integers(0, 7, n)
    b = (a + rng.integers(1, 7, n)) % 7
    win = rng.random(n) < expit(STRENGTH[a] - STRENGTH[b])
    return pd.DataFrame(
        {
            "model_a": np.array(MODELS)[a],
            "model_b": np.array(MODELS)[b],
            "winner": np.where(win, "model_a", "model_b"),
        }
    )


def _benchmarks(rng: np.random.Generator) -> pd.DataFrame:
    """`tracks` follows the true strength; the others are noise."""
    return pd.DataFrame(
        {
            "tracks": 50 + 20 * STRENGTH + rng.normal(0, 1.0, 7),
            "noise1": rng.normal(50, 10, 7),
            "noise2": rng.normal(50, 10, 7),
            "noise3": rng.normal(50, 10, 7),
        },
        index=MODELS,
    )


def test_a_benchmark_that_tracks_strength_predicts_held_out_models() -> None:
    rng = np.random.default_rng(0)
    votes, matrix = _votes(6_000, rng), _benchmarks(rng)
    battles = battles_from_votes(votes, MODELS)
    good = lomo_cross_validation(battles, matrix[["tracks"]].to_numpy(), ["tracks"], STRENGTH)
    noise = lomo_cross_validation(battles, matrix[["noise1"]].to_numpy(), ["noise1"], STRENGTH)
    assert good.r2_strength > 0.8 and good.log_loss < good.log_loss_null
    assert noise.r2_strength < 0.3 and noise.log_loss > good.log_loss


def test_permutation_test_separates_signal_from_shuffled_labels() -> None:
    rng = np.random.default_rng(1)
    votes, matrix = _votes(6_000, rng), _benchmarks(rng)
    battles = battles_from_votes(votes, MODELS)
    z = ((matrix - matrix.mean()) / matrix.std(ddof=0)).to_numpy()
    signal = permutation_test(battles, z[:, :1])
    assert signal["kind"] == "all" and signal["permutations"] == 5040
    assert signal["p_value"] < 0.01
    assert permutation_test(battles, z[:, 1:2])["p_value"] > 0.01


def test_selection_picks_the_benchmark_that_tracks_strength() -> None:
    rng = np.random.default_rng(2)
    votes, matrix = _votes(6_000, rng), _benchmarks(rng)
    result = select_benchmarks(battles_from_votes(votes, MODELS), matrix, STRENGTH, max_size=2)
    assert result["selected"] == ["tracks"]
    assert result["subsets_evaluated"] == 4 + 6
    assert "optimistic" in result["caveat"]


def test_ties_kept_count_half_a_win_each_way() -> None:
    votes = pd.DataFrame(
        {"model_a": ["x", "x"], "model_b": ["y", "y"], "winner": ["tie", "model_a"]}
    )
    battles = battles_from_votes(votes, ["x", "y"], keep_ties=True)
    assert sorted(zip(battles.y.tolist(), battles.n.tolist(), strict=True)) == [
        (0.0, 1.0),
        (1.0, 2.0),
    ]
    assert battles_from_votes(votes, ["x", "y"]).n.sum() == 1


def test_vectorised_kendall_tau_b_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(3)
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 4.0])
    ys = rng.integers(0, 4, (20, 6)).astype(float)
    expected = [stats.kendalltau(x, y)[0] for y in ys]
    np.testing.assert_allclose(kendall_tau_b(x, ys), expected, equal_nan=True)
    assert kendall_tau_b(x, x[None])[0] == pytest.approx(1.0)
