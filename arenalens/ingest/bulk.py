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
import functools
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
SQLITE_SORT_THREADS = 2  # helper threads SQLite may use to sort index keys
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


# Text that needs no normalising: printable ASCII with no space at either end (so `strip` and
# the NUL check have nothing to do, and length is UTF-8 length), or empty (which becomes None).
PLAIN_TEXT = r"^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$"
# ... and whose JSON string is itself in quotes (no " or \\): the usual column, checked first
PLAIN_JSON_TEXT = (
    r"^(?:[\x21\x23-\x5b\x5d-\x7e](?:[\x20\x21\x23-\x5b\x5d-\x7e]*[\x21\x23-\x5b\x5d-\x7e])?)?$"
)


def text_array(values: Any, name: str) -> tuple[Any, bool]:
    """`text_column` on an Arrow column, as an Arrow string array (in Arrow when every value is
    `PLAIN_TEXT`, else value by value), and whether every value is `PLAIN_JSON_TEXT`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_text(values):
        json_plain = _all(pc.match_substring_regex(values, PLAIN_JSON_TEXT))
        if json_plain or _all(pc.match_substring_regex(values, PLAIN_TEXT)):
            limit = TEXT_LIMITS.get(name)
            longest = pc.max(pc.utf8_length(values)).as_py()
            if limit is not None and longest is not None and longest > limit:
                raise NotBulk(f"{name}: too long")
            values = values.cast(pa.string())
            empty = pc.equal(values, "")
            return pc.if_else(empty, pa.scalar(None, pa.string()), values), json_plain
    return pa.array(text_column(values.to_pylist(), name), pa.string()), False


def _is_text(values: Any) -> bool:
    """Whether an Arrow column holds text (string or large_string)."""
    import pyarrow as pa

    return bool(pa.types.is_string(values.type) or pa.types.is_large_string(values.type))


def _all(mask: Any) -> bool:
    """Whether every non-null value of a boolean Arrow array is true."""
    import pyarrow.compute as pc

    return pc.all(mask).as_py() is not False


def json_parts(values: Any, prefix: str, json_plain: bool) -> Any:
    """`prefix` + the JSON string of each value ("" for None), as Arrow text; `json_plain`
    says each value's JSON string is the value in quotes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if json_plain:
        return pc.fill_null(pc.binary_join_element_wise(prefix + '"', values, '"', ""), "")
    encoded: dict[str | None, str] = {None: ""}  # values repeat: encode each once
    return pa.array(
        [
            encoded[v] if v in encoded else encoded.setdefault(v, prefix + encode(v))
            for v in values.to_pylist()
        ],
        pa.string(),
    )


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
    """A batch's timestamps: the text `content_hash` hashes (str of each aware datetime), the
    text SQLite stores (what SQLAlchemy's DATETIME writes) and the aware datetimes (for other
    backends; made from the hashed text when not given)."""

    hashed: Any  # an Arrow string array
    sqlite: list[str | None]
    given: list[datetime | None] | None = None

    @property
    def values(self) -> list[datetime | None]:
        if self.given is None:
            parse = datetime.fromisoformat
            self.given = [None if h is None else parse(h) for h in self.hashed.to_pylist()]
        return self.given


# PLAIN_UTC_STAMP (ASCII digits, a year from 0002 to 9998: those the calendar check below
# covers and `_parse_timestamp` takes as they are) or empty
ARROW_STAMP = (
    r"^(?:(?:000[2-9]|00[1-9]\d|0[1-9]\d\d|[1-8]\d{3}|9[0-8]\d\d|99[0-8]\d|999[0-8])"
    r"-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{6})?(?:Z|\+00:00)?)?$"
)


def timestamp_array(values: Any) -> Stamps:
    """`timestamp_column` on an Arrow column: in Arrow when every value is a plain UTC stamp
    (or empty) that is a real date and time (it survives parsing and printing unchanged),
    else value by value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not _is_text(values):
        return timestamp_column(values.to_pylist())
    if not _all(pc.match_substring_regex(values, ARROW_STAMP)):
        return timestamp_column(values.to_pylist())
    text = values.cast(pa.string())
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    day, time = pc.utf8_slice_codeunits(text, 0, 10), pc.utf8_slice_codeunits(text, 11, 19)
    printed = pc.strptime(
        pc.binary_join_element_wise(day, time, "T"),
        format="%Y-%m-%dT%H:%M:%S",
        unit="s",
        error_is_null=True,
    ).cast(pa.string())  # "YYYY-MM-DD HH:MM:SS"; null where it is no date (30 February)
    plain = pc.binary_join_element_wise(day, time, " ")
    if not _all(pc.or_(pc.is_null(text), pc.fill_null(pc.equal(printed, plain), False))):
        return timestamp_column(values.to_pylist())  # the reference refuses, naming the record
    given = pc.equal(pc.utf8_slice_codeunits(text, 19, 20), ".")
    fraction = pc.if_else(given, pc.utf8_slice_codeunits(text, 20, 26), "000000")
    exact = pc.if_else(
        pc.equal(fraction, "000000"), "", pc.binary_join_element_wise(".", fraction, "")
    )
    return Stamps(
        hashed=pc.binary_join_element_wise(plain, exact, "+00:00", ""),
        sqlite=pc.binary_join_element_wise(plain, fraction, ".").to_pylist(),
    )


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
    import pyarrow as pa

    return Stamps(hashed=pa.array(hashed, pa.string()), sqlite=stored, given=stamps)


def normalise_batch(
    columns: dict[str, Any], rows: int, csv_text: bool, occurrences: Counter[str]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The `interactions` columns (`STORED`: lists, extra as dicts, timestamp as `Stamps` or
    None) and (interaction id, feedback) pairs of a batch of Arrow columns, exactly as
    `normalise_record` would make them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "query_audio" in columns:
        raise NotBulk("audio paths are checked row by row")
    text, json_plain = {}, {"timestamp"}  # a stamp's text is digits and separators
    for name in TEXT_FIELDS:
        if name in columns:
            text[name], plain = text_array(columns[name], name)
            if plain:
                json_plain.add(name)
    ids = text_array(columns["id"], "id")[0] if "id" in columns else None
    feedback = (
        text_column(columns["feedback"].to_pylist(), "feedback") if "feedback" in columns else None
    )
    none = [None] * rows
    stamps = timestamp_array(columns["timestamp"]) if "timestamp" in columns else None
    extras_by_name = {
        name: extra_column(values.to_pylist(), name, csv_text)
        for name, values in columns.items()
        if name not in CANONICAL_FIELDS
    }

    winner = text.get("winner")
    if winner is not None:
        if set(pc.unique(winner).to_pylist()) - {None, *WINNERS}:
            raise NotBulk("winner")
        nulls = pa.nulls(rows, pa.string())
        model_a, model_b = text.get("model_a", nulls), text.get("model_b", nulls)
        unpaired = pc.or_(pc.or_(pc.is_null(model_a), pc.is_null(model_b)),
                          pc.fill_null(pc.equal(model_a, model_b), False))  # fmt: skip
        if pc.any(pc.and_(pc.is_valid(winner), unpaired)).as_py():
            raise NotBulk("vote")
    content = [pc.is_valid(text[n]) for n in CONTENT_FIELDS if n in text]
    if not content or not _all(functools.reduce(pc.or_, content)):
        raise NotBulk("a record without a query or vote")

    if extras_by_name:
        names = list(extras_by_name)
        extras = [
            {k: v for k, v in zip(names, values, strict=True) if v is not None}
            for values in zip(*extras_by_name.values(), strict=True)
        ]
        extra_json: Any = pa.array(
            [json.dumps(e, sort_keys=True, default=str) for e in extras], pa.string()
        )
    else:
        extras = [{} for _ in range(rows)]
        extra_json = pa.scalar("{}")

    # content_hash's JSON payload, built column by column in Arrow instead of json.dumps per row
    parts: list[Any] = [pa.scalar('{"audio": null, "extra": '), extra_json]
    hashed = {**text, "timestamp": None if stamps is None else stamps.hashed}
    for name in HASHED:
        if hashed.get(name) is not None:
            parts.append(json_parts(hashed[name], f', "{name}": ', name in json_plain))
    parts.append(pa.scalar("}"))
    payloads = pc.binary_join_element_wise(*parts, "").cast(pa.binary()).to_pylist()
    sha256 = hashlib.sha256
    digests = [sha256(p).hexdigest() for p in payloads]
    given = none if ids is None else ids.to_pylist()
    if ids is None or ids.null_count:
        final_ids = []
        for interaction_id, digest in zip(given, digests, strict=True):
            if interaction_id is None:
                occurrences[digest] += 1
                interaction_id = derived_id(digest, occurrences[digest])
            final_ids.append(interaction_id)
    else:
        final_ids = given

    columns = {
        "id": final_ids,
        "timestamp": stamps,
        **{
            name: text[name].to_pylist() if name in text else none
            for name in INTERACTION_COLUMNS[1:]
        },
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
