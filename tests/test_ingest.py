"""Ingest: every format good and bad, atomicity, idempotence, Talk Arena, benchmarks, aliases."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from arenalens.errors import IngestError
from arenalens.ingest import (
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)
from arenalens.store import Store
from arenalens.store import tables as t

RECORDS = [
    {
        "id": "i1",
        "timestamp": "2025-01-02T03:04:05Z",
        "user_id": "u1",
        "language": "en",
        "query_text": "what's the capital of peru",
        "model_a": "gpt4o",
        "model_b": "qwen2",
        "response_a": "Lima.",
        "response_b": "I think it is Cusco.",
        "winner": "model_a",
        "feedback": "B was simply wrong",
        "intent": "qa_factoid",
    },
    {"id": "i2", "query_text": "set a timer for ten minutes"},
    {"model_a": "gpt4o", "model_b": "diva", "winner": "tie"},
]


def write(path: Path, records: list[dict], fmt: str) -> Path:
    frame = pd.DataFrame(records)
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_each_format_ingests_partial_records_and_keeps_unknown_fields(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    report = ingest_interactions(
        store, write(tmp_path / f"arena.{fmt}", RECORDS, fmt), progress=False
    )
    assert (report.records, report.interactions_added, report.feedback_added) == (3, 3, 1)
    frame = store.interactions_frame().set_index("id")
    assert frame.loc["i1", "extra"] == {"intent": "qa_factoid"}
    assert frame.loc["i1", "winner"] == "model_a"
    assert pd.isna(frame.loc["i2", "winner"])
    vote_only = [i for i in frame.index if i.startswith("h_")]
    assert len(vote_only) == 1 and frame.loc[vote_only[0], "winner"] == "tie"
    assert store.status()["votes"] == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_reingest_adds_nothing(store: Store, tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / f"arena.{fmt}", RECORDS, fmt)
    ingest_interactions(store, path, progress=False)
    before = store.status()
    again = ingest_interactions(store, path, progress=False)
    assert (again.interactions_added, again.interactions_merged, again.feedback_added) == (0, 0, 0)
    assert store.status() == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"id": "x", "model_a": "a", "model_b": "b", "winner": "left"},
            r"line 3: field 'winner': expected one of model_a, model_b, tie",
        ),
        ({"id": "x", "model_a": "a", "winner": "tie"}, r"line 3: field 'model_b': required"),
        (
            {"id": "x", "query_text": "q", "timestamp": "yesterday"},
            r"line 3: field 'timestamp': expected ISO 8601",
        ),
        (
            {"id": "x", "query_text": "q", "model_a": "a", "model_b": "a", "winner": "tie"},
            r"line 3: fields 'model_a'/'model_b'",
        ),
        (
            {"id": "x", "query_audio": "missing.wav"},
            r"line 3: field 'query_audio': 'missing.wav': file not found",
        ),
        ({"user_id": "u"}, r"line 3: expected a query"),
        (
            {"id": "nope", "feedback": "bad"},
            r"line 3: field 'id': feedback refers to interaction 'nope'",
        ),
    ],
)
def test_bad_record_refuses_the_whole_file(
    store: Store, tmp_path: Path, bad: dict, message: str
) -> None:
    path = write(tmp_path / "arena.jsonl", [*RECORDS[:2], bad], "jsonl")
    with pytest.raises(IngestError, match=message) as caught:
        ingest_interactions(store, path, progress=False)
    assert str(path) in str(caught.value)
    assert store.count(t.interactions) == 0 and store.count(t.feedback) == 0


def test_invalid_json_line_is_named(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "query_text": "q"}\n{"id": \n')
    with pytest.raises(IngestError, match=r"a.jsonl line 2: not valid JSON"):
        ingest_interactions(sqlite_store, path, progress=False)
    assert sqlite_store.count(t.interactions) == 0


def test_bad_csv_row_is_named_by_row(sqlite_store: Store, tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.csv",
        [
            {"id": "a", "query_text": "q", "winner": ""},
            {"id": "b", "query_text": "q", "winner": "B"},
        ],
        "csv",
    )
    with pytest.raises(IngestError, match=r"a.csv row 3: field 'winner'"):
        ingest_interactions(sqlite_store, path, progress=False)


def test_feedback_attaches_to_existing_interaction_and_records_merge(
    sqlite_store: Store, tmp_path: Path
) -> None:
    ingest_interactions(
        sqlite_store,
        write(tmp_path / "q.jsonl", [{"id": "q1", "query_text": "hello"}], "jsonl"),
        progress=False,
    )
    more = [
        {"id": "q1", "feedback": "too long"},
        {"id": "q1", "model_a": "a", "model_b": "b", "winner": "model_b"},
    ]
    report = ingest_interactions(
        sqlite_store, write(tmp_path / "v.jsonl", more, "jsonl"), progress=False
    )
    assert (report.feedback_added, report.interactions_merged) == (1, 1)
    row = sqlite_store.interactions_frame().iloc[0]
    assert (row["query_text"], row["winner"]) == ("hello", "model_b")


def test_contradicting_record_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    ingest_interactions(
        sqlite_store,
        write(tmp_path / "a.jsonl", [{"id": "q1", "query_text": "hello"}], "jsonl"),
        progress=False,
    )
    with pytest.raises(
        IngestError, match=r"field 'query_text': interaction 'q1' is already stored"
    ):
        ingest_interactions(
            sqlite_store,
            write(tmp_path / "b.jsonl", [{"id": "q1", "query_text": "bye"}], "jsonl"),
            progress=False,
        )


def test_field_map_renames_input_fields(sqlite_store: Store, shared_data: Path) -> None:
    report = ingest_interactions(
        sqlite_store,
        shared_data / "slurp" / "devel.jsonl",
        "jsonl",
        field_map={"sentence": "query_text", "slurp_id": "id"},
        progress=False,
    )
    assert report.interactions_added == 2033
    queries = sqlite_store.queries_frame()
    assert len(queries) == 2033 and {"intent", "scenario"} <= set(queries["extra"].iloc[0])


def test_talkarena_votes_import(store: Store, shared_data: Path) -> None:
    report = ingest_interactions(
        store, shared_data / "talkarena" / "live_votes.json", progress=False
    )
    assert report.format == "talkarena" and report.interactions_added == 303
    votes = store.votes_frame()
    counts = pd.concat([votes["model_a"], votes["model_b"]]).value_counts()
    assert len(counts) == 8 and (counts >= 78).sum() == 7 and counts["gemini_2f"] == 1
    assert votes["winner"].value_counts().to_dict() == {"model_b": 120, "model_a": 99, "tie": 84}
    extra = votes.iloc[0]["extra"]
    assert {"audio_hash", "response_length_a", "response_length_b"} <= set(extra)


def test_talkarena_bad_outcome_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    path = tmp_path / "votes.json"
    path.write_text(json.dumps({"_default": {"1": {"model_a": "a", "model_b": "b", "outcome": 2}}}))
    with pytest.raises(IngestError, match=r"vote 1: field 'outcome': expected 0, 0.5 or 1"):
        ingest_interactions(sqlite_store, path, progress=False)


def test_benchmark_scores_and_aliases_join(store: Store, shared_data: Path, tmp_path: Path) -> None:
    rows = ingest_benchmark_scores(store, shared_data / "talkarena" / "static_benchmarks_long.csv")
    assert rows == 198
    assert (
        ingest_benchmark_scores(store, shared_data / "talkarena" / "static_benchmarks_long.csv")
        == 198
    )
    assert store.count(t.benchmark_scores) == 198
    alias_file = tmp_path / "aliases.yaml"
    alias_file.write_text("aliases:\n  diva_3_8b: Diva\n  gpt4o: GPT4o\n")
    ingest_aliases(store, read_aliases(alias_file))
    ingest_interactions(store, shared_data / "talkarena" / "live_votes.json", progress=False)
    models = set(store.votes_frame()["model_a"]) | set(store.votes_frame()["model_b"])
    assert {"Diva", "GPT4o"} <= models and "diva_3_8b" not in models
    assert {"Diva", "GPT4o"} <= set(store.benchmark_frame()["model"])


def test_alias_chains_are_refused(sqlite_store: Store) -> None:
    ingest_aliases(sqlite_store, {"b": "c"})
    with pytest.raises(IngestError, match="is itself an alias"):
        ingest_aliases(sqlite_store, {"a": "b"})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("model,dataset,task,metric\nA,d,t,m\n", "missing columns"),
        (
            "model,dataset,task,metric,score\nA,d,t,m,high\n",
            r"row 2: field 'score': expected a number",
        ),
        (
            "model,dataset,task,metric,score,higher_is_better\nA,d,t,m,1,maybe\n",
            r"row 2: field 'higher_is_better'",
        ),
        ("model,dataset,task,metric,score\nA,d,t,m,1\nA,d,t,m,2\n", "more than one score"),
    ],
)
def test_bad_benchmark_csv_is_refused(
    sqlite_store: Store, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bench.csv"
    path.write_text(content)
    with pytest.raises(IngestError, match=message):
        ingest_benchmark_scores(sqlite_store, path)
    assert sqlite_store.count(t.benchmark_scores) == 0


def test_large_file_streams_in_chunks(sqlite_store: Store, tmp_path: Path) -> None:
    from arenalens.ingest import pipeline

    path = tmp_path / "big.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "query_text": f"query number {i}"}) + "\n"
            for i in range(5000)
        )
    )
    report = ingest_interactions(sqlite_store, path, progress=False)
    assert report.interactions_added == 5000 and pipeline.CHUNK_RECORDS < 5000


def test_status_counts_systems_once_under_their_canonical_name(sqlite_store: Store) -> None:
    votes = [
        {
            "id": "v1",
            "model_a": "gpt4o",
            "model_b": "Qwen2-Audio",
            "winner": "tie",
            "extra": {},
            "content_hash": "1",
        },
        {
            "id": "v2",
            "model_a": "GPT-4o",
            "model_b": "Qwen2-Audio",
            "winner": "model_a",
            "extra": {},
            "content_hash": "2",
        },
    ]
    sqlite_store.insert_ignore(t.interactions, votes)
    assert sqlite_store.status()["systems"] == 3
    ingest_aliases(sqlite_store, {"gpt4o": "GPT-4o"})
    assert sqlite_store.status()["systems"] == 2
