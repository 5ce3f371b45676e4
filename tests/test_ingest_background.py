"""Large bulk files are read, checked and hashed in a child process while this one writes:
the stored rows, the errors and the fallbacks are those of reading them here."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_ingest_bulk import VOTES, another_database, dump, write

from arenalens.errors import IngestError
from arenalens.ingest import bulk, ingest_interactions, pipeline
from arenalens.ingest.background import in_child_process
from arenalens.store import Store
from arenalens.store import tables as t


@pytest.fixture
def in_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bulk file goes through the child, in batches of a few rows."""
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ROWS", 0)
    monkeypatch.setattr(bulk, "CSV_BLOCK_BYTES", 256)


def votes(copies: int) -> pd.DataFrame:
    """VOTES repeated: id-less duplicates across many batches, ids made unique per copy."""
    frames = []
    for k in range(copies):
        frame = VOTES.copy()
        frame["id"] = [f"{v}-{k}" if v else "" for v in frame["id"]]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_child_process_stores_what_reading_here_stores(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = write(votes(40), tmp_path / f"votes{suffix}")
    here = Store.open(another_database(db_url, tmp_path))
    here_report = ingest_interactions(here, path, progress=False)

    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ROWS", 0)
    monkeypatch.setattr(bulk, "CSV_BLOCK_BYTES", 256)
    store = Store.open(db_url)
    report = ingest_interactions(store, path, progress=False)

    assert report.bulk and report.interactions_added == here_report.interactions_added == 240
    assert report.feedback_added == here_report.feedback_added
    assert dump(store) == dump(here)
    assert not multiprocessing.active_children()


def test_a_late_record_the_bulk_path_cannot_take_falls_back_to_rows(
    store: Store, tmp_path: Path, in_background: None
) -> None:
    frame = votes(30)
    frame.loc[170, "timestamp"] = "1 January 2025"  # refused: the row path names it
    path = write(frame, tmp_path / "votes.csv")

    with pytest.raises(
        IngestError, match=r"votes.csv row \d+: field 'timestamp'.*'1 January 2025'"
    ):
        ingest_interactions(store, path, progress=False)
    assert store.count(t.interactions) == 0  # nothing of the earlier batches was kept
    assert not multiprocessing.active_children()

    frame.loc[170, "timestamp"] = "2025-01-31 12:00"  # valid, merged row by row
    report = ingest_interactions(store, write(frame, tmp_path / "fixed.csv"), progress=False)
    assert report.interactions_added == 180


def _numbers(fail_at: int | None) -> Iterator[int]:
    for k in range(5):
        if k == fail_at:
            raise IngestError(f"item {k} is bad")
        yield k


def test_child_items_arrive_in_order_and_its_error_where_it_happened() -> None:
    with in_child_process(lambda: _numbers(None)) as items:
        assert list(items) == [0, 1, 2, 3, 4]
    seen = []
    with (
        pytest.raises(IngestError, match="item 3 is bad"),
        in_child_process(lambda: _numbers(3)) as items,
    ):
        seen.extend(items)
    assert seen == [0, 1, 2]
    assert not multiprocessing.active_children()


def test_leaving_early_stops_the_child() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"x" * 100_000

    with pytest.raises(RuntimeError, match="writer failed"), in_child_process(endless) as items:
        next(items)
        raise RuntimeError("writer failed")
    assert not multiprocessing.active_children()
