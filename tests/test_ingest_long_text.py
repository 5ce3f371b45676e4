"""Long free text is kept to its documented limit at ingest, counted in the summary, and the
bulk and row paths store the same rows; labelers look at a bounded prefix of any text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_ingest_bulk import another_database, dump, write

from arenalens.cli import main
from arenalens.ingest import ingest_interactions
from arenalens.ingest.records import LONG_TEXT_LIMITS
from arenalens.store import Store

LIMIT = LONG_TEXT_LIMITS["feedback"]
VOTES = pd.DataFrame(
    {
        "id": ["v1", "v2", "v3"],
        "model_a": ["A", "A", "B"],
        "model_b": ["B", "C", "C"],
        "winner": ["model_a", "tie", "model_b"],
        "query_text": ["short", "q" * (LONG_TEXT_LIMITS["query_text"] + 5), "also short"],
        "response_a": ["", "r " * LONG_TEXT_LIMITS["response_a"], ""],
        "feedback": ["x" * (LIMIT + 1), "fine", "y" * (3 * LIMIT)],
    }
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_long_texts_are_cut_and_counted_the_same_on_both_paths(
    db_url: str, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"votes{suffix}"
    if suffix == ".jsonl":
        VOTES.replace("", None).to_json(path, orient="records", lines=True)
    else:
        write(VOTES, path)
    bulk_store = Store.open(db_url)
    rows_store = Store.open(another_database(db_url, tmp_path))

    fast = ingest_interactions(bulk_store, path, progress=False)
    slow = ingest_interactions(rows_store, path, progress=False, bulk=False)

    expected = {"query_text": 1, "response_a": 1, "feedback": 2}
    assert fast.truncated == slow.truncated == expected
    assert dump(bulk_store) == dump(rows_store)
    feedback = sorted(bulk_store.read_frame("SELECT text FROM feedback")["text"], key=len)
    assert [len(text) for text in feedback] == [4, LIMIT, LIMIT]
    queries = bulk_store.read_frame(
        "SELECT query_text, response_a FROM interactions WHERE id = 'v2'"
    )
    assert len(queries["query_text"][0]) == LONG_TEXT_LIMITS["query_text"]
    assert len(queries["response_a"][0]) <= LONG_TEXT_LIMITS["response_a"]
    # a re-ingest of the same file adds nothing, and a cut text is the same id each time
    again = ingest_interactions(bulk_store, path, progress=False)
    assert again.skipped or (again.interactions_added, again.feedback_added) == (0, 0)


def test_the_ingest_summary_counts_what_was_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(VOTES, tmp_path / "votes.csv")
    main(["--workspace", str(tmp_path / "ws"), "ingest", str(path)])
    out = capsys.readouterr().out
    assert "4 texts cut to their first 100,000 characters" in out
    assert "(feedback 2, query text 1, response a 1)" in out
