"""Bulk path for CSV and Parquet: Arrow reads columns, checks and hashes run column by column
(`ingest.columns`), rows load with one executemany (SQLite) or COPY (PostgreSQL) per batch.

The row-by-row path (`records.normalise_record`) is the reference. The bulk path takes only
files it can store exactly as that path would; on anything else (a value to refuse, a record
to merge into a stored one, an audio path, a field of an unusual type) it raises `NotBulk`, the
caller rolls the transaction back and re-runs the file row by row, which stores it or names the
bad record. So both paths accept the same files, write the same rows and give the same errors.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from arenalens.ingest.columns import NotBulk, Stamps, normalise_batch
from arenalens.ingest.readers import _file_head, sniff_encoding
from arenalens.ingest.records import INTERACTION_COLUMNS, feedback_id
from arenalens.store import tables as t

BATCH_ROWS = 20_000  # small enough that the writer starts soon and the reader keeps ahead
CSV_BLOCK_BYTES = 1 << 20  # Arrow's CSV batches are blocks of text: ~15k votes per MiB
SQLITE_ROWS_PER_INSERT = 64  # rows per INSERT statement: fewer statement steps than 1 per row
SQLITE_CACHE_KIB = 256 * 1024
SQLITE_SORT_THREADS = 2  # helper threads SQLite may use to sort index keys
# interactions columns in the order rows are built; `source` (the file) is set per batch
STORED = ("id", *INTERACTION_COLUMNS, "extra", "content_hash", "source")


def arrow_batches(path: Path, fmt: str, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Record batches of a UTF-8 CSV/TSV or a Parquet file, every CSV column as text."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    try:
        if fmt == "parquet":
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_rows)
            return
        if not sniff_encoding(_file_head(path, 4)).startswith("utf-8"):
            raise NotBulk("not UTF-8")
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        header = _csv_header(path, delimiter)
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if reader.schema.names != header:
            raise NotBulk("header")
        yield from reader
    except (pa.ArrowException, OSError, ValueError, csv.Error) as exc:
        raise NotBulk(str(exc)) from None


def estimated_rows(path: Path, fmt: str) -> int:
    """About how many records a CSV/TSV (from its first lines) or Parquet file (exactly) holds."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # noqa: BLE001 - unreadable: the reader says why, row by row if need be
            return 0
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)
        size = path.stat().st_size
    except OSError:  # the reader says why
        return 0
    if not head:
        return 0
    return int(size * max(1, head.count(b"\n")) / len(head))


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The header as both readers see it; unusual headers go the row-by-row way."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20).decode("utf-8-sig")
    if '"' in first or "\r" in first.rstrip("\r\n"):
        raise NotBulk("quoted header")
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    names = [name.strip() for name in header]
    if not names or len(set(names)) != len(names) or not all(names) or names != header:
        raise NotBulk("header")
    return header


@dataclass
class PreparedBatch:
    """One batch ready to write: `interactions` columns in `STORED` order, converted for the
    backend, and the feedback rows. Pickles compactly (it crosses from the reader child)."""

    rows: int
    columns: list[list[Any]]
    feedback: list[dict[str, Any]] = field(default_factory=list)

    @property
    def values(self) -> list[tuple[Any, ...]]:
        return list(zip(*self.columns, strict=True))

    @property
    def ids(self) -> list[str]:
        return self.columns[STORED.index("id")]

    @property
    def digests(self) -> list[str]:
        return self.columns[STORED.index("content_hash")]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "columns": [_few_values(c) for c in self.columns]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["columns"] = [_expand(c) for c in state["columns"]]
        self.__dict__.update(state)


def _few_values(column: list[Any]) -> Any:
    """A column of few distinct values (models, winners, languages) as those values and one
    small number per row: half the objects to pickle and unpickle for a typical vote file."""
    try:
        index = dict.fromkeys(column)
    except TypeError:  # unhashable values go as they are
        return column
    if len(index) > max(1, len(column) // 8) or len(index) > 65_535:
        return column
    for k, value in enumerate(index):
        index[value] = k
    return (list(index), array("H", map(index.__getitem__, column)).tobytes())


def _expand(column: Any) -> list[Any]:
    if isinstance(column, list):
        return column
    values, codes = column
    return list(map(values.__getitem__, array("H", codes)))


def prepare_batches(
    path: Path, fmt: str, renames: dict[str, str], source: str, dialect: Any
) -> Iterator[PreparedBatch]:
    """Read, check and hash a file batch by batch (no database access: it may run in a child
    process); NotBulk as soon as a batch needs the row-by-row path."""
    occurrences: Counter[str] = Counter()
    for batch in arrow_batches(path, fmt):
        if batch.num_rows == 0:
            continue
        columns, pairs = normalise_batch(
            batch_columns(batch, renames), batch.num_rows, fmt == "csv", occurrences
        )
        columns["source"] = [source] * batch.num_rows
        yield PreparedBatch(
            rows=batch.num_rows,
            columns=stored_columns(columns, dialect),
            feedback=feedback_rows(pairs, source),
        )


def stored_columns(columns: dict[str, Any], dialect: Any) -> list[list[Any]]:
    """The batch's columns in `STORED` order, converted as SQLAlchemy would bind them."""
    given: Stamps | None = columns["timestamp"]
    if given is None:
        stamps: list[Any] = [None] * len(columns["id"])
    elif dialect.name == "sqlite":  # what SQLAlchemy's SQLite DATETIME stores, made as text
        stamps = given.sqlite
    else:
        stamp = _bind(t.interactions.c.timestamp, dialect)
        stamps = [None if v is None else stamp(v) for v in given.values]
    extra = _bind(t.interactions.c.extra, dialect)
    empty = extra({})
    converted = {
        **columns,
        "timestamp": stamps,
        "extra": [extra(v) if v else empty for v in columns["extra"]],
    }
    return [converted[name] for name in STORED]


def batch_columns(batch: Any, renames: dict[str, str]) -> dict[str, Any]:
    """The batch's Arrow columns by (renamed) field name."""
    names = [renames.get(name, name) for name in batch.schema.names]
    if len(set(names)) != len(names) or any("\x00" in name for name in names):
        raise NotBulk("field names")
    return {name: batch.column(k) for k, name in enumerate(names)}


def load_interactions(conn: Connection, batch: PreparedBatch) -> int:
    """Insert a batch (skipping stored ids); NotBulk when a stored id has other content, which
    only the row path can merge or refuse. Returns the rows added."""
    names = ", ".join(STORED)
    if conn.dialect.name == "postgresql":
        import psycopg

        try:
            added = _copy_postgresql(conn, names, batch.values)
        except psycopg.Error as exc:
            raise NotBulk(str(exc)) from None
    else:
        # index pages of a large batch stay in memory (per connection; default is 2 MB)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        added = _insert_sqlite(conn, names, batch.columns)
    if added < batch.rows:
        _check_conflicts(conn, batch.ids, batch.digests)
    return added


def _insert_sqlite(conn: Connection, names: str, columns: list[list[Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING, SQLITE_ROWS_PER_INSERT rows per statement."""
    cursor = conn.connection.driver_connection.cursor()
    width, rows = len(columns), len(columns[0])
    flat: list[Any] = [None] * (rows * width)  # row after row, filled a column at a time
    for k, column in enumerate(columns):
        flat[k::width] = column
    row = "(" + ", ".join("?" * width) + ")"
    step = SQLITE_ROWS_PER_INSERT * width
    whole = (rows - rows % SQLITE_ROWS_PER_INSERT) * width
    before = conn.connection.driver_connection.total_changes
    try:
        if whole:
            cursor.executemany(
                f"INSERT INTO interactions ({names}) "
                f"VALUES {', '.join([row] * SQLITE_ROWS_PER_INSERT)} ON CONFLICT DO NOTHING",
                [tuple(flat[k : k + step]) for k in range(0, whole, step)],
            )
        if whole < len(flat):
            cursor.executemany(
                f"INSERT INTO interactions ({names}) VALUES {row} ON CONFLICT DO NOTHING",
                [tuple(flat[k : k + width]) for k in range(whole, len(flat), width)],
            )
    except sqlite3.Error as exc:  # the row path names the record, or stores the file
        raise NotBulk(str(exc)) from None
    return int(conn.connection.driver_connection.total_changes - before)


def defer_sqlite_indexes(conn: Connection) -> list[Any]:
    """On SQLite, drop the secondary indexes of an empty `interactions` table for the load and
    return them to be rebuilt at the end (about 40% less work than keeping them up row by row).
    Call inside a transaction begun explicitly: SQLite's DDL is transactional, so a failed load
    rolls the drop back."""
    if conn.dialect.name != "sqlite":
        return []
    if conn.exec_driver_sql("SELECT 1 FROM interactions LIMIT 1").first() is not None:
        return []
    indexes = sorted(t.interactions.indexes, key=lambda index: str(index.name))
    for index in indexes:
        index.drop(conn)
    return indexes


def build_sqlite_indexes(conn: Connection, indexes: list[Any]) -> None:
    """Rebuild the indexes `defer_sqlite_indexes` dropped. SQLite sorts the keys in runs that
    fit the page cache and merges them, sorting runs on a second thread when it may: with the
    default 2 MB cache, not the large one the load used, that is about twice as fast
    (600k votes: 2.1 s -> 1.1 s)."""
    if not indexes:
        return
    conn.exec_driver_sql("PRAGMA cache_size = -2000")
    conn.exec_driver_sql(f"PRAGMA threads = {SQLITE_SORT_THREADS}")
    try:
        for index in indexes:
            index.create(conn)
    finally:
        conn.exec_driver_sql("PRAGMA threads = 0")


def _bind(column: Any, dialect: Any) -> Any:
    """The conversion SQLAlchemy applies to this column's values on this backend."""
    return column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)


def _copy_postgresql(conn: Connection, columns: str, values: list[tuple[Any, ...]]) -> int:
    cursor = conn.connection.driver_connection.cursor()
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS arenalens_ingest_stage "
        "(LIKE interactions INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    cursor.execute("TRUNCATE arenalens_ingest_stage")
    with cursor.copy(f"COPY arenalens_ingest_stage ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO interactions ({columns}) SELECT {columns} FROM arenalens_ingest_stage "
        "ON CONFLICT DO NOTHING"
    )
    return int(cursor.rowcount)


def _check_conflicts(conn: Connection, ids: list[str], digests: list[str]) -> None:
    """Rows whose id was already stored must carry the same content, or go the row way."""
    ours = dict(zip(ids, digests, strict=True))
    if len(ours) < len(ids) and any(ours[i] != d for i, d in zip(ids, digests, strict=True)):
        raise NotBulk("an id twice in the file with different content")
    ids = list(ours)
    for start in range(0, len(ids), 10_000):
        part = ids[start : start + 10_000]
        if conn.dialect.name == "postgresql":
            found = conn.exec_driver_sql(
                "SELECT id, content_hash FROM interactions WHERE id = ANY(%(ids)s)", {"ids": part}
            )
        else:
            marks = ", ".join("?" * len(part))
            found = conn.exec_driver_sql(
                f"SELECT id, content_hash FROM interactions WHERE id IN ({marks})", tuple(part)
            )
        for interaction_id, digest in found:
            if ours[interaction_id] != digest:
                raise NotBulk("a stored id with other content")


def feedback_rows(pairs: list[tuple[str, str]], source: str) -> list[dict[str, Any]]:
    rows = {}
    for interaction_id, text in pairs:
        key = feedback_id(interaction_id, text)
        rows[key] = {"id": key, "interaction_id": interaction_id, "text": text, "source": source}
    return list(rows.values())
