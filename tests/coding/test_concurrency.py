"""Annotations saved by many processes at once are all kept, each as one row."""

from __future__ import annotations

import multiprocessing

import pytest
from coding_fixtures import make_arena, save_annotations_worker

from arenalens.store import Store
from coding import persist
from coding.annotations import AnnotationQueue
from coding.codebook import load_codebook

PROCESSES = 8
SAVES_EACH = 500


@pytest.mark.slow
def test_eight_processes_saving_500_each_leave_exactly_4000_rows(db_url: str):
    store = Store.open(db_url)
    make_arena(store, n=10)
    codebook = load_codebook()
    AnnotationQueue(store, codebook)  # registers the codebook version before the rush
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    workers = [
        context.Process(target=save_annotations_worker, args=(db_url, k, SAVES_EACH, barrier))
        for k in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    rows = persist.annotations_frame(store, codebook.version_key, latest_only=False)
    assert len(rows) == PROCESSES * SAVES_EACH == 4000
    assert rows["id"].is_unique
    assert rows.groupby("annotator").size().to_dict() == {
        f"annotator-{k}": SAVES_EACH for k in range(PROCESSES)
    }
    assert set(rows["note"]) == {f"{k}/{i}" for k in range(PROCESSES) for i in range(SAVES_EACH)}
    store.engine.dispose()
