"""`taxonomy label-import` reads files as ingest does: a UTF-16 copy (a spreadsheet's "Unicode
text") imports like the UTF-8 original; random bytes are refused in one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from taxonomy_fixtures import ingest_rows

from arenalens.errors import ArenalensError
from arenalens.store import Store
from taxonomy import persist
from taxonomy.categories import load_categories

ROWS = [
    {"slurp_id": i, "sentence": f"wake me up at {i} am", "intent": "alarm_set", "scenario": "alarm"}
    for i in range(6)
]
LABELS = "query_id,category,modality,annotator\n" + "".join(
    f"slurp-{i},{'knowledge' if i % 2 else 'other'},text_primary,ann1\n" for i in range(6)
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_copy_imports_like_the_utf8_original(
    sqlite_store: Store, tmp_path: Path, encoding: str
) -> None:
    ingest_rows(sqlite_store, ROWS)
    path = tmp_path / "labels.csv"
    path.write_bytes(LABELS.encode(encoding))
    assert persist.import_labels(sqlite_store, path, load_categories()) == 12
    assert persist.human_labels(sqlite_store, "category").to_dict() == {
        f"slurp-{i}": "knowledge" if i % 2 else "other" for i in range(6)
    }


@pytest.mark.parametrize("seed", range(4))
def test_random_bytes_are_refused_in_one_line(sqlite_store: Store, tmp_path: Path, seed: int):
    ingest_rows(sqlite_store, ROWS)
    path = tmp_path / "labels.csv"
    path.write_bytes(random_bytes(seed))
    with pytest.raises(ArenalensError) as refused:
        persist.import_labels(sqlite_store, path, load_categories())
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)
    assert persist.human_labels(sqlite_store, "category").empty


def random_bytes(seed: int, size: int = 4096) -> bytes:
    """Reproducible noise; seed 1 starts with a UTF-16 BOM, seed 2 with NULs (UTF-16 pattern)."""
    import random

    noise = random.Random(seed).randbytes(size)
    return {1: b"\xff\xfe" + noise, 2: b"a\x00b\x00" + noise}.get(seed, noise)
