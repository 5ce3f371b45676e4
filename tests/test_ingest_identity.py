"""The id rule for records without an id: content plus occurrence number within the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from arenalens.cli import main_group
from arenalens.ingest import ingest_interactions
from arenalens.store import Store
from arenalens.store import tables as t
from ranking.leaderboard import RankingOptions, rank_votes

# Per-pair tallies (A wins, ties, B wins) of an arena export with no vote ids: 10 pairs, 30
# distinct rows, 5,000 votes.
MODELS = ("alpha", "beta", "gamma", "delta", "eps")
TALLY = {
    ("alpha", "beta"): (260, 70, 170),
    ("alpha", "gamma"): (280, 60, 160),
    ("alpha", "delta"): (350, 50, 100),
    ("alpha", "eps"): (400, 40, 60),
    ("beta", "gamma"): (200, 100, 200),
    ("beta", "delta"): (250, 60, 190),
    ("beta", "eps"): (280, 60, 160),
    ("gamma", "delta"): (220, 80, 200),
    ("gamma", "eps"): (300, 60, 140),
    ("delta", "eps"): (210, 130, 160),
}


def tally_rows() -> list[tuple[str, str, str]]:
    """One row per vote, shuffled as an export would interleave them."""
    rows = []
    for (a, b), (wins, ties, losses) in TALLY.items():
        rows += [(a, b, "model_a")] * wins + [(a, b, "tie")] * ties + [(a, b, "model_b")] * losses
    order = np.random.default_rng(7).permutation(len(rows))
    return [rows[k] for k in order]


def write_csv(path: Path, rows: list[tuple[str, ...]]) -> Path:
    path.write_text("model_a,model_b,winner\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


def cli(db_url: str, workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--workspace", str(workspace), "--db", db_url, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_tally_without_ids_ingests_every_vote_and_ranks_like_a_direct_fit(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    rows = tally_rows()
    assert len(rows) == 5000 and len(set(rows)) == 30
    path = write_csv(tmp_path / "tally.csv", rows)

    report = json.loads(cli(db_url, tmp_path / "ws", "ingest", "--json", str(path)))[0]

    assert report["interactions_added"] == 5000
    assert store.status()["votes"] == 5000
    payload = json.loads(cli(db_url, tmp_path / "ws", "rank", "--json", "--bootstrap", "20"))
    a, b, winner = (np.array(column, dtype=object) for column in zip(*rows, strict=True))
    score = np.select([winner == "model_a", winner == "tie"], [1.0, 0.5], 0.0)
    direct = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=20))
    stored = {r["model"]: r["rating"] for r in payload["ratings"]}
    assert stored == pytest.approx({r.model: r.rating for r in direct.ratings}, abs=1e-6)
    assert len(set(stored.values())) == len(MODELS)  # not every model at 1000


def test_identical_rows_stay_separate_votes(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "same.csv", [("A", "B", "model_a")] * 100)

    report = ingest_interactions(store, path, progress=False)

    assert report.interactions_added == 100
    assert store.count(t.interactions) == 100


def test_reingest_of_duplicates_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "same.csv", [("A", "B", "model_a")] * 100)
    ingest_interactions(store, path, progress=False)

    again = ingest_interactions(store, path, progress=False)

    assert again.interactions_added == 0 and store.count(t.interactions) == 100


def test_appended_file_adds_exactly_the_new_rows(store: Store, tmp_path: Path) -> None:
    rows = [("A", "B", "model_a")] * 100 + [("A", "B", "tie")] * 5
    path = write_csv(tmp_path / "growing.csv", rows)
    ingest_interactions(store, path, progress=False)
    appended = [("A", "B", "model_a")] * 6 + [("B", "C", "model_b")] * 4
    write_csv(path, rows + appended)

    report = ingest_interactions(store, path, progress=False)

    assert report.interactions_added == 10
    assert store.status()["votes"] == 115


def test_jsonl_duplicates_without_ids_keep_their_feedback(store: Store, tmp_path: Path) -> None:
    vote = {"model_a": "A", "model_b": "B", "winner": "model_b"}
    path = tmp_path / "votes.jsonl"
    path.write_text(
        "".join(json.dumps({**vote, "feedback": f"reason {k}"}) + "\n" for k in range(3))
    )

    report = ingest_interactions(store, path, progress=False)

    assert (report.interactions_added, report.feedback_added) == (3, 3)
    assert store.feedback_frame()["interaction_id"].nunique() == 3


def test_first_occurrence_keeps_the_id_earlier_versions_gave(tmp_path: Path) -> None:
    from arenalens.ingest.records import content_hash, derived_id, normalise_record

    record = normalise_record({"model_a": "A", "model_b": "B", "winner": "tie"}, "x")
    assert record.interaction_id == derived_id(record.interaction["content_hash"], 1)
    assert record.interaction_id == "h_" + record.interaction["content_hash"][:24]
    assert derived_id(content_hash({"k": 1}), 2) != derived_id(content_hash({"k": 1}), 1)


def test_file_ingested_before_the_id_rule_gets_its_lost_duplicates(
    store: Store, tmp_path: Path
) -> None:
    """Earlier versions kept one of 100 identical votes and recorded the file by its SHA-256:
    re-ingesting it now adds the 99 lost votes instead of skipping it as unchanged."""
    from sqlalchemy import delete, update

    from arenalens.ingest.pipeline import file_sha256
    from arenalens.ingest.records import derived_id

    path = write_csv(tmp_path / "same.csv", [("A", "B", "model_a")] * 100)
    ingest_interactions(store, path, progress=False)
    with store.transaction() as conn:  # what the old ingest left behind
        first = conn.execute(select(t.interactions.c.id, t.interactions.c.content_hash)).first()
        kept = derived_id(first.content_hash, 1)
        conn.execute(delete(t.interactions).where(t.interactions.c.id != kept))
        conn.execute(update(t.ingested_files).values(sha256=file_sha256(path)))

    report = ingest_interactions(store, path, progress=False)

    assert not report.skipped and report.interactions_added == 99
    assert store.count(t.interactions) == 100
