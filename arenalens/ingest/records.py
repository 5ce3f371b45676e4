"""Canonical interaction records: validation and normalisation into store rows."""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arenalens.errors import IngestError

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
)
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


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _as_text(value: Any, name: str, where: str) -> str | None:
    if _is_missing(value):
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise IngestError(f"{where}: field '{name}': expected text, got {type(value).__name__}")


def _parse_timestamp(value: Any, where: str) -> datetime | None:
    if _is_missing(value):
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value), UTC)
        if isinstance(value, datetime):
            parsed = value
        else:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise IngestError(
            f"{where}: field 'timestamp': expected ISO 8601 (e.g. 2025-01-31T12:00:00Z) "
            f"or epoch seconds, got {value!r}"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def content_hash(payload: dict[str, Any]) -> str:
    """Stable hash of a record's content (keys sorted, JSON-encoded)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _jsonable_extra(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable_extra(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable_extra(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


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
    base_dir: Path | None = None,
    occurrences: Counter[str] | None = None,
) -> NormalisedRecord:
    """Validate one canonical record; `where` ("file.jsonl line 7") prefixes every error.
    `occurrences` counts identical id-less records seen so far in the file (see `derived_id`)."""
    if not isinstance(raw, dict):
        raise IngestError(
            f"{where}: expected an object with named fields, got {type(raw).__name__}"
        )
    values = {name: raw.get(name) for name in CANONICAL_FIELDS}
    extra = {k: _jsonable_extra(v) for k, v in raw.items() if k not in CANONICAL_FIELDS}
    extra = {k: v for k, v in extra.items() if v is not None}
    text = {n: _as_text(values[n], n, where) for n in CANONICAL_FIELDS if n not in ("timestamp",)}
    timestamp = _parse_timestamp(values["timestamp"], where)

    winner = text["winner"]
    if winner is not None:
        if winner not in WINNERS:
            raise IngestError(
                f"{where}: field 'winner': expected one of {', '.join(WINNERS)}, got {winner!r}"
            )
        for side in ("model_a", "model_b"):
            if text[side] is None:
                raise IngestError(f"{where}: field '{side}': required when 'winner' is given")
        if text["model_a"] == text["model_b"]:
            raise IngestError(
                f"{where}: fields 'model_a'/'model_b': a model cannot battle itself ({text['model_a']!r})"
            )

    audio_path = None
    if text["query_audio"] is not None:
        path = Path(text["query_audio"])
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise IngestError(f"{where}: field 'query_audio': file not found: {path}")
        audio_path = str(path.resolve())

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
            return NormalisedRecord(None, text["id"], feedback_text, None, where)
        raise IngestError(
            f"{where}: expected a query (query_text or query_audio), a vote (model_a, model_b, winner), "
            f"or feedback with the id of its interaction; got fields {sorted(raw)}"
        )

    row: dict[str, Any] = {n: text[n] for n in INTERACTION_COLUMNS if n != "timestamp"}
    row["timestamp"] = timestamp
    digest = content_hash(
        {
            **{k: str(v) for k, v in row.items() if v is not None},
            "audio": audio_path,
            "extra": extra,
        }
    )
    interaction_id = text["id"]
    if interaction_id is None:
        occurrence = 1
        if occurrences is not None:
            occurrences[digest] += 1
            occurrence = occurrences[digest]
        interaction_id = derived_id(digest, occurrence)
    row.update(id=interaction_id, extra=extra, content_hash=digest)
    return NormalisedRecord(row, interaction_id, feedback_text, audio_path, where, extra)


def feedback_id(interaction_id: str, text: str) -> str:
    """Feedback rows are identified by their interaction and text (re-ingest adds nothing)."""
    return "f_" + hashlib.sha256(f"{interaction_id}\x00{text}".encode()).hexdigest()[:24]
