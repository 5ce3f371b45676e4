"""A bulk batch's columns checked and converted exactly as the row path would store them.

Each column is checked in Arrow when all its values are of the usual kind (plain ASCII text,
plain UTC timestamps) and value by value otherwise, with the row path's own rules
(`records.normalise_record` is the reference). Anything the row path would refuse, or that
needs it (an audio path, a value to merge), raises `NotBulk`. Nothing here touches the store,
so it may run in the reader child.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as encode
from typing import Any

from arenalens.errors import IngestError
from arenalens.ingest.records import (
    CANONICAL_FIELDS,
    CONVERSATION_COLUMNS,
    EPOCH,
    INTERACTION_COLUMNS,
    LONG_TEXT_LIMITS,
    RESPONSE_AUDIO_FIELDS,
    TEXT_LIMITS,
    TRIMMED,
    WINNERS,
    _jsonable_extra,
    _parse_timestamp,
    derived_id,
)

# Fields only the row path stores: audio paths (checked file by file), turns of a conversation
# (checked across the file), and a Parquet list of turns (expanded into records).
ROW_PATH_FIELDS = (
    "query_audio",
    *CONVERSATION_COLUMNS,
    *RESPONSE_AUDIO_FIELDS.values(),
)
TEXT_FIELDS = tuple(
    n for n in CANONICAL_FIELDS if n not in ("timestamp", "feedback", "id", *ROW_PATH_FIELDS)
)
CONTENT_FIELDS = ("query_text", "model_a", "model_b", "response_a", "response_b", "winner")
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
    limit = TEXT_LIMITS.get(name) or LONG_TEXT_LIMITS.get(name)
    if limit is not None and present and max(map(len, present)) > limit:
        raise NotBulk(f"{name}: too long")  # refused, or cut and counted, by the row path
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
            limit = TEXT_LIMITS.get(name) or LONG_TEXT_LIMITS.get(name)
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

    if any(name in columns for name in ROW_PATH_FIELDS):
        raise NotBulk("audio paths and conversation turns are checked row by row")
    if "turns" in columns and not csv_text:
        raise NotBulk("a list of turns is expanded row by row")
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


def _sqlite_datetime(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="microseconds")[:26]
