"""Reads and writes of the inference stage, all through the Store (parameterised SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select, update

from arenalens.store import Store, utcnow
from arenalens.store import tables as t
from inference.tables import inference_pairs

TRANSCRIBE_STAGE = "inference.transcribe"
INFER_STAGE = "inference.infer"
PAIR_STAGE = "inference.pair"


def audio_frame(store: Store, *, without_transcript: bool = False) -> pd.DataFrame:
    """Queries that have audio: interaction_id, path, duration_s and root (the folder the path
    was confined to at ingest, None where none was recorded); optionally only untranscribed."""
    a, roots = t.query_audio.c, t.query_audio_roots.c
    query = select(a.interaction_id, a.path, a.duration_s, roots.root).outerjoin(
        t.query_audio_roots, roots.interaction_id == a.interaction_id
    )
    if without_transcript:
        query = query.outerjoin(
            t.transcripts, t.transcripts.c.interaction_id == t.query_audio.c.interaction_id
        ).where(t.transcripts.c.interaction_id.is_(None))
    return store.read_frame(query.order_by(t.query_audio.c.interaction_id))


def write_transcripts(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Store (or replace) transcripts, one row per interaction, in one transaction."""
    store.upsert(t.transcripts, list(rows), ["interaction_id"])


def transcripts_frame(store: Store) -> pd.DataFrame:
    """All stored transcripts: interaction_id, text, language, avg_logprob, model, run_id."""
    return store.read_frame(select(t.transcripts).order_by(t.transcripts.c.interaction_id))


def inference_inputs(store: Store) -> pd.DataFrame:
    """Per query: interaction_id, conversation_id and turn (None for a single-turn query),
    query_text (typed), audio_path, transcript and its model."""
    i, a, tr = t.interactions, t.query_audio, t.transcripts
    query = (
        select(
            i.c.id.label("interaction_id"),
            i.c.conversation_id,
            i.c.turn,
            i.c.query_text,
            a.c.path.label("audio_path"),
            tr.c.text.label("transcript"),
            tr.c.model.label("transcript_model"),
        )
        .outerjoin(a, a.c.interaction_id == i.c.id)
        .outerjoin(tr, tr.c.interaction_id == i.c.id)
        .where((i.c.query_text.is_not(None)) | (a.c.path.is_not(None)))
        .order_by(i.c.id)
    )
    return store.read_frame(query)


def system_turns(store: Store, system: str, conversation_ids: Sequence[str]) -> pd.DataFrame:
    """Every turn of the given conversations with what `system` made of it: conversation_id,
    turn, interaction_id, query (typed, else transcribed), input_text (what the system read,
    when it recorded it), output_text and error (None where it has not answered)."""
    i, o, tr = t.interactions.c, t.model_outputs.c, t.transcripts.c
    query = (
        select(
            i.conversation_id,
            i.turn,
            i.id.label("interaction_id"),
            func.coalesce(i.query_text, tr.text).label("query"),
            o.params,
            o.output_text,
            o.error,
        )
        .select_from(
            t.interactions.outerjoin(
                t.model_outputs, and_(o.interaction_id == i.id, o.system == system)
            ).outerjoin(t.transcripts, tr.interaction_id == i.id)
        )
        .where(i.conversation_id.in_(list(conversation_ids)))
        .order_by(i.conversation_id, i.turn)
    )
    frame = store.read_frame(query)
    frame["input_text"] = [
        params.get("input_text") if isinstance(params, dict) else None
        for params in frame.pop("params")
    ]
    return frame


def response_audio_pending(store: Store) -> pd.DataFrame:
    """Spoken answers without a transcript: interaction_id, side, path."""
    r = t.response_audio.c
    query = (
        select(r.interaction_id, r.side, r.path)
        .where(r.transcript.is_(None))
        .order_by(r.interaction_id, r.side)
    )
    return store.read_frame(query)


def write_answer_transcripts(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Store the transcripts of spoken answers (interaction_id, side, text, model), and the
    duration measured where the header did not give one (duration_s)."""
    r = t.response_audio
    with store.transaction() as conn:
        for row in rows:
            where = and_(r.c.interaction_id == row["interaction_id"], r.c.side == row["side"])
            conn.execute(
                update(r).where(where).values(transcript=row["text"], transcript_model=row["model"])
            )
            if row.get("duration_s") is not None:
                conn.execute(
                    update(r)
                    .where(and_(where, r.c.duration_s.is_(None)))
                    .values(duration_s=row["duration_s"])
                )


def output_audio_pending(store: Store) -> pd.DataFrame:
    """Systems' spoken answers without a transcript: id, interaction_id, system, output_audio."""
    c = t.model_outputs.c
    query = (
        select(c.id, c.interaction_id, c.system, c.output_audio)
        .where(c.output_audio.is_not(None) & c.output_transcript.is_(None))
        .order_by(c.system, c.interaction_id)
    )
    return store.read_frame(query)


def write_output_transcripts(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Store the transcripts of systems' spoken answers (model output id, text, model)."""
    c = t.model_outputs.c
    with store.transaction() as conn:
        for row in rows:
            conn.execute(
                update(t.model_outputs)
                .where(c.id == row["id"])
                .values(output_transcript=row["text"], transcript_model=row["model"])
            )


def finished_ids(store: Store, system: str) -> set[str]:
    """Interaction ids that already have an error-free output from `system` (skipped on rerun)."""
    c = t.model_outputs.c
    frame = store.read_frame(
        select(c.interaction_id).where(and_(c.system == system, c.error.is_(None)))
    )
    return set(frame["interaction_id"]) if len(frame) else set()


def write_outputs(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Store one batch of outputs atomically; an earlier failed row for the pair is replaced."""
    store.upsert(t.model_outputs, list(rows), ["interaction_id", "system"])


_TEXT_COLUMNS = (
    "output_text",
    "error",
    "model_revision",
    "output_audio",
    "output_transcript",
    "transcript_model",
)


def outputs_frame(store: Store, system: str | None = None) -> pd.DataFrame:
    """Stored model outputs (all systems or one); a missing text (output, error, revision) is
    None whatever the other rows hold (pandas would otherwise make it NaN in a string column)."""
    query = select(t.model_outputs)
    if system is not None:
        query = query.where(t.model_outputs.c.system == system)
    frame = store.read_frame(
        query.order_by(t.model_outputs.c.system, t.model_outputs.c.interaction_id)
    )
    for column in _TEXT_COLUMNS:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    return frame


def output_counts(store: Store) -> pd.DataFrame:
    """Per system: outputs, errors (the `demo` and dashboard summary)."""
    frame = outputs_frame(store)
    if not len(frame):
        return pd.DataFrame(columns=["system", "outputs", "errors"])
    grouped = frame.groupby("system")
    return pd.DataFrame(
        {
            "outputs": grouped["output_text"].apply(lambda s: int(s.notna().sum())),
            "errors": grouped["error"].apply(lambda s: int(s.notna().sum())),
        }
    ).reset_index()


def write_pairs(store: Store, rows: Sequence[dict[str, Any]]) -> int:
    """Insert blind pairs; existing pair ids are kept as they are (rerun adds nothing)."""
    stamped = [{**row, "created_at": row.get("created_at") or utcnow()} for row in rows]
    return store.insert_ignore(inference_pairs, stamped)


def pairs_frame(store: Store) -> pd.DataFrame:
    """All blind pairs with their hidden key."""
    return store.read_frame(select(inference_pairs).order_by(inference_pairs.c.pair_id))


def query_texts(store: Store, ids: Sequence[str]) -> dict[str, str]:
    """Typed query text, else the transcript, for the given interaction ids."""
    if not ids:
        return {}
    frame = store.interactions_frame(["id", "query_text"])
    frame = frame[frame["id"].isin(list(ids))]
    return {row.id: row.query for row in frame.itertuples() if isinstance(row.query, str)}
