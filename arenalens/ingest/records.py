"""Canonical interaction records: validation and normalisation into store rows."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from arenalens.errors import IngestError
from arenalens.paths import UnsafePathError, confine_audio
from arenalens.store import tables as t

CANONICAL_FIELDS = (
    "id",
    "timestamp",
    "user_id",
    "language",
    "query_text",
    "query_audio",
    "model_a",
    "model_b",
    "response_a",
    "response_b",
    "winner",
    "feedback",
    "conversation_id",
    "turn",
    "response_audio_a",
    "response_audio_b",
)
# Fields of a turn of a conversation and of spoken answers: a file without them is stored
# exactly as before they existed (same ids, same rows).
CONVERSATION_COLUMNS = ("conversation_id", "turn")
RESPONSE_AUDIO_FIELDS = {"a": "response_audio_a", "b": "response_audio_b"}
MAX_TURN = 100_000
WINNERS = ("model_a", "model_b", "tie")
INTERACTION_COLUMNS = (
    "timestamp",
    "user_id",
    "language",
    "query_text",
    "model_a",
    "model_b",
    "response_a",
    "response_b",
    "winner",
)


@dataclass
class NormalisedRecord:
    """One input record split into the rows it produces."""

    interaction: dict[str, Any] | None  # None: a feedback-only record for an existing interaction
    interaction_id: str
    feedback_text: str | None = None
    audio_path: str | None = None
    location: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    truncated: tuple[str, ...] = ()  # long-text fields cut to LONG_TEXT_LIMITS
    response_audio: dict[str, str] = field(default_factory=dict)  # side ('a'|'b') -> path


# Column lengths of the interactions table: longer values are refused before the store (where
# PostgreSQL would refuse them and SQLite would not), so both backends accept the same files.
TEXT_LIMITS = {
    name: t.interactions.c[name].type.length
    for name in ("id", "user_id", "language", "model_a", "model_b", "conversation_id")
}
# Long free text is kept to its first this-many characters (and the cut counted in the ingest
# summary): a 50 MB feedback text would otherwise be stored, embedded and coded whole.
LONG_TEXT_LIMITS = {
    "query_text": 100_000,
    "response_a": 100_000,
    "response_b": 100_000,
    "feedback": 100_000,
}
TRIMMED = frozenset(
    ("id", "user_id", "language", "model_a", "model_b", "winner", "conversation_id")
)
EPOCH = re.compile(r"-?\d+(\.\d*)?")
QUOTE_LIMIT = 80


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """A value for an error message: repr, cut to about `limit` characters."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def field_name(name: str, limit: int = QUOTE_LIMIT) -> str:
    """A field name for an error message: control characters escaped, cut to about `limit`."""
    shown = name if name.isprintable() else repr(name)[1:-1]
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(name):,} characters)"


def check_text(text: str, name: str, where: str) -> None:
    """Refuse text no store can hold the same way: NUL characters, unpaired surrogates."""
    if "\x00" in text:
        raise IngestError(
            f"{where}: field '{field_name(name)}': contains a NUL character, {quote(text)}"
        )
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise IngestError(
                f"{where}: field '{field_name(name)}': contains an unpaired surrogate "
                f"(\\u{ord(text[exc.start]):04x}); expected valid Unicode text"
            ) from exc


def cut_long_text(text: str, name: str) -> str:
    """`text` kept to the first LONG_TEXT_LIMITS[name] characters (trailing space dropped)."""
    limit = LONG_TEXT_LIMITS[name]
    return text if len(text) <= limit else text[:limit].rstrip()


def _non_finite(value: float, name: str, where: str) -> IngestError:
    return IngestError(
        f"{where}: field '{field_name(name)}': {value!r} is not a value; expected a finite "
        "number or text"
    )


def _as_text(value: Any, name: str, where: str) -> str | None:
    """A canonical field as text (None when missing), trimmed where it is an identifier."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip() if name in TRIMMED else value
        if not text or (text[0].isspace() and not text.strip()):
            return None
    elif isinstance(value, bool):
        raise IngestError(f"{where}: field '{name}': expected text, got a boolean ({value})")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _non_finite(value, name, where)
        text = str(value)
    else:
        raise IngestError(f"{where}: field '{name}': expected text, got {type(value).__name__}")
    check_text(text, name, where)
    limit = TEXT_LIMITS.get(name)
    if limit is not None and len(text) > limit:
        raise IngestError(
            f"{where}: field '{name}': {len(text):,} characters, at most {limit} allowed "
            f"({quote(text)})"
        )
    return text


def _parse_timestamp(value: Any, where: str) -> datetime | None:
    """ISO 8601 text or epoch seconds (number or digits) as an aware datetime."""
    if value is None:
        return None
    expected = "expected ISO 8601 (e.g. 2025-01-31T12:00:00Z) or epoch seconds, got " + quote(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if EPOCH.fullmatch(text):
            value = float(text)
    if isinstance(value, bool):
        raise IngestError(f"{where}: field 'timestamp': {expected}")
    if isinstance(value, float) and not math.isfinite(value):
        raise _non_finite(value, "timestamp", where)
    try:
        if isinstance(value, int | float):
            parsed = datetime.fromtimestamp(float(value), UTC)
        elif isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        else:
            raise ValueError(type(value).__name__)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        parsed.astimezone(UTC)  # offsets that leave the calendar (near year 1 or 9999) fail here
    except (ValueError, OverflowError, OSError) as exc:
        raise IngestError(f"{where}: field 'timestamp': {expected}") from exc
    return parsed


def content_hash(payload: dict[str, Any]) -> str:
    """Stable hash of a record's content (keys sorted, JSON-encoded)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _jsonable_extra(value: Any, name: str, where: str) -> Any:
    """An extra field as a JSON value both backends store alike; refuses what they cannot."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        check_text(value, name, where)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _non_finite(value, name, where)
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            key = str(key)
            check_text(key, name, where)
            out[key] = _jsonable_extra(item, f"{name}.{key}", where)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable_extra(v, f"{name}[{k}]", where) for k, v in enumerate(value)]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _jsonable_extra(float(value), name, where)
    if hasattr(value, "item") and not isinstance(value, bytes | bytearray):
        return _jsonable_extra(value.item(), name, where)
    raise IngestError(
        f"{where}: field '{field_name(name)}': expected text, a number or JSON, "
        f"got {type(value).__name__}"
    )


def derived_id(digest: str, occurrence: int) -> str:
    """Id of a record without one: its content plus its occurrence number among identical
    records of the same file (1st, 2nd, ... "A,B,model_a"), so duplicates stay separate votes,
    re-ingesting a file adds nothing and appended rows add exactly themselves."""
    if occurrence == 1:  # the first occurrence keeps the id earlier versions gave it
        return f"h_{digest[:24]}"
    return "h_" + hashlib.sha256(f"{digest}#{occurrence}".encode()).hexdigest()[:24]


def normalise_record(
    raw: dict[str, Any],
    where: str,
    audio_root: Path | None = None,
    audio_base: Path | None = None,
    occurrences: Counter[str] | None = None,
) -> NormalisedRecord:
    """Validate one canonical record; `where` ("file.jsonl line 7") prefixes every error.
    `query_audio` (relative to `audio_base`) must be an audio file inside `audio_root`.
    `occurrences` counts identical id-less records seen so far in the file (see `derived_id`)."""
    if not isinstance(raw, dict):
        raise IngestError(
            f"{where}: expected an object with named fields, got {type(raw).__name__}"
        )
    values = {name: raw.get(name) for name in CANONICAL_FIELDS}
    try:
        extra = {
            k: _jsonable_extra(v, k, where)
            for k, v in raw.items()
            if v is not None and k not in CANONICAL_FIELDS
        }
    except RecursionError as exc:
        raise IngestError(f"{where}: a field is nested too deeply") from exc
    for key in extra:
        check_text(key, key, where)
    text = {
        n: _as_text(values[n], n, where) for n in CANONICAL_FIELDS if n not in ("timestamp", "turn")
    }
    truncated = tuple(
        n for n, limit in LONG_TEXT_LIMITS.items() if text[n] is not None and len(text[n]) > limit
    )
    for name in truncated:
        text[name] = cut_long_text(text[name], name)
    timestamp = _parse_timestamp(values["timestamp"], where)

    winner = text["winner"]
    if winner is not None:
        if winner not in WINNERS:
            raise IngestError(
                f"{where}: field 'winner': expected one of {', '.join(WINNERS)}, got {quote(winner)}"
            )
        for side in ("model_a", "model_b"):
            if text[side] is None:
                raise IngestError(f"{where}: field '{side}': required when 'winner' is given")
        if text["model_a"] == text["model_b"]:
            raise IngestError(
                f"{where}: fields 'model_a'/'model_b': a model cannot battle itself "
                f"({quote(text['model_a'])})"
            )

    root = audio_root or audio_base or Path.cwd()
    audio_path = _confined_audio(text["query_audio"], "query_audio", root, audio_base, where)
    response_audio = {
        side: path
        for side, name in RESPONSE_AUDIO_FIELDS.items()
        if (path := _confined_audio(text[name], name, root, audio_base, where)) is not None
    }
    turn = _parse_turn(values["turn"], text["conversation_id"], where)
    if turn is not None and audio_path is None and text["query_text"] is None:
        raise IngestError(
            f"{where}: conversation {shown_conversation(text['conversation_id'])}: turn {turn} has no query; "
            "every turn needs query_text or query_audio"
        )

    has_interaction_content = (
        any(
            text[n] is not None
            for n in ("query_text", "model_a", "model_b", "response_a", "response_b", "winner")
        )
        or audio_path is not None
    )
    feedback_text = text["feedback"]
    if not has_interaction_content:
        if feedback_text is not None and text["id"] is not None:
            return NormalisedRecord(
                None, text["id"], feedback_text, None, where, truncated=truncated
            )
        raise IngestError(
            f"{where}: expected a query (query_text or query_audio), a vote (model_a, model_b, "
            f"winner), or feedback with the id of its interaction; got fields {quote(sorted(raw))}"
        )

    row: dict[str, Any] = {n: text[n] for n in INTERACTION_COLUMNS if n != "timestamp"}
    row["timestamp"] = timestamp
    if turn is not None:
        row.update(conversation_id=text["conversation_id"], turn=turn)
    payload = {
        **{k: str(v) for k, v in row.items() if v is not None},
        "audio": audio_path,
        "extra": extra,
    }
    if response_audio:  # hashed only when given, so single-turn text records keep their ids
        payload["response_audio"] = response_audio
    digest = content_hash(payload)
    interaction_id = text["id"]
    if interaction_id is None:
        occurrence = 1
        if occurrences is not None:
            occurrences[digest] += 1
            occurrence = occurrences[digest]
        interaction_id = derived_id(digest, occurrence)
    row.update(id=interaction_id, extra=extra, content_hash=digest)
    return NormalisedRecord(
        row, interaction_id, feedback_text, audio_path, where, extra, truncated, response_audio
    )


def _confined_audio(
    value: str | None, name: str, root: Path, base: Path | None, where: str
) -> str | None:
    """An audio path field (`query_audio`, `response_audio_a/b`) resolved inside `root`, or
    IngestError naming the field and why (outside the root, missing, not audio)."""
    if value is None:
        return None
    try:
        return str(confine_audio(value, root, base))
    except UnsafePathError as exc:
        raise IngestError(f"{where}: field '{name}': {exc}") from None


def _parse_turn(value: Any, conversation_id: str | None, where: str) -> int | None:
    """A turn number (1, 2, ...) given with its conversation; None for a single-turn record."""
    if isinstance(value, str):
        value = value.strip() or None
    if value is None:
        if conversation_id is not None:
            raise IngestError(
                f"{where}: field 'turn': required with 'conversation_id' "
                "(1 for the first turn of the conversation)"
            )
        return None
    if conversation_id is None:
        raise IngestError(
            f"{where}: field 'turn': needs 'conversation_id' (the conversation this turn is part of)"
        )
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if number is None or not 1 <= number <= MAX_TURN:
        raise IngestError(
            f"{where}: field 'turn': expected a whole number from 1 to {MAX_TURN:,}, "
            f"got {quote(value)}"
        )
    return number


def shown_conversation(conversation_id: str | None) -> str:
    """A conversation id for a message: as it is when short and plain, else quoted."""
    text = str(conversation_id)
    plain = text.isprintable() and " " not in text
    return text if plain and len(text) <= QUOTE_LIMIT else quote(text)


def feedback_id(interaction_id: str, text: str) -> str:
    """Feedback rows are identified by their interaction and text (re-ingest adds nothing)."""
    return "f_" + hashlib.sha256(f"{interaction_id}\x00{text}".encode()).hexdigest()[:24]
