"""Ingest files into the store: one transaction per file, idempotent, streaming in chunks."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import DBAPIError
from tqdm import tqdm

from arenalens.errors import IngestError
from arenalens.ingest import bulk as bulk_path
from arenalens.ingest.background import can_fork, in_child_process
from arenalens.ingest.bulk import NotBulk
from arenalens.ingest.conversations import ConversationCheck, expand_records, is_nested_conversation
from arenalens.ingest.readers import detect_format, read_records
from arenalens.ingest.records import (
    CONVERSATION_COLUMNS,
    INTERACTION_COLUMNS,
    NormalisedRecord,
    feedback_id,
    normalise_record,
    quote,
)
from arenalens.paths import audio_duration_s
from arenalens.store import Store, utcnow
from arenalens.store import tables as t

CHUNK_RECORDS = 2000
# bulk files of about this many rows or more are read in a child process: below it, starting
# the child and the writes it cannot overlap (index build, commit) outweigh what it saves
BACKGROUND_MIN_ROWS = 200_000
PROGRESS_AFTER_S = 2.0
# Bump when a file's records would be stored differently, so unchanged files are read again.
# 2: an id-less record's id counts its occurrences (duplicates are separate votes).
INGEST_RULES_VERSION = 2  # a progress bar appears only on ingests that take longer


@dataclass
class IngestReport:
    """What one ingest call did."""

    path: str
    format: str
    records: int = 0
    interactions_added: int = 0
    interactions_merged: int = 0
    feedback_added: int = 0
    audio_added: int = 0
    response_audio_added: int = 0
    conversations: int = 0  # conversations the records are turns of
    audio_root: str = ""
    skipped: bool = False  # the same file was ingested before: nothing read
    bulk: bool = False  # stored by the bulk (Arrow) path
    note: str = ""
    truncated: dict[str, int] = field(default_factory=dict)  # field -> records cut to its limit

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _merge_existing(
    conn: Connection, record: NormalisedRecord, existing: Mapping[str, Any]
) -> bool:
    """Fill columns that the stored row lacks; refuse contradictions. True if the row changed."""
    new = record.interaction or {}
    if existing["content_hash"] == new.get("content_hash"):
        return False
    changes: dict[str, Any] = {}
    for column in (*INTERACTION_COLUMNS, *CONVERSATION_COLUMNS):
        old_value, new_value = existing[column], new.get(column)
        if new_value is None:
            continue
        if old_value is None:
            changes[column] = new_value
        elif column == "timestamp" and old_value.replace(tzinfo=None) == new_value.replace(
            tzinfo=None
        ):
            continue
        elif old_value != new_value:
            raise IngestError(
                f"{record.location}: field '{column}': interaction {quote(record.interaction_id)} "
                f"is already stored with {quote(old_value)}, this record says {quote(new_value)}"
            )
    old_extra = dict(existing["extra"] or {})
    for key, value in record.extra.items():
        if key in old_extra and old_extra[key] != value:
            raise IngestError(
                f"{record.location}: field '{key}': interaction {quote(record.interaction_id)} "
                f"is already stored with {quote(old_extra[key])}, this record says {quote(value)}"
            )
    if set(record.extra) - set(old_extra):
        changes["extra"] = {**old_extra, **record.extra}
    if not changes:
        return False
    conn.execute(
        update(t.interactions).where(t.interactions.c.id == record.interaction_id).values(**changes)
    )
    return True


def _write_chunk(
    store: Store, conn: Connection, records: list[NormalisedRecord], report: IngestReport
) -> None:
    for record in records:
        for name in record.truncated:
            report.truncated[name] = report.truncated.get(name, 0) + 1
    interaction_records = [r for r in records if r.interaction is not None]
    ids = sorted({r.interaction_id for r in records})
    existing = {
        row["id"]: row
        for row in conn.execute(
            select(t.interactions).where(t.interactions.c.id.in_(ids))
        ).mappings()
    }
    fresh: dict[str, dict[str, Any]] = {}
    for record in interaction_records:
        if record.interaction_id in existing:
            report.interactions_merged += _merge_existing(
                conn, record, existing[record.interaction_id]
            )
        elif record.interaction_id in fresh:
            if fresh[record.interaction_id]["content_hash"] != record.interaction["content_hash"]:
                raise IngestError(
                    f"{record.location}: field 'id': {quote(record.interaction_id)} appears twice "
                    f"in this file with different content"
                )
        else:
            fresh[record.interaction_id] = {**record.interaction, "source": report.path}
    report.interactions_added += store.insert_ignore(
        t.interactions, list(fresh.values()), conn=conn
    )

    known = set(existing) | set(fresh)
    orphans = [r for r in records if r.interaction is None and r.interaction_id not in known]
    if orphans:
        found = set(
            conn.execute(
                select(t.interactions.c.id).where(
                    t.interactions.c.id.in_({r.interaction_id for r in orphans})
                )
            ).scalars()
        )
        for record in orphans:
            if record.interaction_id not in found:
                raise IngestError(
                    f"{record.location}: field 'id': feedback refers to interaction "
                    f"{quote(record.interaction_id)}, which is neither stored nor in this file"
                )
    feedback_rows = {
        feedback_id(r.interaction_id, r.feedback_text): {
            "id": feedback_id(r.interaction_id, r.feedback_text),
            "interaction_id": r.interaction_id,
            "text": r.feedback_text,
            "source": report.path,
        }
        for r in records
        if r.feedback_text is not None
    }
    report.feedback_added += store.insert_ignore(
        t.feedback, list(feedback_rows.values()), conn=conn
    )
    audio_rows = {
        r.interaction_id: {"interaction_id": r.interaction_id, "path": r.audio_path}
        for r in records
        if r.audio_path is not None
    }
    report.audio_added += store.insert_ignore(t.query_audio, list(audio_rows.values()), conn=conn)
    roots = [{"interaction_id": i, "root": report.audio_root} for i in audio_rows]
    store.insert_ignore(t.query_audio_roots, roots, conn=conn)
    answers = {
        (r.interaction_id, side): {
            "interaction_id": r.interaction_id,
            "side": side,
            "path": path,
            "root": report.audio_root,
            "duration_s": audio_duration_s(path),
        }
        for r in records
        for side, path in r.response_audio.items()
    }
    report.response_audio_added += store.insert_ignore(
        t.response_audio, list(answers.values()), conn=conn
    )


def write_records(
    store: Store,
    raws: Sequence[Mapping[str, Any]],
    source: str,
    *,
    audio_root: Path,
    conn: Connection | None = None,
) -> IngestReport:
    """Store canonical records made in memory (e.g. votes cast in the rater app) through the same
    validation, id rule and writer as an ingested file, in one transaction (`conn`: the caller's,
    so its own writes commit or roll back with these). `source` names where they come from."""
    report = IngestReport(path=source, format="records", audio_root=str(audio_root))
    occurrences: Counter[str] = Counter()
    located = ((f"{source} record {number}", dict(raw)) for number, raw in enumerate(raws, 1))
    records = [
        normalise_record(raw, where, audio_root=audio_root, occurrences=occurrences)
        for where, raw in expand_records(located, Counter())
    ]
    conversations = ConversationCheck()
    conversations.add(records)

    def write(c: Connection) -> None:
        _write_chunk(store, c, records, report)
        report.conversations = conversations.check(c)

    if conn is None:
        with store.transaction() as own:
            write(own)
    else:
        write(conn)
    report.records = len(records)
    return report


def ingest_interactions(
    store: Store,
    path: Path | str,
    fmt: str | None = None,
    *,
    field_map: Mapping[str, str] | None = None,
    progress: bool = True,
    audio_root: Path | str | None = None,
    bulk: bool = True,
) -> IngestReport:
    """Ingest one interactions file (canonical JSONL/CSV/Parquet or Talk Arena votes) atomically.

    `query_audio` paths (relative to the file's folder) must lead to audio files inside
    `audio_root` (default: the file's folder). A file already ingested unchanged (same bytes,
    format and field map) is skipped. CSV and Parquet take the bulk path when they can
    (`bulk=False` forces the row-by-row reference path; both store the same rows).
    """
    path = Path(path)
    try:
        root = Path(audio_root if audio_root is not None else path.parent).resolve()
        return _ingest_file(store, path, fmt, dict(field_map or {}), progress, root, bulk)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except DBAPIError as exc:  # every value is checked before the store; this is a last guard
        reason = str(exc.orig).strip().splitlines()[0][:200] if exc.orig else type(exc).__name__
        raise IngestError(f"{path}: the store refused this file ({reason})") from None


def ingest_key(path: Path, fmt: str, renames: Mapping[str, str]) -> str:
    """What identifies an ingest: the file's SHA-256 with the format, the field map (the same
    bytes read another way may say something else) and the version of the ingest rules (a file
    ingested under older rules, e.g. before the id rule kept duplicate votes, is read again)."""
    options = {"rules": INGEST_RULES_VERSION, "format": fmt, "map": dict(sorted(renames.items()))}
    material = f"{file_sha256(path)}\n{json.dumps(options)}"
    return hashlib.sha256(material.encode()).hexdigest()


def _ingest_file(
    store: Store,
    path: Path,
    fmt: str | None,
    renames: dict[str, str],
    progress: bool,
    audio_root: Path,
    bulk: bool,
) -> IngestReport:
    if not audio_root.is_dir():
        raise IngestError(f"{path}: the audio root {audio_root} is not a folder")
    located = read_records(path, fmt)  # checks the file exists and the format is known
    fmt = fmt or detect_format(path)
    report = IngestReport(path=str(path), format=fmt, audio_root=str(audio_root))
    key = ingest_key(path, fmt, renames)
    known = store.ingested_file(key)
    if known is not None:
        report.records, report.skipped = int(known["rows"]), True
        report.note = (
            f"unchanged since its ingest at {known['ingested_at']:%Y-%m-%d %H:%M:%S}; skipped"
        )
        return report
    with tqdm(
        desc=f"ingest {path.name}",
        unit=" rows",
        unit_scale=True,
        disable=True if not progress else None,
        delay=PROGRESS_AFTER_S,
        leave=False,
    ) as bar:
        if bulk and fmt in ("csv", "parquet"):
            try:
                return _ingest_bulk(store, path, fmt, renames, key, report, bar)
            except NotBulk:  # rolled back; the row path stores it exactly or names the record
                report = IngestReport(path=str(path), format=fmt, audio_root=str(audio_root))
                bar.reset()
        return _ingest_rows(store, path, located, renames, key, report, bar, audio_root)


def _ingest_bulk(
    store: Store,
    path: Path,
    fmt: str,
    renames: dict[str, str],
    key: str,
    report: IngestReport,
    bar: tqdm,
) -> IngestReport:
    with store.transaction() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would begin only at the first DML
        deferred = bulk_path.defer_sqlite_indexes(conn)
        dialect = conn.dialect

        def prepared() -> Iterator[bulk_path.PreparedBatch]:
            return bulk_path.prepare_batches(path, fmt, renames, report.path, dialect)

        with _reader(path, fmt, prepared) as batches:
            for batch in batches:
                try:
                    report.interactions_added += bulk_path.load_interactions(conn, batch)
                except DBAPIError as exc:  # the row path names the record, or stores the file
                    raise NotBulk(str(exc)) from None
                report.feedback_added += store.insert_ignore(t.feedback, batch.feedback, conn=conn)
                report.records += batch.rows
                bar.update(batch.rows)
        if report.records == 0:
            raise bulk_path.NotBulk("no records")
        bulk_path.build_sqlite_indexes(conn, deferred)
        _record_file(store, conn, path, key, report)
    report.bulk = True
    return report


def _reader(
    path: Path, fmt: str, prepared: Callable[[], Iterator[bulk_path.PreparedBatch]]
) -> AbstractContextManager[Iterator[bulk_path.PreparedBatch]]:
    """A large file's batches are prepared in a child process while this one writes (600k
    votes: ~10% less wall time on two cores); a smaller file's here."""
    if bulk_path.estimated_rows(path, fmt) >= BACKGROUND_MIN_ROWS and can_fork():
        return in_child_process(prepared)
    return nullcontext(prepared())


def _ingest_rows(
    store: Store,
    path: Path,
    located: Iterable[tuple[str, Any]],
    renames: dict[str, str],
    key: str,
    report: IngestReport,
    bar: tqdm,
    audio_root: Path,
) -> IngestReport:
    occurrences: Counter[str] = Counter()
    conversations = ConversationCheck()
    if renames:
        located = ((where, _renamed(raw, renames)) for where, raw in located)
    located = expand_records(located, Counter())
    with store.transaction() as conn:
        for chunk in _chunks(located, CHUNK_RECORDS):
            records = []
            for where, raw in chunk:
                records.append(
                    normalise_record(
                        raw,
                        where,
                        audio_root=audio_root,
                        audio_base=path.parent,
                        occurrences=occurrences,
                    )
                )
            _write_chunk(store, conn, records, report)
            conversations.add(records)
            report.records += len(records)
            bar.update(len(records))
        if report.records == 0:
            raise IngestError(f"{path}: no records found")
        report.conversations = conversations.check(conn)
        _record_file(store, conn, path, key, report)
    return report


def _renamed(raw: Any, renames: Mapping[str, str]) -> Any:
    """A record with `--map` renames applied (to its turns too, in the nested shape)."""
    if not isinstance(raw, dict):
        return raw
    raw = {renames.get(k, k): v for k, v in raw.items()}
    if is_nested_conversation(raw):
        raw["turns"] = [
            {renames.get(k, k): v for k, v in turn.items()} if isinstance(turn, dict) else turn
            for turn in raw["turns"]
        ]
    return raw


def _record_file(
    store: Store, conn: Connection, path: Path, key: str, report: IngestReport
) -> None:
    row = {
        "sha256": key,
        "path": str(path),
        "kind": "interactions",
        "rows": report.records,
        "ingested_at": utcnow(),
    }
    store.upsert(t.ingested_files, [row], ["sha256"], conn=conn)
