"""Ranking results round-trip through the store on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ranking_sim import simulate_votes

from arenalens.ingest import (
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)
from arenalens.store import Store
from ranking import persist
from ranking.leaderboard import RankingOptions, rank_votes
from ranking.regression import regress_preferences

ALIASES = Path(__file__).resolve().parents[2] / "data" / "talkarena_aliases.yaml"


def test_leaderboard_and_win_rates_round_trip(store: Store) -> None:
    a, b, score = simulate_votes(np.array([-0.3, 0.0, 0.4]), 500, np.random.default_rng(0))
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=100))
    run_id = store.start_run(persist.STAGE, {"bootstrap_rounds": 100})
    persist.save_leaderboard(store, run_id, board)
    persist.save_leaderboard(store, run_id, board, "language", "en")
    store.finish_run(run_id)
    overall = persist.ratings_frame(store)
    assert overall["model"].tolist() == [r.model for r in board.ratings]
    np.testing.assert_allclose(overall["ci_low"], [r.ci_low for r in board.ratings])
    sliced = persist.ratings_frame(store, run_id, slice_field="language")
    assert set(sliced["slice_value"]) == {"en"} and len(sliced) == 3
    rates = persist.win_rates_frame(store, run_id)
    assert len(rates) == 2 * 6 and rates["significant"].dtype == bool


def test_regression_run_round_trips(store: Store, shared_data: Path) -> None:
    ingest_interactions(
        store, shared_data / "talkarena" / "live_votes.json", "talkarena", progress=False
    )
    ingest_benchmark_scores(store, shared_data / "talkarena" / "static_benchmarks_long.csv")
    ingest_aliases(store, read_aliases(ALIASES))
    report = regress_preferences(store.votes_frame(), store.benchmark_frame())
    run_id = store.start_run(persist.REGRESSION_STAGE, {})
    persist.save_regression(store, run_id, report)
    store.finish_run(run_id, summary=report.to_dict())  # JSON column: must hold no inf/NaN
    terms = persist.regression_terms_frame(store)
    assert len(terms) == 2 * (len(report.benchmarks_used) + 1)
    assert store.latest_run("regression")["summary"]["r2_marginal"] == report.r2_marginal
