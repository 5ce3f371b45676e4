"""The pair scheduler: uniform, Chatbot Arena's variance rule and our adaptive rule."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chisquare

from arena.scheduler import (
    PairScheduler,
    SchedulerConfig,
    count_votes,
    fit_strengths,
    next_pair,
    pair_probabilities,
)

SYSTEMS = ["alpha", "bravo", "charlie", "delta", "echo"]
COLUMNS = ["model_a", "model_b", "winner", "user_id"]


def planted_votes(
    strengths: dict[str, float], per_pair: dict[tuple[str, str], int], seed: int = 0
) -> pd.DataFrame:
    """Votes from a Bradley–Terry model with the given strengths and votes per pair."""
    rng = np.random.default_rng(seed)
    rows = []
    for (a, b), n in per_pair.items():
        p = 1.0 / (1.0 + np.exp(strengths[b] - strengths[a]))
        wins = rng.random(n) < p
        for k, win in enumerate(wins):
            first, second = (a, b) if k % 2 == 0 else (b, a)
            a_won = win if first == a else not win
            rows.append((first, second, "model_a" if a_won else "model_b", f"r{k % 7}"))
    return pd.DataFrame(rows, columns=COLUMNS)


def probability_of(counts_systems: list[str], config: SchedulerConfig, votes: pd.DataFrame):
    """Pair (names, unordered) -> probability of being drawn next."""
    i, j, prob = pair_probabilities(count_votes(counts_systems, votes), config)
    return {
        frozenset((counts_systems[a], counts_systems[b])): p
        for a, b, p in zip(i, j, prob, strict=True)
    }


def cast(votes: pd.DataFrame, a: str, b: str, winner: str, rater: str) -> pd.DataFrame:
    return pd.concat(
        [votes, pd.DataFrame([(a, b, winner, rater)], columns=COLUMNS)], ignore_index=True
    )


@pytest.mark.parametrize("rule", ["uniform", "variance", "adaptive"])
def test_sides_are_balanced_per_rater(rule: str) -> None:
    rng = np.random.default_rng(1)
    config = SchedulerConfig(rule=rule)
    votes = pd.DataFrame(columns=COLUMNS)
    for k in range(120):
        rater = "ann" if k % 2 else "bob"
        a, b = next_pair(SYSTEMS, votes, rater, rng, config)
        votes = cast(votes, a, b, rng.choice(["model_a", "model_b", "tie"]), rater)
    for rater, mine in votes.groupby("user_id"):
        on_a = mine["model_a"].value_counts().reindex(SYSTEMS, fill_value=0)
        on_b = mine["model_b"].value_counts().reindex(SYSTEMS, fill_value=0)
        assert (on_a - on_b).abs().max() <= 2, (rater, (on_a - on_b).to_dict())


def test_random_sides_would_not_balance() -> None:
    """The balance above is the scheduler's doing: coin-flipped sides drift much further."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, 5, 80)
    b = (a + rng.integers(1, 5, 80)) % 5
    drift = np.bincount(a, minlength=5) - np.bincount(b, minlength=5)
    assert np.abs(drift).max() > 2


@pytest.mark.parametrize("rule", ["variance", "adaptive"])
def test_min_pair_count_is_served_first(rule: str) -> None:
    per_pair = {(a, b): 3 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    per_pair[("bravo", "delta")] = 1
    votes = planted_votes(dict.fromkeys(SYSTEMS, 0.0), per_pair)
    config = SchedulerConfig(rule=rule, min_pair_count=2, explore_share=0.5)
    rng = np.random.default_rng(2)
    drawn = {frozenset(next_pair(SYSTEMS, votes, "ann", rng, config)) for _ in range(20)}
    assert drawn == {frozenset(("bravo", "delta"))}
    # once every pair has its minimum, the rule itself chooses again
    relaxed = SchedulerConfig(rule=rule, min_pair_count=1)
    drawn = {frozenset(next_pair(SYSTEMS, votes, "ann", rng, relaxed)) for _ in range(40)}
    assert len(drawn) > 1


def test_explore_share_is_honoured() -> None:
    strengths = {"alpha": 1.0, "bravo": 0.98, "charlie": -0.5, "delta": -1.0, "echo": -1.6}
    per_pair = {(a, b): 200 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    votes = planted_votes(strengths, per_pair, seed=3)
    n_pairs = 10
    for share in (0.2, 0.5):
        config = SchedulerConfig(rule="adaptive", explore_share=share)
        prob = probability_of(SYSTEMS, config, votes)
        assert min(prob.values()) >= share / n_pairs - 1e-12
        # and in draws: pairs other than the contested one get at least their uniform share
        rng = np.random.default_rng(4)
        draws = [frozenset(next_pair(SYSTEMS, votes, None, rng, config)) for _ in range(300)]
        others = np.mean([d != frozenset(("alpha", "bravo")) for d in draws])
        floor = share * (n_pairs - 1) / n_pairs
        assert others >= floor - 3 * np.sqrt(floor * (1 - floor) / 300)
    greedy = probability_of(SYSTEMS, SchedulerConfig(explore_share=0.0), votes)
    assert min(greedy.values()) < 0.5 / n_pairs  # the floor of 0.5 above was binding


def test_uniform_is_uniform_whatever_the_votes() -> None:
    per_pair = {("alpha", "bravo"): 300, ("alpha", "charlie"): 5}
    votes = planted_votes({"alpha": 2.0, "bravo": 0.0, "charlie": -1.0}, per_pair)
    config = SchedulerConfig(rule="uniform", min_pair_count=50)
    rng = np.random.default_rng(5)
    draws = [frozenset(next_pair(SYSTEMS, votes, "ann", rng, config)) for _ in range(600)]
    pairs = [frozenset((a, b)) for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]]
    observed = [sum(d == p for d in draws) for p in pairs]
    assert chisquare(observed).pvalue > 0.001
    prob = probability_of(SYSTEMS, config, votes)
    assert np.allclose(list(prob.values()), 0.1)


def test_variance_rule_prefers_uncertain_pairs() -> None:
    per_pair = {(a, b): 20 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    per_pair[("alpha", "bravo")] = 2000
    votes = planted_votes(dict.fromkeys(SYSTEMS, 0.0), per_pair, seed=6)
    prob = probability_of(SYSTEMS, SchedulerConfig(rule="variance"), votes)
    settled = prob.pop(frozenset(("alpha", "bravo")))
    assert settled < 0.1 * min(prob.values())
    # a lopsided pair (far apart: little variance per vote) is drawn less than an even one
    per_pair = {(a, b): 50 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    strengths = {"alpha": 3.0, "bravo": 0.0, "charlie": 0.0, "delta": 0.0, "echo": -3.0}
    prob = probability_of(
        SYSTEMS, SchedulerConfig(rule="variance"), planted_votes(strengths, per_pair)
    )
    assert prob[frozenset(("alpha", "echo"))] < prob[frozenset(("bravo", "charlie"))]


def test_adaptive_concentrates_on_overlapping_adjacent_ranks() -> None:
    """Top two close and overlapping, everyone else far apart and settled."""
    strengths = {"alpha": 1.5, "bravo": 1.45, "charlie": 0.0, "delta": -1.5, "echo": -3.0}
    per_pair = {(a, b): 300 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    votes = planted_votes(strengths, per_pair, seed=7)
    fit = fit_strengths(count_votes(SYSTEMS, votes))
    _, low, high = fit.ratings()
    assert low[0] < high[1] and low[1] > high[2]  # the planted situation holds
    adaptive = probability_of(SYSTEMS, SchedulerConfig(rule="adaptive"), votes)
    variance = probability_of(SYSTEMS, SchedulerConfig(rule="variance"), votes)
    contested = frozenset(("alpha", "bravo"))
    assert max(adaptive, key=adaptive.get) == contested
    assert adaptive[contested] > 2.5 * 0.1  # over 2.5 times its uniform share
    assert adaptive[contested] > 1.5 * variance[contested]

    def on_the_contested_two(prob: dict) -> float:
        return sum(p for pair, p in prob.items() if pair & contested)

    assert on_the_contested_two(adaptive) > 0.75 > on_the_contested_two(variance)


@pytest.mark.parametrize("rule", ["uniform", "variance", "adaptive"])
def test_deterministic_with_a_seeded_rng(rule: str) -> None:
    votes = planted_votes(
        {"alpha": 0.5, "bravo": 0.2, "charlie": 0.0},
        {("alpha", "bravo"): 30, ("bravo", "charlie"): 9},
    )
    config = SchedulerConfig(rule=rule)

    def sequence(seed: int) -> list[tuple[str, str]]:
        rng = np.random.default_rng(seed)
        return [next_pair(SYSTEMS, votes, "r1", rng, config) for _ in range(30)]

    assert sequence(8) == sequence(8)
    assert sequence(8) != sequence(9)


@pytest.mark.parametrize("rule", ["uniform", "variance", "adaptive"])
def test_two_systems(rule: str) -> None:
    rng = np.random.default_rng(10)
    votes = pd.DataFrame(columns=COLUMNS)
    for _ in range(10):
        a, b = next_pair(["x", "y"], votes, "ann", rng, SchedulerConfig(rule=rule))
        assert {a, b} == {"x", "y"}
        votes = cast(votes, a, b, "tie", "ann")
    assert (votes["model_a"] == "x").sum() == 5


def test_votes_for_systems_not_offered_are_left_out() -> None:
    per_pair = {("alpha", "retired"): 500, ("retired", "bravo"): 500, ("alpha", "bravo"): 4}
    votes = planted_votes({"alpha": 0.0, "bravo": 0.0, "retired": 1.0}, per_pair)
    votes.loc[0, "model_b"] = "alpha"  # a malformed row: a system against itself
    counts = count_votes(["alpha", "bravo"], votes)
    assert counts.games[0, 1] == 4 and counts.games.sum() == 8
    rng = np.random.default_rng(11)
    for rule in ("uniform", "variance", "adaptive"):
        pair = next_pair(["alpha", "bravo", "charlie"], votes, "r1", rng, SchedulerConfig(rule))
        assert set(pair) <= {"alpha", "bravo", "charlie"} and pair[0] != pair[1]


@pytest.mark.parametrize("rule", ["uniform", "variance", "adaptive"])
def test_empty_votes(rule: str) -> None:
    rng = np.random.default_rng(12)
    config = SchedulerConfig(rule=rule)
    empty = pd.DataFrame(columns=COLUMNS)
    draws = {frozenset(next_pair(SYSTEMS, empty, "new rater", rng, config)) for _ in range(200)}
    assert len(draws) == 10  # nothing known yet: every pair is possible


def test_bad_settings_and_systems_are_refused() -> None:
    with pytest.raises(ValueError, match="rule"):
        SchedulerConfig(rule="elo")
    with pytest.raises(ValueError, match="explore_share"):
        SchedulerConfig(explore_share=1.5)
    with pytest.raises(ValueError, match="two systems"):
        next_pair(["solo"], pd.DataFrame(columns=COLUMNS), None, np.random.default_rng(0))


def test_fit_matches_the_ranking_stage() -> None:
    """The scheduler's small fit agrees with `ranking.bradley_terry` (up to its tiny prior)."""
    from ranking.bradley_terry import aggregate_votes, fit_bradley_terry, winner_scores

    strengths = {"alpha": 0.8, "bravo": 0.3, "charlie": 0.0, "delta": -0.4, "echo": -0.7}
    per_pair = {(a, b): 150 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    votes = planted_votes(strengths, per_pair, seed=13)
    votes.loc[::9, "winner"] = "tie"
    ours = fit_strengths(count_votes(SYSTEMS, votes))
    reference = fit_bradley_terry(
        aggregate_votes(
            votes["model_a"].to_numpy(),
            votes["model_b"].to_numpy(),
            winner_scores(votes["winner"].to_numpy()),
            tuple(SYSTEMS),
        )
    )
    assert np.allclose(ours.theta, reference.theta, atol=5e-3)
    assert np.allclose(ours.se, np.sqrt(np.diag(reference.cov_model)), rtol=0.02)


def test_fisher_intervals_agree_with_a_bootstrap() -> None:
    """The benchmark's cheap intervals: their standard errors match a vote bootstrap's."""
    strengths = {"alpha": 0.8, "bravo": 0.3, "charlie": 0.0, "delta": -0.4, "echo": -0.7}
    per_pair = {(a, b): 120 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]}
    votes = planted_votes(strengths, per_pair, seed=14)
    fit = fit_strengths(count_votes(SYSTEMS, votes))
    rng = np.random.default_rng(15)
    thetas = [
        fit_strengths(
            count_votes(SYSTEMS, votes.iloc[rng.integers(0, len(votes), len(votes))])
        ).theta
        for _ in range(300)
    ]
    ratio = np.std(thetas, axis=0) / fit.se
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_incremental_scheduler_matches_the_frame_interface() -> None:
    votes = planted_votes(
        {"alpha": 0.5, "bravo": 0.1, "charlie": 0.0, "delta": -0.3, "echo": -0.6},
        {(a, b): 25 for k, a in enumerate(SYSTEMS) for b in SYSTEMS[k + 1 :]},
        seed=16,
    )
    scheduler = PairScheduler(SYSTEMS)
    for row in votes.itertuples():
        scheduler.record(row.model_a, row.model_b, row.winner, row.user_id)
    for seed in range(5):
        from_frame = next_pair(SYSTEMS, votes, "r3", np.random.default_rng(seed))
        incremental = scheduler.next_pair("r3", np.random.default_rng(seed))
        assert from_frame == incremental


def test_fast_for_thirty_systems_and_fifty_thousand_votes() -> None:
    rng = np.random.default_rng(17)
    systems = [f"system {k}" for k in range(30)]
    a = rng.integers(0, 30, 50_000)
    b = (a + rng.integers(1, 30, 50_000)) % 30
    names = np.array(systems, dtype=object)
    votes = pd.DataFrame(
        {
            "model_a": names[a],
            "model_b": names[b],
            "winner": rng.choice(["model_a", "model_b", "tie"], 50_000),
            "user_id": rng.integers(0, 500, 50_000).astype(str),
        }
    )
    best = np.inf
    for _ in range(5):
        start = time.process_time()  # CPU time: the machine running the tests may be busy
        next_pair(systems, votes, "42", rng, SchedulerConfig(rule="adaptive"))
        best = min(best, time.process_time() - start)
    assert best < 0.05, f"{best * 1000:.0f} ms"
