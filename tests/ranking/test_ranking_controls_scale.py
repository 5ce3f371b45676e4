"""The style/latency-controlled board at many models and many votes: a sparse design (no rows x
models matrix), one-step bootstrap rounds that agree with full refits, a clear limit."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from scipy.special import expit

from ranking import covariates
from ranking.covariates import fit_with_covariates, side_difference
from ranking.errors import RankingError
from ranking.leaderboard import RankingOptions, rank_votes


def _arena(models: int, votes: int, seed: int, users: int = 400):
    """Votes with a latency covariate (voters punish slow answers) and per-user tastes."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.5, models)
    ring = np.arange(models)
    ia = np.concatenate([ring, rng.integers(0, models, votes - models)])
    ib = np.concatenate([(ring + 1) % models, (ia[models:] + rng.integers(1, models, votes - models)) % models])  # fmt: skip
    slow = np.arange(models) % 5 == 0
    x = side_difference(rng.gamma(4, 0.3, votes) + 0.5 * slow[ia], rng.gamma(4, 0.3, votes) + 0.5 * slow[ib])  # fmt: skip
    z = (x - x.mean()) / x.std()
    user = rng.integers(0, users, votes)
    taste = rng.normal(0, 0.5, (users, models))
    eta = theta[ia] - theta[ib] - 0.4 * z + taste[user, ia] - taste[user, ib]
    score = (rng.random(votes) < expit(eta)).astype(float)
    names = np.array([f"m{k:04d}" for k in range(models)], dtype=object)
    return names[ia], names[ib], score, x, user.astype(str).astype(object)


def _controlled(a, b, score, x, users, rounds: int = 300):
    board = rank_votes(
        a, b, score, RankingOptions(bootstrap_rounds=rounds, seed=1, fragility=False),
        users=users, covariates={"ttft": x},
    )  # fmt: skip
    widths = np.array([r.ci_high - r.ci_low for r in board.controlled.ratings])
    return board, widths


@pytest.mark.parametrize("by_user", [True, False], ids=["users", "votes in blocks"])
def test_one_step_rounds_give_the_intervals_of_full_refits(
    by_user: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, score, x, users = _arena(20, 12_000, seed=3)
    users = users if by_user else None
    refit, refit_widths = _controlled(a, b, score, x, users)
    monkeypatch.setattr(covariates, "REFIT_MAX_ROWS", 0)  # one Newton step per round
    monkeypatch.setattr(covariates, "VOTE_BLOCKS", 3_000)  # 12,000 votes dealt into blocks
    one_step, one_step_widths = _controlled(a, b, score, x, users)
    assert "one-step" in one_step.controlled.ci_method
    assert "one-step" not in refit.controlled.ci_method
    if not by_user:
        assert "12000 votes in 3000 random blocks" in one_step.controlled.ci_method
    assert np.mean(one_step_widths / refit_widths) == pytest.approx(1.0, abs=0.08)
    for key in ("ci_low", "ci_high"):
        assert one_step.coefficients[0][key] == pytest.approx(refit.coefficients[0][key], abs=0.02)
    # the point fit does not depend on how the rounds are drawn
    assert one_step.coefficients[0]["coefficient"] == refit.coefficients[0]["coefficient"]


def test_the_controlled_board_at_many_models_keeps_the_design_sparse() -> None:
    a, b, score, x, users = _arena(400, 40_000, seed=4, users=2_000)
    tracemalloc.start()
    try:
        board, widths = _controlled(a, b, score, x, users, rounds=200)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a dense rows x (models + 1) design alone would be 40,000 x 401 x 8 bytes = 128 MB
    assert peak < 100e6
    assert "user-clustered one-step bootstrap" in board.controlled.ci_method
    assert len(board.controlled.ratings) == 400 and board.controlled.n_votes == 40_000
    (coefficient,) = board.coefficients
    # users' tastes attenuate the population-average coefficient a little (about 0.92 x -0.4)
    assert coefficient["coefficient"] == pytest.approx(-0.37, abs=0.05)
    assert coefficient["ci_low"] < coefficient["coefficient"] < coefficient["ci_high"] < 0
    raw = {r.model: r.rating for r in board.ratings}
    controlled = {r.model: r.rating for r in board.controlled.ratings}
    models = sorted(raw)
    r = np.corrcoef([raw[k] for k in models], [controlled[k] for k in models])[0, 1]
    assert r > 0.95 and np.isfinite(widths).all() and (widths > 0).all()


def test_a_controlled_board_beyond_the_model_limit_says_so() -> None:
    with pytest.raises(RankingError, match=r"--control: 2,001 models; .* up to 2,000 models"):
        fit_with_covariates(
            np.array([0, 1]), np.array([1, 2]), np.array([1.0, 0.0]), 2001,
            np.zeros((2, 1)), np.zeros(2001, bool),
        )  # fmt: skip
