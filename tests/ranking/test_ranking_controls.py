"""Style and latency control: a contextual Bradley–Terry with per-vote covariates, both tie models."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_sim import simulate_votes
from scipy.special import expit

from ranking.bradley_terry import ELO_SCALE, aggregate_votes, fit_bradley_terry, model_codes
from ranking.covariates import fit_with_covariates, side_difference
from ranking.errors import RankingError
from ranking.leaderboard import RankingOptions, rank_votes

THETA = np.array([-0.4, 0.0, 0.1, 0.3])


def _davidson_votes(eta: np.ndarray, nu: float, rng: np.random.Generator) -> np.ndarray:
    win_a, tie, win_b = np.exp(eta / 2), np.full(len(eta), nu), np.exp(-eta / 2)
    u = rng.random(len(eta)) * (win_a + tie + win_b)
    return np.where(u < win_a, 1.0, np.where(u < win_a + tie, 0.5, 0.0))


def _styled_votes(n: int, rng: np.random.Generator, ties: str, beta: float = 0.7):
    """Model 0 answers slowly; voters punish slow answers (beta per SD of the difference)."""
    m = len(THETA)
    ia = rng.integers(0, m, n)
    ib = (ia + rng.integers(1, m, n)) % m
    ttft_a = rng.gamma(4, 0.3, n) + 2.0 * (ia == 0)
    ttft_b = rng.gamma(4, 0.3, n) + 2.0 * (ib == 0)
    x = side_difference(ttft_a, ttft_b)
    z = (x - x.mean()) / x.std()
    eta = THETA[ia] - THETA[ib] - beta * z
    if ties == "davidson":
        score = _davidson_votes(eta, 0.6, rng)
    else:
        score = (rng.random(n) < expit(eta)).astype(float)
    names = np.array([f"m{k}" for k in range(m)], dtype=object)
    return names[ia], names[ib], score, x


@pytest.mark.parametrize("ties", ["half", "davidson"])
def test_latency_control_recovers_the_coefficient_and_the_slow_models_strength(ties: str) -> None:
    a, b, score, x = _styled_votes(20_000, np.random.default_rng(1), ties)
    board = rank_votes(
        a, b, score, RankingOptions(bootstrap_rounds=100, ties=ties), covariates={"ttft": x}
    )
    (coefficient,) = board.coefficients
    assert coefficient["covariate"] == "ttft"
    assert coefficient["coefficient"] == pytest.approx(-0.7, abs=0.08)
    assert coefficient["significant"] and coefficient["ci_high"] < 0
    truth = 1000 + ELO_SCALE * (THETA - THETA.mean())
    controlled = {r.model: r.rating for r in board.controlled.ratings}
    raw = {r.model: r.rating for r in board.ratings}
    assert abs(controlled["m0"] - truth[0]) < 20
    assert raw["m0"] < truth[0] - 80  # the raw board blames m0's strength for its latency
    if ties == "davidson":
        assert board.controlled.tie_parameter == pytest.approx(0.6, abs=0.1)


def test_davidson_with_a_constant_covariate_is_the_plain_davidson_fit() -> None:
    a, b, score = simulate_votes(THETA, 3_000, np.random.default_rng(2), nu=0.8)
    pc = aggregate_votes(a, b, score)
    plain = fit_bradley_terry(pc, ties="davidson")
    ia, ib = model_codes(a, pc.models), model_codes(b, pc.models)
    point, _ = fit_with_covariates(
        ia, ib, score, pc.n_models, np.zeros((len(a), 1)), plain.prior_mask, ties="davidson"
    )
    np.testing.assert_allclose(point.theta[0], plain.theta, atol=1e-6)
    assert float(point.log_nu[0]) == pytest.approx(plain.log_nu, abs=1e-6)
    np.testing.assert_allclose(point.cov_sandwich[:4, :4], plain.cov_sandwich, rtol=1e-5, atol=1e-9)


def test_votes_missing_a_covariate_are_counted_and_the_rest_is_fitted() -> None:
    a, b, score, x = _styled_votes(2_000, np.random.default_rng(3), "half")
    x[:37] = np.nan
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0), covariates={"ttft": x})
    assert board.controlled.n_votes == 2_000 - 37 and board.n_votes == 2_000
    assert "controlled board: 37 of 2000 votes left out (37 lack ttft); fitted on the rest" in (
        board.warnings
    )


def test_side_difference_is_scale_free_for_positive_values_and_plain_otherwise() -> None:
    assert side_difference(np.array([3.0, 0.0]), np.array([1.0, 0.0])).tolist() == [0.5, 0.0]
    assert side_difference(np.array([-1.0]), np.array([2.0])).tolist() == [-3.0]
    assert np.isnan(side_difference(np.array([np.nan]), np.array([2.0]))).all()


def test_a_control_that_leaves_a_model_without_votes_is_refused() -> None:
    a, b, score, x = _styled_votes(2_000, np.random.default_rng(4), "half")
    x[(a == "m3") | (b == "m3")] = np.nan
    with pytest.raises(RankingError, match="no vote of m3 has every covariate"):
        rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0), covariates={"ttft": x})


def test_per_component_control_leaves_out_a_group_too_small_for_it() -> None:
    a, b, score, x = _styled_votes(2_000, np.random.default_rng(5), "half")
    small_a = np.array(["s1", "s2"] * 20, dtype=object)
    small_b = np.array(["s2", "s1"] * 20, dtype=object)
    board = rank_votes(
        np.concatenate([a, small_a]),
        np.concatenate([b, small_b]),
        np.concatenate([score, np.tile([1.0, 0.0], 20)]),
        RankingOptions(bootstrap_rounds=0, per_component=True),
        covariates={"ttft": np.concatenate([x, np.zeros(40)])},
    )
    assert {r.model for r in board.controlled.ratings} == {"m0", "m1", "m2", "m3"}
    assert board.coefficients[0]["covariate"] == "ttft"
    assert any(w.startswith("controlled board left out {s1, s2}") for w in board.warnings)
