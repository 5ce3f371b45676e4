"""Votes are not independent: one person casts many. User-clustered intervals say so."""

from __future__ import annotations

import numpy as np
import pytest
from ranking_sim import population_strengths, simulate_user_votes, simulate_votes

from arenalens.stats import percentile_interval
from ranking.bootstrap import bootstrap_bradley_terry
from ranking.bradley_terry import (
    aggregate_votes,
    cluster_cell_matrix,
    fit_bradley_terry,
    model_codes,
    to_ratings,
)
from ranking.leaderboard import RankingOptions, cluster_codes, rank_votes

THETA = np.array([-0.6, -0.3, 0.0, 0.1, 0.3, 0.5])
TASTE_SD, SIDE_SD = 0.8, 1.0  # per-user taste for each model, per-user preference for side A


def _clusters(a, b, score, users):
    pc = aggregate_votes(a, b, score)
    ia, ib = model_codes(a, pc.models), model_codes(b, pc.models)
    return pc, cluster_cell_matrix(pc, ia, ib, score, cluster_codes(users))


def test_cluster_matrix_adds_up_to_the_pair_counts() -> None:
    a, b, score, users = simulate_user_votes(THETA, 40, 20, np.random.default_rng(0))
    pc, clusters = _clusters(a, b, score, users)
    assert clusters.shape[0] == 40
    np.testing.assert_allclose(np.asarray(clusters.sum(axis=0)).ravel(), pc.counts.ravel())
    assert np.asarray(clusters.sum(axis=1)).ravel().tolist() == [20.0] * 40


def test_one_vote_per_user_gives_the_vote_level_sandwich() -> None:
    a, b, score = simulate_votes(THETA, 3_000, np.random.default_rng(1))
    users = np.arange(3_000).astype(str).astype(object)
    pc, clusters = _clusters(a, b, score, users)
    plain, clustered = fit_bradley_terry(pc), fit_bradley_terry(pc, clusters=clusters)
    # identical up to the G/(G-1) small-sample factor
    np.testing.assert_allclose(clustered.cov_sandwich, plain.cov_sandwich * 3000 / 2999, rtol=1e-9)


def test_votes_without_user_ids_are_their_own_clusters() -> None:
    codes = cluster_codes(np.array(["u1", None, "u1", np.nan, "u2"], dtype=object))
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 4


def test_leaderboard_says_it_resampled_users_and_how_much_wider_that_is() -> None:
    a, b, score, users = simulate_user_votes(THETA, 60, 25, np.random.default_rng(2))
    opts = RankingOptions(bootstrap_rounds=300)
    clustered = rank_votes(a, b, score, opts, users=users)
    plain = rank_votes(
        a, b, score, RankingOptions(bootstrap_rounds=300, cluster="none"), users=users
    )
    assert (
        clustered.ci_method.startswith("user-clustered bootstrap")
        and "60 users" in clustered.ci_method
    )
    assert clustered.clustering["unit"] == "user" and clustered.clustering["clusters"] == 60
    assert clustered.clustering["width_ratio"] > 1.2  # users' biases make votes move together
    width = lambda board: np.mean([r.ci_high - r.ci_low for r in board.ratings])  # noqa: E731
    assert width(clustered) > 1.2 * width(plain)
    assert (
        plain.clustering["unit"] == "vote"
        and "turned off with --cluster none" in plain.clustering["reason"]
    )
    assert [r.rating for r in clustered.ratings] == pytest.approx([r.rating for r in plain.ratings])


def test_cluster_user_without_user_ids_is_refused() -> None:
    a, b, score = simulate_votes(THETA, 200, np.random.default_rng(3))
    from ranking.errors import RankingError

    with pytest.raises(RankingError, match="--cluster user: these votes carry no user ids"):
        rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0, cluster="user"))


@pytest.mark.slow
def test_user_clustered_ci_covers_truth_where_vote_level_under_covers() -> None:
    """200 simulated arenas of 100 users x 25 votes with per-user tastes and side preferences."""
    truth = to_ratings(population_strengths(THETA, TASTE_SD, SIDE_SD))
    rng = np.random.default_rng(2025)
    hits = {"vote bootstrap": 0, "user bootstrap": 0, "vote sandwich": 0, "user sandwich": 0}
    total = 0
    for sim in range(200):
        a, b, score, users = simulate_user_votes(THETA, 100, 25, rng, TASTE_SD, SIDE_SD)
        pc, clusters = _clusters(a, b, score, users)
        order = [pc.models.index(f"m{k}") for k in range(len(THETA))]
        plain = fit_bradley_terry(pc)
        clustered = fit_bradley_terry(pc, clusters=clusters)
        ratings = to_ratings(plain.theta)[order]
        for name, fit, groups in (("vote", plain, None), ("user", clustered, clusters)):
            boot = bootstrap_bradley_terry(fit, 500, seed=sim, clusters=groups)
            low, high = percentile_interval(to_ratings(boot.theta))
            hits[f"{name} bootstrap"] += int(((low[order] <= truth) & (truth <= high[order])).sum())
            half = 1.96 * 400 / np.log(10) * np.sqrt(np.diag(fit.cov_sandwich))[order]
            hits[f"{name} sandwich"] += int((np.abs(ratings - truth) <= half).sum())
        total += len(THETA)
    coverage = {k: v / total for k, v in hits.items()}
    print(coverage)  # the figures in benchmarks/README.md
    assert coverage["vote bootstrap"] < 0.90 and coverage["vote sandwich"] < 0.90, coverage
    assert 0.93 <= coverage["user bootstrap"] <= 0.97, coverage
    assert 0.93 <= coverage["user sandwich"] <= 0.97, coverage
