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
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
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

BATCH_ROWS = 50_000
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
            read_options=pa_csv.ReadOptions(block_size=1 << 24),
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
    if any(type(v) is not str for v in values if v is not None):
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


def timestamp_column(values: list[Any]) -> list[Any]:
    """`records._parse_timestamp` on every value, with its common case (ISO text) inlined."""
    out: list[Any] = []
    append, parse_iso, epoch = out.append, datetime.fromisoformat, EPOCH.fullmatch
    try:
        for value in values:
            if type(value) is str:
                text = value.strip()
                if not text:
                    append(None)
                    continue
                if not epoch(text):
                    parsed = parse_iso(text.replace("Z", "+00:00"))
                    if parsed.tzinfo is None:
                        parsed = parsed.replace(tzinfo=UTC)
                    if 1 < parsed.year < 9999:  # near the ends an offset can leave the calendar
                        append(parsed)
                        continue
            append(None if value is None else _parse_timestamp(value, ""))
    except (ValueError, IngestError) as exc:
        raise NotBulk(str(exc)) from None
    return out


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
    stamps = timestamp_column(columns["timestamp"]) if "timestamp" in columns else [None] * rows
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

    hashed = {**text, "timestamp": [None if s is None else str(s) for s in stamps]}
    # content_hash's JSON payload, built column by column instead of json.dumps per row
    payloads = ['{"audio": null, "extra": ' + e for e in extra_json]
    for name in HASHED:
        if name in hashed:
            prefix = f', "{name}": '
            payloads = [
                p if v is None else p + prefix + encode_basestring_ascii(v)
                for p, v in zip(payloads, hashed[name], strict=True)
            ]
    sha256 = hashlib.sha256
    digests = [sha256((p + "}").encode()).hexdigest() for p in payloads]
    if None in ids:
        final_ids = []
        for given, digest in zip(ids, digests, strict=True):
            if given is None:
                occurrences[digest] += 1
                given = derived_id(digest, occurrences[digest])
            final_ids.append(given)
    else:
        final_ids = ids

    none = [None] * rows
    columns = {
        "id": final_ids,
        "timestamp": stamps,
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


def batch_columns(batch: Any, renames: dict[str, str]) -> dict[str, list[Any]]:
    names = [renames.get(name, name) for name in batch.schema.names]
    if len(set(names)) != len(names) or any("\x00" in name for name in names):
        raise NotBulk("field names")
    return {name: batch.column(k).to_pylist() for k, name in enumerate(names)}


def load_interactions(conn: Connection, columns: dict[str, list[Any]]) -> int:
    """Insert a batch (skipping stored ids); NotBulk when a stored id has other content, which
    only the row path can merge or refuse. Returns the rows added."""
    dialect = conn.dialect
    if dialect.name == "sqlite":  # what SQLAlchemy's SQLite DATETIME stores, without the call
        stamp = _sqlite_datetime
    else:
        stamp = _bind(t.interactions.c.timestamp, dialect)
    extra = _bind(t.interactions.c.extra, dialect)
    empty = extra({})
    converted = {
        **columns,
        "timestamp": [None if v is None else stamp(v) for v in columns["timestamp"]],
        "extra": [extra(v) if v else empty for v in columns["extra"]],
    }
    values = list(zip(*(converted[name] for name in STORED), strict=True))
    names = ", ".join(STORED)
    if dialect.name == "postgresql":
        import psycopg

        try:
            added = _copy_postgresql(conn, names, values)
        except psycopg.Error as exc:
            raise NotBulk(str(exc)) from None
    else:
        marks = ", ".join("?" * len(STORED))
        # index pages of a large batch stay in memory (per connection; default is 2 MB)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        result = conn.exec_driver_sql(
            f"INSERT INTO interactions ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",
            values,
        )
        added = int(result.rowcount)
    if added < len(values):
        _check_conflicts(conn, columns["id"], columns["content_hash"])
    return added


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
