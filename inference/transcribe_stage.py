"""The `transcribe` stage: every recording without a transcript is transcribed, batch by batch,
each batch stored as it finishes. Three kinds: spoken queries (`transcripts`), spoken answers
of votes (`response_audio.transcript`) and systems' spoken answers
(`model_outputs.output_transcript`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arenalens.store import Store
from inference import persist
from inference.audio import audio_duration
from inference.transcribe import (
    DEFAULT_MODEL,
    TranscriptionSummary,
    make_transcriber,
    transcribe_items,
)


@dataclass
class Recordings:
    """One kind of recording to transcribe: (name, path) items (a name says which recording a
    failure is about) and how to store a batch of their transcripts."""

    items: list[tuple[str, str]]
    store_batch: Callable[[list[dict[str, Any]]], None]
    answers: bool  # spoken answers, counted apart from queries


def pending_recordings(store: Store, run_id: Callable[[], int]) -> list[Recordings]:
    """Queries, then vote answers, then systems' answers that have audio and no transcript."""
    queries = persist.audio_frame(store, without_transcript=True)
    query_items = list(zip(queries["interaction_id"], queries["path"], strict=True))

    def keep_queries(rows: list[dict[str, Any]]) -> None:
        persist.write_transcripts(store, [{**r, "run_id": run_id()} for r in rows])

    answers = persist.response_audio_pending(store)
    sides = {
        f"{i} answer {side.upper()}": (i, side, path)
        for i, side, path in zip(
            answers["interaction_id"], answers["side"], answers["path"], strict=True
        )
    }

    def keep_answers(rows: list[dict[str, Any]]) -> None:
        found = []
        for row in rows:
            interaction_id, side, path = sides[row["interaction_id"]]
            found.append({**row, "interaction_id": interaction_id, "side": side,
                          "duration_s": audio_duration(path)})  # fmt: skip
        persist.write_answer_transcripts(store, found)

    outputs = persist.output_audio_pending(store)
    spoken = {
        f"{i} answer of {system}": output_id
        for i, system, output_id in zip(
            outputs["interaction_id"], outputs["system"], outputs["id"], strict=True
        )
    }

    def keep_outputs(rows: list[dict[str, Any]]) -> None:
        persist.write_output_transcripts(
            store, [{**r, "id": spoken[r["interaction_id"]]} for r in rows]
        )

    return [
        Recordings(query_items, keep_queries, answers=False),
        Recordings([(k, v[2]) for k, v in sides.items()], keep_answers, answers=True),
        Recordings(list(zip(spoken, outputs["output_audio"], strict=True)), keep_outputs, True),
    ]


def run_transcription(
    store: Store,
    model: str = DEFAULT_MODEL,
    backend: str = "faster-whisper",
    device: str | None = None,
    batch_size: int = 8,
    limit: int | None = None,
    progress: bool = True,
) -> tuple[TranscriptionSummary | None, int]:
    """Transcribe every spoken query and spoken answer without a transcript (at most `limit`,
    queries first); returns the summary (None when nothing was pending; `answers` counts the
    spoken answers) and how many recordings were pending."""
    run_ids: list[int] = []
    kinds = pending_recordings(store, lambda: run_ids[0])
    left = limit
    for kind in kinds:
        if left is not None:
            kind.items = kind.items[:left]
            left -= len(kind.items)
    pending = sum(len(kind.items) for kind in kinds)
    if not pending:
        return None, 0
    transcriber = make_transcriber(backend, model, device)
    config = {"backend": backend, "model": model, "limit": limit}
    summary = TranscriptionSummary()
    with store.run(persist.TRANSCRIBE_STAGE, config, model=transcriber.model_name) as run:
        run_ids.append(run.id)
        for kind in kinds:
            if not kind.items:
                continue
            done = transcribe_items(
                kind.items,
                transcriber,
                batch_size=batch_size,
                on_batch=kind.store_batch,
                progress=progress,
            )
            summary.transcribed += done.transcribed
            summary.answers += done.transcribed if kind.answers else 0
            summary.failed += done.failed
            summary.audio_seconds += done.audio_seconds
        run.summary.update(
            {
                "transcribed": summary.transcribed,
                "answers_transcribed": summary.answers,
                "failed": [f"{i}: {reason}" for i, reason in summary.failed],
                "audio_seconds": round(summary.audio_seconds, 2),
            }
        )
    return summary, pending
