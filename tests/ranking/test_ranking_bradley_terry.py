"""Bradley–Terry fitting: recovery, scale, ties, degenerate data, sandwich, batched solver."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_sim import simulate_votes
from scipy.special import expit

from ranking.bootstrap import bootstrap_bradley_terry, resample_pair_counts
from ranking.bradley_terry import (
    ELO_SCALE,
    aggregate_votes,
    fit_bradley_terry,
    needs_global_prior,
    newton_pairs,
    rank_from_intervals,
    to_ratings,
    win_probability,
    winner_scores,
)
from ranking.errors import DisconnectedComparisonError, RankingError
from ranking.leaderboard import RankingOptions, rank_votes

TRUE_THETA = np.array([-0.9, -0.3, 0.0, 0.2, 0.4, 0.6])


def test_aggregation_merges_both_orientations_of_a_pair() -> None:
    pc = aggregate_votes(["x", "y", "x", "y"], ["y", "x", "y", "x"], np.array([1.0, 1.0, 0.5, 0.0]))
    assert pc.models == ("x", "y")
    assert pc.counts.tolist() == [[2.0, 1.0, 1.0]]  # x wins twice (once as B), one tie, y wins once
    assert pc.votes_per_model().tolist() == [4.0, 4.0]
    assert pc.scores_per_model().tolist() == [2.5, 1.5]


def test_winner_scores_reject_unknown_winner() -> None:
    assert winner_scores(["model_a", "tie", "model_b"]).tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(RankingError, match="winner 'draw'"):
        winner_scores(["model_a", "draw"])


def test_simulated_votes_recover_known_strengths() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 40_000, np.random.default_rng(1))
    fit = fit_bradley_terry(aggregate_votes(a, b, score))
    se = np.sqrt(np.diag(fit.cov_model))
    truth = TRUE_THETA - TRUE_THETA.mean()
    assert np.all(np.abs(fit.theta - truth) < 4 * se)
    assert fit.converged and not fit.flags


def test_davidson_recovers_strengths_and_tie_parameter() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 40_000, np.random.default_rng(2), nu=0.8)
    fit = fit_bradley_terry(aggregate_votes(a, b, score), ties="davidson")
    se = np.sqrt(np.diag(fit.cov_model))
    assert np.all(np.abs(fit.theta - (TRUE_THETA - TRUE_THETA.mean())) < 4 * se)
    assert fit.tie_parameter == pytest.approx(0.8, abs=0.05)


def test_davidson_without_ties_falls_back_to_plain_model() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 3_000, np.random.default_rng(3))
    pc = aggregate_votes(a, b, score)
    fit = fit_bradley_terry(pc, ties="davidson")
    assert fit.ties == "half"
    assert any("no ties" in w for w in fit.warnings)
    np.testing.assert_allclose(fit.theta, fit_bradley_terry(pc).theta)


def test_ratings_follow_the_elo_like_formula() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 5_000, np.random.default_rng(4))
    fit = fit_bradley_terry(aggregate_votes(a, b, score))
    ratings = to_ratings(fit.theta)
    assert ratings.mean() == pytest.approx(1000.0)
    # P(A beats B) = 1 / (1 + 10^((R_B - R_A)/400)) equals the model's logistic probability
    np.testing.assert_allclose(
        win_probability(ratings[0], ratings[5]), expit(fit.theta[0] - fit.theta[5])
    )
    anchored = to_ratings(fit.theta, anchor=(2, 1200.0))
    assert anchored[2] == 1200.0
    np.testing.assert_allclose(anchored - anchored[2], ratings - ratings[2])
    assert ELO_SCALE == pytest.approx(173.7178, abs=1e-4)


def test_rank_counts_models_whose_lower_bound_beats_my_upper_bound() -> None:
    low = np.array([1100.0, 1050.0, 900.0, 800.0])
    high = np.array([1200.0, 1150.0, 1080.0, 950.0])
    # model 2's upper 1080 < model 0's lower 1100 -> rank 2; model 3 is beaten by 0, 1 (not 2)
    assert rank_from_intervals(low, high).tolist() == [1, 1, 2, 3]


def test_model_that_never_lost_is_flagged_and_finite() -> None:
    a, b, score = simulate_votes(TRUE_THETA[:4], 2_000, np.random.default_rng(5))
    a = np.concatenate([a, ["champ"] * 5])
    b = np.concatenate([b, ["m0", "m1", "m2", "m3", "m0"]])
    score = np.concatenate([score, np.ones(5)])
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=200))
    champ = next(r for r in board.ratings if r.model == "champ")
    assert champ.flag == "never lost"
    assert np.isfinite([champ.rating, champ.ci_low, champ.ci_high]).all()
    assert champ.rating < 1000 + 4 * ELO_SCALE  # the prior keeps it within a few hundred points
    assert any("never lost" in w for w in board.warnings)


def test_model_that_never_won_is_flagged() -> None:
    board = rank_votes(
        ["a", "a", "b", "c", "c"], ["b", "c", "c", "loser", "loser"], np.array([1, 0, 1, 1, 1.0])
    )
    loser = next(r for r in board.ratings if r.model == "loser")
    assert loser.flag == "never won" and np.isfinite(loser.rating)
    assert loser.rank == max(r.rank for r in board.ratings)


def test_group_that_beat_everyone_else_gets_the_global_prior() -> None:
    # {a, b} beat {c, d} every time; inside each group results are mixed: no model is degenerate
    a = ["a", "b", "a", "b", "c", "d", "a", "b"]
    b = ["b", "a", "c", "d", "d", "c", "d", "c"]
    score = np.array([1, 1, 1, 1, 1, 1, 1, 1.0])
    pc = aggregate_votes(a, b, score)
    assert needs_global_prior(pc, np.zeros(pc.n_models, bool))
    fit = fit_bradley_terry(pc)
    assert fit.prior_mask.all() and fit.converged
    assert np.all(np.abs(fit.theta) < 5)


def test_disconnected_comparison_graph_is_an_error_by_default() -> None:
    a, b, score = ["a", "b", "c", "d"], ["b", "a", "d", "c"], np.array([1.0, 1.0, 1.0, 0.5])
    with pytest.raises(
        DisconnectedComparisonError, match=r"2 disconnected groups .*\{a, b\}; \{c, d\}"
    ):
        rank_votes(a, b, score, RankingOptions(bootstrap_rounds=10))


def test_disconnected_groups_can_be_rated_separately_with_a_warning() -> None:
    a, b, score = ["a", "b", "c", "d"], ["b", "a", "d", "c"], np.array([1.0, 0.0, 1.0, 0.5])
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=10, per_component=True))
    assert {r.component for r in board.ratings} == {0, 1}
    assert any("disconnected" in w for w in board.warnings)
    for comp in (0, 1):
        group = [r.rating for r in board.ratings if r.component == comp]
        assert np.mean(group) == pytest.approx(1000.0)


def test_models_below_min_votes_are_excluded_and_reported() -> None:
    a, b, score = simulate_votes(TRUE_THETA[:3], 300, np.random.default_rng(6))
    a, b = np.append(a, "rare"), np.append(b, "m0")
    board = rank_votes(a, b, np.append(score, 1.0), RankingOptions(bootstrap_rounds=0, min_votes=2))
    assert "rare" not in {r.model for r in board.ratings}
    assert board.excluded == {"rare": 1}
    assert board.n_votes == 300


def test_unknown_anchor_model_is_refused() -> None:
    with pytest.raises(RankingError, match="--anchor model 'nobody'"):
        rank_votes(
            ["a", "b"], ["b", "a"], np.array([1.0, 1.0]), RankingOptions(anchor=("nobody", 1.0))
        )


def test_sandwich_agrees_with_model_based_errors_when_the_model_is_right() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 20_000, np.random.default_rng(7))
    fit = fit_bradley_terry(aggregate_votes(a, b, score))
    np.testing.assert_allclose(np.diag(fit.cov_sandwich), np.diag(fit.cov_model), rtol=0.1)


def test_sandwich_is_wider_than_model_based_when_ties_are_overdispersed() -> None:
    # Half-win ties carry less variance than a coin flip; many ties shrink the robust errors.
    a, b, score = simulate_votes(TRUE_THETA, 20_000, np.random.default_rng(8), nu=2.0)
    fit = fit_bradley_terry(aggregate_votes(a, b, score))
    assert np.all(np.diag(fit.cov_sandwich) < np.diag(fit.cov_model))


@pytest.mark.parametrize("ties", ["half", "davidson"])
def test_batched_bootstrap_rounds_equal_separate_fits(ties: str) -> None:
    a, b, score = simulate_votes(TRUE_THETA, 3_000, np.random.default_rng(9), nu=0.5)
    pc = aggregate_votes(a, b, score)
    fit = fit_bradley_terry(pc, ties=ties)
    boot = bootstrap_bradley_terry(fit, rounds=5, seed=11)
    counts = resample_pair_counts(pc, 5, np.random.default_rng(11))
    for r in range(5):
        single = newton_pairs(pc, counts[r : r + 1], ties=ties)
        np.testing.assert_allclose(
            boot.theta[r], single.theta[0] - single.theta[0].mean(), atol=1e-7
        )


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 1_000, np.random.default_rng(10))
    fit = fit_bradley_terry(aggregate_votes(a, b, score))
    first = bootstrap_bradley_terry(fit, 50, seed=3).theta
    np.testing.assert_array_equal(first, bootstrap_bradley_terry(fit, 50, seed=3).theta)
    assert not np.array_equal(first, bootstrap_bradley_terry(fit, 50, seed=4).theta)


def test_win_rate_matrix_matches_ratings_and_flags_clear_differences() -> None:
    a, b, score = simulate_votes(TRUE_THETA, 6_000, np.random.default_rng(12))
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=300))
    matrix = board.win_rates[0]
    ratings = {r.model: r.rating for r in board.ratings}
    i, j = matrix.models.index("m5"), matrix.models.index("m0")
    assert matrix.predicted[i, j] == pytest.approx(win_probability(ratings["m5"], ratings["m0"]))
    assert matrix.predicted[i, j] + matrix.predicted[j, i] == pytest.approx(1.0)
    assert matrix.significant[i, j] and matrix.ci_low[i, j] > 0.5
    k = matrix.models.index("m2")
    assert not matrix.significant[k, k]  # diagonal is 0.5 exactly
    assert matrix.battles[i, j] > 0 and 0 <= matrix.observed[i, j] <= 1


def test_length_control_separates_length_bias_from_strength() -> None:
    rng = np.random.default_rng(13)
    m, n = 4, 8_000
    theta = np.array([-0.4, 0.0, 0.1, 0.3])
    ia = rng.integers(0, m, n)
    ib = (ia + rng.integers(1, m, n)) % m
    # model 0 writes long answers; people here like long answers (beta = 0.8 per SD)
    length_a = rng.normal(300, 50, n) + 400 * (ia == 0)
    length_b = rng.normal(300, 50, n) + 400 * (ib == 0)
    x = (length_a - length_b) / (length_a + length_b)
    z = (x - x.mean()) / x.std()
    score = (rng.random(n) < expit(theta[ia] - theta[ib] + 0.8 * z)).astype(float)
    names = np.array(["m0", "m1", "m2", "m3"], dtype=object)
    opts = RankingOptions(bootstrap_rounds=100)
    board = rank_votes(names[ia], names[ib], score, opts, length_a=length_a, length_b=length_b)
    (coefficient,) = board.coefficients
    assert coefficient["covariate"] == "response_length"
    assert coefficient["coefficient"] == pytest.approx(0.8, abs=0.1)
    assert coefficient["ci_low"] < 0.8 < coefficient["ci_high"]
    controlled = {r.model: r.rating for r in board.controlled.ratings}
    plain = {r.model: r.rating for r in board.ratings}  # the raw board sits beside it
    truth_m0 = 1000 + ELO_SCALE * (theta[0] - theta.mean())
    assert abs(controlled["m0"] - truth_m0) < 30 < abs(plain["m0"] - truth_m0)


def test_length_control_refuses_tiny_samples() -> None:
    a, b, score = simulate_votes(TRUE_THETA[:3], 30, np.random.default_rng(14))
    with pytest.raises(RankingError, match="only 30 of 30 votes .* needs at least 50"):
        rank_votes(a, b, score, length_a=np.ones(30), length_b=np.ones(30))


def test_small_sample_bootstrap_stays_finite_when_resamples_degenerate() -> None:
    # 25 votes among 5 models: many resamples have a model or group that never lost
    a, b, score = simulate_votes(
        np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), 25, np.random.default_rng(15)
    )
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=500))
    assert all(abs(r.ci_high - r.ci_low) < 2000 for r in board.ratings)
    assert any("bootstrap rounds had a model that never lost" in w for w in board.warnings)


def test_davidson_bootstrap_converges_when_resamples_lose_every_tie() -> None:
    a, b, score = simulate_votes(TRUE_THETA[:3], 200, np.random.default_rng(16))
    score[0] = 0.5  # one tie: most resamples of it have none
    score[1:][score[1:] == 0.5] = 1.0
    fit = fit_bradley_terry(aggregate_votes(a, b, score), ties="davidson")
    boot = bootstrap_bradley_terry(fit, rounds=200, seed=0)
    assert boot.rounds_not_converged == 0
    assert np.isfinite(boot.theta).all()


def test_votes_of_a_model_against_itself_are_left_out_with_a_warning() -> None:
    board = rank_votes(
        ["a", "a", "b", "a"],
        ["b", "a", "a", "b"],
        np.array([1.0, 0.5, 1.0, 0.5]),
        RankingOptions(bootstrap_rounds=0),
    )
    assert board.n_votes == 3
    assert "left out 1 votes comparing a model with itself" in board.warnings


def test_length_control_keeps_lengths_aligned_after_filtering() -> None:
    rng = np.random.default_rng(17)
    a, b, score = simulate_votes(TRUE_THETA[:3], 400, rng)
    length_a, length_b = rng.normal(300, 30, 400), rng.normal(300, 30, 400)
    # prepend a self-vote and a rare model's vote: both are dropped before fitting
    a2, b2 = np.concatenate([["m0", "rare"], a]), np.concatenate([["m0", "m1"], b])
    s2 = np.concatenate([[0.5, 1.0], score])
    la2, lb2 = np.concatenate([[1e6, 1e6], length_a]), np.concatenate([[1.0, 1.0], length_b])
    opts = RankingOptions(bootstrap_rounds=0, min_votes=2)
    filtered = rank_votes(a2, b2, s2, opts, length_a=la2, length_b=lb2)
    clean = rank_votes(a, b, score, opts, length_a=length_a, length_b=length_b)
    assert filtered.coefficients[0]["coefficient"] == pytest.approx(
        clean.coefficients[0]["coefficient"]
    )
    assert [r.rating for r in filtered.controlled.ratings] == pytest.approx(
        [r.rating for r in clean.controlled.ratings]
    )
