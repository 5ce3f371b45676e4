"""Agreement and prevalence read one snapshot through coding.persist, then compute without the
store; opening an annotation queue writes nothing."""

from __future__ import annotations

import re

import pandas as pd
from coding_fixtures import annotate_with_gold
from sqlalchemy import event

from arenalens.store import Store
from coding import persist
from coding.agreement import agreement_from, agreement_report
from coding.annotations import AnnotationQueue
from coding.prevalence import prevalence_from, prevalence_table


def statements_of(store: Store) -> list[str]:
    """Every SQL statement `store` sends from now on."""
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(sql))
    return seen


def reads_of(statements: list[str], table: str) -> int:
    return sum(bool(re.search(rf"\bFROM {table}\b", sql)) for sql in statements)


def test_agreement_and_prevalence_compute_from_a_snapshot_without_the_store(small_store):
    codebook = annotate_with_gold(small_store)
    names = codebook.code_names
    snapshot = persist.read_coding_snapshot(
        small_store, codebook.version_key, names, with_codes=True
    )
    statements = statements_of(small_store)
    report = agreement_from(snapshot, names, n_boot=50, seed=1)
    table = prevalence_from(snapshot, names, "model", min_validated=3)
    assert statements == []
    expected = agreement_report(small_store, codebook, n_boot=50, seed=1)
    pd.testing.assert_frame_equal(report.per_code, expected.per_code)
    pd.testing.assert_frame_equal(
        table, prevalence_table(small_store, codebook, by="model", min_validated=3)
    )
    assert report.items_annotated == 30


def test_agreement_and_prevalence_read_each_coding_table_once(small_store):
    codebook = annotate_with_gold(small_store)
    for compute in (
        lambda: agreement_report(small_store, codebook, n_boot=20),
        lambda: prevalence_table(small_store, codebook),
    ):
        statements = statements_of(small_store)
        compute()
        for table in ("coding_annotations", "coding_adjudications", "coding_assignments"):
            assert reads_of(statements, table) == 1, table


def test_opening_an_annotation_queue_and_reading_it_writes_nothing(small_store):
    codebook = annotate_with_gold(small_store)
    read_only = Store.open(str(small_store.engine.url), read_only=True)
    statements = statements_of(read_only)
    queue = AnnotationQueue(read_only, codebook)
    queue.progress()
    queue.human_labels()
    queue.next_item("someone new")
    assert statements and not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    read_only.engine.dispose()
