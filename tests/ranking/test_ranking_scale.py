"""Ranking hundreds to thousands of models: the sparse solver, the one-step bootstrap, bounded
outputs and messages (issue 21, section 4)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.special import expit

import ranking.bradley_terry as bt
from ranking.bootstrap import bootstrap_bradley_terry, one_step_bootstrap
from ranking.errors import DisconnectedComparisonError
from ranking.leaderboard import WIN_RATE_MAX_MODELS, RankingOptions, rank_votes


def arena(models: int, votes: int, seed: int, ties: float = 0.1, users: int = 0):
    """A ring over all models plus random pairs; returns names A, B, scores, users, truth."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.6, models)
    ring = np.arange(models)
    rest = votes - models
    a = np.concatenate([ring, rng.integers(0, models, rest)])
    b = np.concatenate([(ring + 1) % models, (a[models:] + rng.integers(1, models, rest)) % models])
    tie = rng.random(votes) < ties
    score = np.where(tie, 0.5, (rng.random(votes) < expit(theta[a] - theta[b])).astype(float))
    names = np.array([f"model-{k:05d}" for k in range(models)], dtype=object)
    who = rng.integers(0, users, votes).astype(str).astype(object) if users else None
    return names[a], names[b], score, who, theta


@pytest.mark.parametrize(
    ("models", "votes", "ties"),
    [
        (6, 60, "half"),
        (12, 90, "half"),
        (25, 3000, "half"),
        (15, 2000, "davidson"),
        (8, 50, "davidson"),
    ],
)
def test_sparse_solver_gives_the_dense_solvers_ratings(models: int, votes: int, ties: str) -> None:
    a, b, score, _, _ = arena(models, votes, seed=models)
    pc = bt.aggregate_votes(a, b, score)
    dense = bt.fit_bradley_terry(pc, ties)  # few models: the batched dense solver
    sparse = bt.newton_sparse(
        pc, pc.counts[None], ties=dense.ties, prior_mask=dense.prior_mask[None]
    )
    assert sparse.converged.all()
    gap = np.abs(bt.to_ratings(sparse.theta[0]) - bt.to_ratings(dense.theta)).max()
    assert gap < 1e-6
    if dense.log_nu is not None:
        assert abs(sparse.log_nu[0] - dense.log_nu) < 1e-8


def test_sparse_solver_keeps_degenerate_models_finite_like_the_dense_one() -> None:
    a = np.array(["a", "a", "b", "c", "c", "d"] * 5, dtype=object)
    b = np.array(["b", "c", "c", "d", "a", "b"] * 5, dtype=object)
    score = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.5] * 5)
    pc = bt.aggregate_votes(a, b, score)
    dense = bt.fit_bradley_terry(pc)
    assert dense.flags  # a never lost
    sparse = bt.newton_sparse(pc, pc.counts[None], prior_mask=dense.prior_mask[None])
    assert np.abs(sparse.theta[0] - dense.theta).max() < 1e-8


def test_above_the_covariance_limit_ratings_match_and_errors_come_from_draws(monkeypatch) -> None:
    a, b, score, users, _ = arena(240, 30_000, seed=3, users=300)
    options = RankingOptions(bootstrap_rounds=0, fragility=False)
    exact = rank_votes(a, b, score, options, users=users)  # dense fit, covariance matrices
    monkeypatch.setattr(bt, "EXACT_COVARIANCE_MAX_MODELS", 200)
    drawn = rank_votes(a, b, score, options, users=users)  # sparse fit, no covariance matrix
    assert "score draws" in drawn.ci_method and "score draws" not in exact.ci_method
    assert drawn.clustering["width_ratio"] is None and exact.clustering["width_ratio"] > 0
    by_model = {r.model: r for r in exact.ratings}
    assert max(abs(r.rating - by_model[r.model].rating) for r in drawn.ratings) < 1e-6
    width = np.mean([r.sandwich_high - r.sandwich_low for r in drawn.ratings])
    exact_width = np.mean([r.sandwich_high - r.sandwich_low for r in exact.ratings])
    assert abs(width / exact_width - 1) < 0.1


def test_aggregation_without_a_square_count_table_is_identical(monkeypatch) -> None:
    a, b, score, users, _ = arena(30, 4000, seed=5, users=50)
    pc = bt.aggregate_votes(a, b, score)
    models, ia, ib = bt.encode_models(a, b)
    codes = np.unique(users, return_inverse=True)[1]
    clusters = bt.cluster_cell_matrix(pc, ia, ib, score, codes)
    monkeypatch.setattr(bt, "BINCOUNT_MAX_CELLS", 0)
    again = bt.aggregate_votes(a, b, score)
    assert np.array_equal(pc.pair_i, again.pair_i) and np.array_equal(pc.pair_j, again.pair_j)
    assert np.array_equal(pc.counts, again.counts)
    assert (bt.cluster_cell_matrix(again, ia, ib, score, codes) != clusters).nnz == 0


def test_ranks_by_sorting_equal_the_pairwise_count() -> None:
    rng = np.random.default_rng(0)
    low = rng.normal(0, 10, 300)
    high = low + rng.uniform(0, 30, 300)
    low[::37] = np.nan
    pairwise = 1 + (low[None, :] > high[:, None]).sum(axis=1)
    assert np.array_equal(bt.rank_from_intervals(low, high), pairwise)


@pytest.mark.parametrize("with_users", [False, True])
def test_one_step_bootstrap_intervals_agree_with_full_refits(with_users: bool) -> None:
    a, b, score, users, _ = arena(40, 40_000, seed=7, users=400 if with_users else 0)
    models, ia, ib = bt.encode_models(a, b)
    pc = bt.aggregate_codes(ia, ib, score, models)
    clusters = None
    if with_users:
        codes = np.unique(users, return_inverse=True)[1]
        clusters = bt.cluster_cell_matrix(pc, ia, ib, score, codes)
    fit = bt.fit_bradley_terry(pc, clusters=clusters)
    full = bootstrap_bradley_terry(fit, 400, seed=1, clusters=clusters).theta
    step = one_step_bootstrap(fit, 400, seed=2, clusters=clusters).theta
    width_full = np.subtract(*np.percentile(bt.to_ratings(full), [97.5, 2.5], axis=0))
    width_step = np.subtract(*np.percentile(bt.to_ratings(step), [97.5, 2.5], axis=0))
    # same spread (up to the Monte Carlo error of 400 rounds), centred on the fit
    assert abs(width_step.mean() / width_full.mean() - 1) < 0.08
    centre = bt.to_ratings(step).mean(axis=0) - bt.to_ratings(fit.theta)
    assert np.abs(centre).max() < 0.25 * width_step.mean()
    sandwich = bt.ELO_SCALE * np.sqrt(np.diag(fit.cov_sandwich))
    assert abs(bt.to_ratings(step).std(axis=0).mean() / sandwich.mean() - 1) < 0.08


@pytest.mark.slow
def test_one_step_bootstrap_covers_the_true_ratings() -> None:
    """200 models, 15 arenas: pooled over models, the 95% intervals cover the truth ~95%."""
    covered, total = 0, 0
    for seed in range(15):
        a, b, score, _, theta = arena(200, 20_000, seed=100 + seed, ties=0.0)
        models, ia, ib = bt.encode_models(a, b)
        pc = bt.aggregate_codes(ia, ib, score, models)
        fit = bt.fit_bradley_terry(pc)
        draws = bt.to_ratings(one_step_bootstrap(fit, 300, seed=seed).theta)
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        truth = bt.to_ratings(theta[[int(m[-5:]) for m in models]])
        covered += int(((low <= truth) & (truth <= high)).sum())
        total += len(truth)
    assert 0.92 <= covered / total <= 0.975


def test_disconnected_error_names_at_most_20_models_and_counts_the_rest() -> None:
    names = [f"some-fairly-long-model-name-{k:05d}" for k in range(2000)]
    a = np.array(names[0::2], dtype=object)  # 1,000 separate pairs
    b = np.array(names[1::2], dtype=object)
    with pytest.raises(DisconnectedComparisonError) as caught:
        rank_votes(a, b, np.ones(len(a)), RankingOptions(bootstrap_rounds=0, fragility=False))
    message = str(caught.value)
    assert sum(name in message for name in names) <= 20
    assert "1000 disconnected groups" in message
    assert "990 more groups of 1980 models" in message
    assert len(message) < 2000


def test_many_models_leave_out_win_rates_and_bound_fragility_with_a_message() -> None:
    a, b, score, users, _ = arena(WIN_RATE_MAX_MODELS + 100, 40_000, seed=9, users=2000)
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=200), users=users)
    assert not board.win_rates
    assert any("pairwise win rates are left out" in w for w in board.warnings)
    assert len(board.fragility) <= 1 + 4  # the leader, then adjacent pairs among the top 5
    assert "one-step bootstrap" in board.ci_method
    ratings = np.array([r.rating for r in board.ratings])
    assert np.isfinite(ratings).all() and sorted(r.rank for r in board.ratings)[0] == 1
    assert all(r.ci_low <= r.rating <= r.ci_high for r in board.ratings)


@pytest.mark.slow
def test_a_2000_model_ring_ranks_in_bounded_time() -> None:
    a, b, score, users, _ = arena(2000, 60_000, seed=11, users=3000)
    started = time.perf_counter()
    board = rank_votes(a, b, score, RankingOptions(), users=users)
    took = time.perf_counter() - started
    assert len(board.ratings) == 2000
    assert took < 120  # minutes before the sparse solver and the one-step bootstrap


def test_the_never_won_warning_names_at_most_20_models() -> None:
    losers = [f"newcomer-{k:02d}" for k in range(30)]
    a = np.array(["hub"] * 30 + ["hub", "hub", "rival"], dtype=object)
    b = np.array(losers + ["rival", "rival", "hub"], dtype=object)
    score = np.array([1.0] * 30 + [1.0, 0.0, 1.0])
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0, fragility=False))
    note = next(w for w in board.warnings if "no finite maximum-likelihood rating" in w)
    assert sum(name in note for name in losers) == 20
    assert "and 10 more models" in note
