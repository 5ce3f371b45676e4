"""Leaderboards per use-case category and per loss reason, joined through the stages' public reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ranking_sim import simulate_votes

from arenalens.store import Store
from arenalens.store import tables as t
from arenalens.store.store import utcnow
from ranking import persist
from ranking.errors import RankingError
from ranking.leaderboard import RankingOptions
from ranking.pipeline import rank_selection, select_votes
from ranking.slices import explode_slices, rank_slices

N_VOTES = 300


@pytest.fixture
def voted_store(sqlite_store: Store) -> Store:
    a, b, score = simulate_votes(np.array([-0.4, 0.0, 0.5]), N_VOTES, np.random.default_rng(0))
    winner = np.where(score == 1, "model_a", "model_b")
    sqlite_store.insert_ignore(
        t.interactions,
        [
            {
                "id": f"v{k}",
                "model_a": a[k],
                "model_b": b[k],
                "winner": winner[k],
                "extra": {},
                "content_hash": f"h{k}",
            }
            for k in range(N_VOTES)
        ],
    )
    return sqlite_store


def test_explode_fans_out_list_values_and_drops_missing() -> None:
    votes = pd.DataFrame({"model_a": ["a", "b", "c"], "slice": [["x", "y"], None, "x"]})
    assert explode_slices(votes)["slice"].tolist() == ["x", "y", "x"]


def test_small_slices_are_skipped_with_the_reason() -> None:
    a, b, score = simulate_votes(np.array([0.0, 0.5]), 60, np.random.default_rng(1))
    votes = pd.DataFrame(
        {"model_a": a, "model_b": b, "winner": np.where(score == 1, "model_a", "model_b")}
    )
    votes["slice"] = ["big"] * 50 + ["small"] * 10
    result = rank_slices(votes, "device", RankingOptions(bootstrap_rounds=20))
    assert list(result.boards) == ["big"]
    assert result.skipped == {"small": "10 votes (fewer than 20)"}


def test_rank_by_category_joins_the_latest_taxonomy_run(voted_store: Store) -> None:
    from taxonomy import persist as taxonomy_persist

    run_id = voted_store.start_run("taxonomy", {})
    clusters = pd.DataFrame(
        [
            {
                "cluster_id": c,
                "level": 0,
                "name": name,
                "auto_name": name,
                "size": 150,
                "category": name,
                "novel": False,
            }
            for c, name in enumerate(["knowledge", "advice"])
        ]
    )
    assignments = pd.DataFrame(
        {
            "interaction_id": [f"v{k}" for k in range(N_VOTES)],
            "base_cluster_id": [k % 2 for k in range(N_VOTES)],
            "cluster_id": [k % 2 for k in range(N_VOTES)],
            "outlier": False,
            "reassigned": False,
            "category": ["knowledge" if k % 2 == 0 else "advice" for k in range(N_VOTES)],
            "modality": "text_primary",
            "source": "fit",
        }
    )
    taxonomy_persist.write_run(voted_store, run_id, clusters, assignments)
    voted_store.finish_run(run_id)
    votes = select_votes(voted_store, by="category").frame
    result = rank_slices(
        votes.rename(columns={"category": "slice"}), "category", RankingOptions(bootstrap_rounds=50)
    )
    assert set(result.boards) == {"knowledge", "advice"}
    assert result.boards["knowledge"].n_votes == N_VOTES // 2
    # grouped in SQL: one row per (pair, outcome, category), never one per vote
    assert len(votes) < N_VOTES and "id" not in votes
    by_cluster = select_votes(voted_store, by="cluster", users=False).frame
    assert by_cluster.groupby("cluster")["n"].sum().to_dict() == {
        "knowledge": N_VOTES // 2,
        "advice": N_VOTES // 2,
    }


def test_rank_by_reason_uses_negative_codes_of_the_latest_codebook(voted_store: Store) -> None:
    from coding import persist as coding_persist
    from coding.codebook import load_codebook

    codebook = load_codebook()
    version = coding_persist.register_codebook(voted_store, codebook)
    code_a, code_b = codebook.code_names[:2]
    run_id = voted_store.start_run("coding", {})
    feedback, items, codes = [], [], []
    for k in range(N_VOTES):
        feedback.append({"id": f"f{k}", "interaction_id": f"v{k}", "text": "too short and wrong"})
        items.append(
            {
                "codebook_version": version,
                "feedback_id": f"f{k}",
                "labeler": "test",
                "run_id": run_id,
                "coded_at": utcnow(),
            }
        )
        for code in [code_a] if k % 3 else [code_a, code_b]:
            codes.append(
                {
                    "codebook_version": version,
                    "feedback_id": f"f{k}",
                    "code": code,
                    "side": "rejected",
                    "polarity": "negative",
                    "attribute_source": "labeler",
                    "evidence": "too short",
                    "confidence": 0.9,
                    "run_id": run_id,
                }
            )
    voted_store.insert_ignore(t.feedback, feedback)
    coding_persist.save_coded_batch(voted_store, items, codes)
    voted_store.finish_run(run_id)
    reasons = persist.loss_reasons(voted_store)
    assert reasons["v0"] == sorted([code_a, code_b]) and reasons["v1"] == [code_a]
    votes = select_votes(voted_store, by="reason").frame
    result = rank_slices(
        votes.rename(columns={"reason": "slice"}), "reason", RankingOptions(bootstrap_rounds=50)
    )
    assert result.boards[code_a].n_votes == N_VOTES  # a vote with two reasons counts in both slices
    assert result.boards[code_b].n_votes == N_VOTES // 3


def test_missing_response_lengths_are_a_clear_error(voted_store: Store) -> None:
    selection = select_votes(voted_store, controls=("response_length",))
    with pytest.raises(RankingError, match="only 0 of 300 votes have every covariate"):
        rank_selection(selection, RankingOptions(bootstrap_rounds=0, controls=("response_length",)))


def test_lengths_come_from_metadata_else_response_texts(sqlite_store: Store) -> None:
    rows = [
        {
            "id": "t1",
            "model_a": "x",
            "model_b": "y",
            "winner": "tie",
            "response_a": None,
            "response_b": None,
            "extra": {"response_length_a": 7, "response_length_b": 9},
            "content_hash": "1",
        },
        {
            "id": "t2",
            "model_a": "x",
            "model_b": "y",
            "winner": "model_a",
            "response_a": "abcd",
            "response_b": "ab",
            "extra": {},
            "content_hash": "2",
        },
    ]
    sqlite_store.insert_ignore(t.interactions, rows)
    selection = select_votes(sqlite_store, controls=("response_length",), users=False)
    frame = selection.frame.sort_values("winner")
    assert frame["response_length_a"].tolist() == [4.0, 7.0]
    assert frame["response_length_b"].tolist() == [2.0, 9.0]
    difference = dict(
        zip(selection.frame["winner"], selection.covariates["response_length"], strict=True)
    )
    assert difference == pytest.approx({"model_a": 2 / 6, "tie": -2 / 16})


def test_who_wins_where_marks_leader_ties_and_thin_cells() -> None:
    from ranking.slices import who_wins_where

    stored = pd.DataFrame(
        {
            "slice_value": ["advice"] * 3 + ["music"] * 3,
            "model": ["a", "b", "c"] * 2,
            "rating": [1100.0, 1080.0, 900.0, 1200.0, 1000.0, 990.0],
            "ci_low": [1060.0, 1050.0, 850.0, 1000.0, 980.0, 970.0],
            "ci_high": [1140.0, 1110.0, 950.0, 1400.0, 1020.0, 1010.0],
            "votes": [200, 180, 150, 5, 60, 70],
        }
    )
    roles = who_wins_where(stored).set_index(["slice_value", "model"])["role"]
    assert roles["advice"].to_dict() == {"a": "leader", "b": "tied", "c": "behind"}
    # model a has only 5 music votes: greyed, and not the leader despite its rating
    assert roles["music"].to_dict() == {"a": "too few votes", "b": "leader", "c": "tied"}
