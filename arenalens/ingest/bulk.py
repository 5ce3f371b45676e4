"""Bulk path for CSV and Parquet: Arrow reads columns, checks and hashes run column by column,
rows load with one executemany (SQLite) or COPY (PostgreSQL) per batch.

The row-by-row path (`records.normalise_record`) is the reference. The bulk path takes only
files it can store exactly as that path would; on anything else (a value to refuse, a record
to merge into a stored one, an audio path, a field of an unusual type) it raises `NotBulk`, the
caller rolls the transaction back and re-runs the file row by row, which stores it or names the
bad record. So both paths accept the same files, write the same rows and give the same errors.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from json.encoder import encode_basestring_ascii as encode
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from arenalens.errors import IngestError
from arenalens.ingest.readers import _file_head, sniff_encoding
from arenalens.ingest.records import (
    CANONICAL_FIELDS,
    EPOCH,
    INTERACTION_COLUMNS,
    TEXT_LIMITS,
    TRIMMED,
    WINNERS,
    _jsonable_extra,
    _parse_timestamp,
    derived_id,
    feedback_id,
)
from arenalens.store import tables as t

BATCH_ROWS = 20_000  # small enough that the writer starts soon and the reader keeps ahead
CSV_BLOCK_BYTES = 1 << 20  # Arrow's CSV batches are blocks of text: ~15k votes per MiB
SQLITE_ROWS_PER_INSERT = 64  # rows per INSERT statement: fewer statement steps than 1 per row
SQLITE_CACHE_KIB = 256 * 1024
TEXT_FIELDS = tuple(
    n for n in CANONICAL_FIELDS if n not in ("timestamp", "query_audio", "feedback", "id")
)
CONTENT_FIELDS = ("query_text", "model_a", "model_b", "response_a", "response_b", "winner")
# interactions columns in the order rows are built; `source` (the file) is set per batch
STORED = ("id", *INTERACTION_COLUMNS, "extra", "content_hash", "source")
HASHED = (  # the keys of `content_hash`'s payload besides audio and extra, sorted
    "language",
    "model_a",
    "model_b",
    "query_text",
    "response_a",
    "response_b",
    "timestamp",
    "user_id",
    "winner",
)


class NotBulk(Exception):
    """This file needs the row-by-row path (which stores it exactly or names the bad record)."""


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


def text_column(values: list[Any], name: str) -> list[str | None]:
    """A canonical text field as `records._as_text` makes it; NotBulk where it would refuse."""
    if not set(map(type, values)) <= {str, type(None)}:
        if not all(v is None or type(v) in (str, int) for v in values):
            raise NotBulk(f"{name}: values that are not text")
        values = [v if v is None or type(v) is str else str(v) for v in values]
    if name in TRIMMED:
        out = [None if v is None else (v.strip() or None) for v in values]
    else:
        out = [None if v is None or not v.strip() else v for v in values]
    present = [v for v in out if v is not None]
    if "\x00" in "".join(present):
        raise NotBulk(f"{name}: NUL")
    limit = TEXT_LIMITS.get(name)
    if limit is not None and present and max(map(len, present)) > limit:
        raise NotBulk(f"{name}: too long")
    return out


def extra_column(values: list[Any], name: str, csv_text: bool) -> list[Any]:
    """An extra field's values as the row path stores them (None where the record lacks it)."""
    if csv_text:
        out = [None if v == "" else v for v in values]
        if "\x00" in "".join(v for v in out if v is not None):
            raise NotBulk(f"{name}: NUL")
        return out
    try:
        return [None if v is None else _jsonable_extra(v, name, "") for v in values]
    except (IngestError, RecursionError) as exc:
        raise NotBulk(str(exc)) from None


# The usual export form: UTC or no offset, whole seconds or microseconds. Its two text forms
# (as hashed: str(datetime); as SQLite stores it) are cut from the text instead of formatted.
PLAIN_UTC_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{6}))?(Z|\+00:00)?"
)


@dataclass
class Stamps:
    """A batch's timestamps: aware datetimes, the text `content_hash` hashes (str of each),
    and the text SQLite stores (what SQLAlchemy's DATETIME writes)."""

    values: list[datetime | None]
    hashed: list[str | None]
    sqlite: list[str | None]


def timestamp_column(values: list[Any]) -> Stamps:
    """`records._parse_timestamp` on every value, with its common case (ISO text) inlined."""
    stamps: list[datetime | None] = []
    hashed: list[str | None] = []
    stored: list[str | None] = []
    parse_iso, epoch, plain = datetime.fromisoformat, EPOCH.fullmatch, PLAIN_UTC_STAMP.fullmatch
    try:
        for value in values:
            parsed = None
            if type(value) is str:
                text = value.strip()
                if not text:
                    stamps.append(None), hashed.append(None), stored.append(None)
                    continue
                if not epoch(text):
                    parsed = parse_iso(text.replace("Z", "+00:00"))
                    if parsed.tzinfo is None:
                        parsed = parsed.replace(tzinfo=UTC)
                    if not 1 < parsed.year < 9999:  # near the ends an offset leaves the calendar
                        parsed = None
                    elif match := plain(text):
                        day, time, fraction, _ = match.groups()
                        exact = f".{fraction}" if fraction and fraction != "000000" else ""
                        stamps.append(parsed)
                        hashed.append(f"{day} {time}{exact}+00:00")
                        stored.append(f"{day} {time}.{fraction or '000000'}")
                        continue
            if parsed is None:
                parsed = None if value is None else _parse_timestamp(value, "")
            stamps.append(parsed)
            hashed.append(None if parsed is None else str(parsed))
            stored.append(None if parsed is None else _sqlite_datetime(parsed))
    except (ValueError, IngestError) as exc:
        raise NotBulk(str(exc)) from None
    return Stamps(stamps, hashed, stored)


def normalise_batch(
    columns: dict[str, list[Any]], rows: int, csv_text: bool, occurrences: Counter[str]
) -> tuple[dict[str, list[Any]], list[tuple[str, str]]]:
    """The `interactions` columns (`STORED`, extra as dicts) and (interaction id, feedback)
    pairs of a batch, exactly as `normalise_record` would make them."""
    if "query_audio" in columns:
        raise NotBulk("audio paths are checked row by row")
    text = {name: text_column(columns[name], name) for name in TEXT_FIELDS if name in columns}
    ids = text_column(columns["id"], "id") if "id" in columns else [None] * rows
    feedback = text_column(columns["feedback"], "feedback") if "feedback" in columns else None
    none = [None] * rows
    stamps = timestamp_column(columns["timestamp"]) if "timestamp" in columns else None
    extras_by_name = {
        name: extra_column(values, name, csv_text)
        for name, values in columns.items()
        if name not in CANONICAL_FIELDS
    }

    winner = text.get("winner")
    if winner is not None:
        if set(winner) - {None, *WINNERS}:
            raise NotBulk("winner")
        model_a = text.get("model_a", [None] * rows)
        model_b = text.get("model_b", [None] * rows)
        for w, a, b in zip(winner, model_a, model_b, strict=True):
            if w is not None and (a is None or b is None or a == b):
                raise NotBulk("vote")
    content = [text[n] for n in CONTENT_FIELDS if n in text]
    if not content or not all(map(any, zip(*content, strict=True))):
        raise NotBulk("a record without a query or vote")

    if extras_by_name:
        names = list(extras_by_name)
        extras = [
            {k: v for k, v in zip(names, values, strict=True) if v is not None}
            for values in zip(*extras_by_name.values(), strict=True)
        ]
        extra_json = [json.dumps(e, sort_keys=True, default=str) for e in extras]
    else:
        extras = [{} for _ in range(rows)]
        extra_json = ["{}"] * rows

    hashed = {**text, "timestamp": stamps.hashed if stamps else none}
    # content_hash's JSON payload, built column by column instead of json.dumps per row
    parts = [['{"audio": null, "extra": ' + e for e in extra_json]]
    for name in HASHED:
        if name in hashed:
            prefix = f', "{name}": '
            encoded: dict[str | None, str] = {None: ""}  # values repeat: encode each once
            parts.append(
                [
                    encoded[v] if v in encoded else encoded.setdefault(v, prefix + encode(v))
                    for v in hashed[name]
                ]
            )
    parts.append(["}"] * rows)
    payloads = list(map("".join, zip(*parts, strict=True)))
    sha256 = hashlib.sha256
    digests = [sha256(p.encode()).hexdigest() for p in payloads]
    if None in ids:
        final_ids = []
        for given, digest in zip(ids, digests, strict=True):
            if given is None:
                occurrences[digest] += 1
                given = derived_id(digest, occurrences[digest])
            final_ids.append(given)
    else:
        final_ids = ids

    columns = {
        "id": final_ids,
        "timestamp": stamps.values if stamps else none,
        "timestamp_sqlite": stamps.sqlite if stamps else none,
        **{name: text.get(name, none) for name in INTERACTION_COLUMNS[1:]},
        "extra": extras,
        "content_hash": digests,
    }
    pairs = (
        []
        if feedback is None
        else [(i, f) for i, f in zip(final_ids, feedback, strict=True) if f is not None]
    )
    return columns, pairs


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


def stored_columns(columns: dict[str, list[Any]], dialect: Any) -> list[list[Any]]:
    """The batch's columns in `STORED` order, converted as SQLAlchemy would bind them."""
    if dialect.name == "sqlite":  # what SQLAlchemy's SQLite DATETIME stores, made with the stamps
        stamps = columns["timestamp_sqlite"]
    else:
        stamp = _bind(t.interactions.c.timestamp, dialect)
        stamps = [None if v is None else stamp(v) for v in columns["timestamp"]]
    extra = _bind(t.interactions.c.extra, dialect)
    empty = extra({})
    converted = {
        **columns,
        "timestamp": stamps,
        "extra": [extra(v) if v else empty for v in columns["extra"]],
    }
    return [converted[name] for name in STORED]


def batch_columns(batch: Any, renames: dict[str, str]) -> dict[str, list[Any]]:
    names = [renames.get(name, name) for name in batch.schema.names]
    if len(set(names)) != len(names) or any("\x00" in name for name in names):
        raise NotBulk("field names")
    return {name: batch.column(k).to_pylist() for k, name in enumerate(names)}


def load_interactions(conn: Connection, batch: PreparedBatch) -> int:
    """Insert a batch (skipping stored ids); NotBulk when a stored id has other content, which
    only the row path can merge or refuse. Returns the rows added."""
    values = batch.values
    names = ", ".join(STORED)
    if conn.dialect.name == "postgresql":
        import psycopg

        try:
            added = _copy_postgresql(conn, names, values)
        except psycopg.Error as exc:
            raise NotBulk(str(exc)) from None
    else:
        # index pages of a large batch stay in memory (per connection; default is 2 MB)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        added = _insert_sqlite(conn, names, values)
    if added < len(values):
        _check_conflicts(conn, batch.ids, batch.digests)
    return added


def _insert_sqlite(conn: Connection, names: str, values: list[tuple[Any, ...]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING, SQLITE_ROWS_PER_INSERT rows per statement."""
    cursor = conn.connection.driver_connection.cursor()
    row = "(" + ", ".join("?" * len(STORED)) + ")"
    per = SQLITE_ROWS_PER_INSERT
    whole = len(values) - len(values) % per
    before = conn.connection.driver_connection.total_changes
    try:
        if whole:
            cursor.executemany(
                f"INSERT INTO interactions ({names}) VALUES {', '.join([row] * per)} "
                "ON CONFLICT DO NOTHING",
                [tuple(chain.from_iterable(values[k : k + per])) for k in range(0, whole, per)],
            )
        if whole < len(values):
            cursor.executemany(
                f"INSERT INTO interactions ({names}) VALUES {row} ON CONFLICT DO NOTHING",
                values[whole:],
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


def _sqlite_datetime(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")[:26]


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
