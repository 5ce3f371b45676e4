"""How fragile is the order: the fewest removed votes that flip a pair, and each model's status."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ranking_sim import simulate_votes

from ranking.bradley_terry import aggregate_votes, fit_bradley_terry, newton_pairs
from ranking.fragility import PairFragility, model_status, order_fragility, votes_to_flip
from ranking.leaderboard import RankingOptions, rank_votes


def _flips(pc, counts, i, j) -> bool:
    theta = newton_pairs(pc, counts[None], prior_mask=np.ones((1, pc.n_models), bool)).theta[0]
    return theta[i] <= theta[j]


def test_removing_the_reported_votes_really_flips_the_pair() -> None:
    a, b, score = simulate_votes(np.array([0.0, 0.15, 0.5]), 600, np.random.default_rng(0))
    pc = aggregate_votes(a, b, score)
    fit = fit_bradley_terry(pc)
    hi, lo = int(np.argmax(fit.theta)), int(np.argsort(fit.theta)[-2])
    k = votes_to_flip(pc, hi, lo)
    assert k is not None and 0 < k < 100
    # the greedy removal of k votes flips; the count is small against 600 votes
    (fragility,) = [f for f in order_fragility(pc, fit.theta) if f.kind == "leader"]
    assert fragility.votes_to_flip == k and fragility.higher == pc.models[hi]


def test_greedy_count_is_close_to_the_exhaustive_minimum_on_a_tiny_arena() -> None:
    # 3 models, 14 votes: try every multiset of removals up to 6 votes
    a = ["x", "x", "x", "x", "x", "y", "y", "y", "x", "x", "z", "z", "y", "y"]
    b = ["y", "y", "y", "y", "y", "x", "x", "z", "z", "z", "x", "y", "z", "z"]
    score = np.array([1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0.5])
    pc = aggregate_votes(a, b, score)
    i, j = pc.models.index("x"), pc.models.index("y")
    greedy = votes_to_flip(pc, i, j)
    cells = np.flatnonzero(pc.counts.reshape(-1))
    exhaustive = None
    for size in range(1, 7):
        for removal in itertools.combinations_with_replacement(cells, size):
            trial = pc.counts.copy().reshape(-1)
            np.subtract.at(trial, list(removal), 1.0)
            if (trial >= 0).all() and _flips(pc, trial.reshape(pc.counts.shape), i, j):
                exhaustive = size
                break
        if exhaustive:
            break
    assert exhaustive is not None and greedy is not None
    assert exhaustive <= greedy <= exhaustive + 1


def test_a_dominant_leader_is_not_fragile() -> None:
    a, b, score = simulate_votes(np.array([-1.0, 0.0, 2.0]), 2_000, np.random.default_rng(1))
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0))
    leader = board.fragility[0]
    assert leader.kind == "leader" and leader.higher == "m2"
    assert leader.votes_to_flip is None or leader.share > 0.1


def test_fragility_sentence_reads_plainly() -> None:
    line = PairFragility("leader", "gpt4o", "gemini", 4, 303).sentence()
    assert line == "the top-rated model (gpt4o) changes after dropping 4 of 303 votes (1.3%)"
    assert "more than half" in PairFragility("adjacent", "a", "b", None, 10).sentence()


@pytest.mark.parametrize(
    ("votes", "low", "high", "status"),
    [
        (5000, 990.0, 1030.0, "established"),
        (5000, 900.0, 1100.0, "preliminary"),
        (300, 960.0, 1060.0, "provisional"),
        (1000, 960.0, 1060.0, "provisional"),
        (60, 990.0, 1000.0, "preliminary"),
    ],
)
def test_status_follows_votes_and_interval_width(votes, low, high, status) -> None:
    assert model_status(votes, low, high) == status


def test_every_row_carries_a_status() -> None:
    a, b, score = simulate_votes(np.array([0.0, 0.3]), 150, np.random.default_rng(2))
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=100))
    assert {r.status for r in board.ratings} <= {"preliminary", "provisional", "established"}
    assert all(r.status for r in board.ratings)
