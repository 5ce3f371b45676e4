"""`arenalens demo`: a workspace from the shipped synthetic sample arena, every stage run on it."""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arenalens.context import AppContext
from arenalens.display import join_words, plural, stage_name
from arenalens.errors import StageError
from arenalens.ingest import (
    IngestReport,
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
    write_records,
)
from arenalens.sample.conversations import audio_clips
from arenalens.stages import STAGES
from arenalens.store import Store
from arenalens.store import tables as t
from inference.audio import espeak_available, synthesize_speech

DATA_DIR = Path(os.environ.get("ARENALENS_DATA_DIR", Path(__file__).resolve().parents[2] / "data"))
SAMPLE_DIR = DATA_DIR / "sample_arena"


def sample_file(name: str) -> Path:
    path = SAMPLE_DIR / name
    if not path.is_file():
        raise StageError(
            f"sample arena file missing: {path} (regenerate with `python -m arenalens.sample`)"
        )
    return path


def synthesise_audio(store: Store, audio_dir: Path, limit: int = 20) -> int:
    """Speak the marked sample queries with espeak-ng (when installed) and attach the WAVs."""
    marked = SAMPLE_DIR / "audio_queries.txt"
    if not espeak_available() or not marked.is_file():
        return 0
    ids = [line.strip() for line in marked.read_text().splitlines() if line.strip()][:limit]
    queries = store.queries_frame().set_index("id")["query"]
    rows = []
    for interaction_id in ids:
        if interaction_id not in queries.index:
            continue
        wav = audio_dir / f"{interaction_id}.wav"
        if not wav.exists():
            synthesize_speech(str(queries[interaction_id]), wav, words_per_minute=150)
        rows.append({"interaction_id": interaction_id, "path": str(wav.resolve())})
    root = str(audio_dir.resolve())  # recorded so the dashboard plays only files under it
    with store.transaction() as conn:
        added = store.insert_ignore(t.query_audio, rows, conn=conn)
        roots = [{"interaction_id": row["interaction_id"], "root": root} for row in rows]
        store.insert_ignore(t.query_audio_roots, roots, conn=conn)
    return added


def load_sample_conversations(store: Store, audio_dir: Path | None) -> IngestReport:
    """Ingest the sample's conversations: with their spoken answers (and some spoken queries)
    when `audio_dir` is given and espeak-ng is installed, which speaks them into
    `audio_dir/conversations/`; else as text, the audio fields left out."""
    source = sample_file("conversations.jsonl")
    if audio_dir is not None and espeak_available():
        folder = audio_dir / "conversations"
        target = folder / source.name
        records = [json.loads(line) for line in source.read_text("utf-8").splitlines() if line]
        for record in records:
            for path, text, voice, words_per_minute in audio_clips(record):
                wav = folder / path
                if not wav.exists():
                    synthesize_speech(text, wav, voice=voice, words_per_minute=words_per_minute)
        target.write_bytes(source.read_bytes())
        return ingest_interactions(store, target, "jsonl", progress=False, audio_root=folder)
    records = [without_audio(json.loads(line)) for line in source.read_text("utf-8").splitlines()]
    return write_records(store, records, f"{source} (as text)", audio_root=SAMPLE_DIR)


def without_audio(record: dict[str, Any]) -> dict[str, Any]:
    """A nested conversation record with its audio fields left out."""
    audio = ("query_audio", "response_audio_a", "response_audio_b")
    turns = [{k: v for k, v in turn.items() if k not in audio} for turn in record["turns"]]
    return {**record, "turns": turns}


def load_sample_arena(
    store: Store,
    *,
    with_audio: bool = True,
    audio_dir: Path | None = None,
    with_conversations: bool = False,
) -> dict[str, int]:
    """Ingest the sample arena (interactions, benchmark scores, aliases, and `with_conversations`
    its conversations); idempotent. Spoken queries and answers are made only `with_audio`, into
    `audio_dir`. The demo takes the conversations; tests that count the 2,400 battles do not."""
    report = ingest_interactions(store, sample_file("interactions.jsonl"), "jsonl", progress=False)
    spoken_dir = audio_dir if with_audio else None
    talks = load_sample_conversations(store, spoken_dir) if with_conversations else None
    scores = ingest_benchmark_scores(store, sample_file("benchmarks.csv"))
    aliases_path = SAMPLE_DIR / "aliases.yaml"
    aliases = ingest_aliases(store, read_aliases(aliases_path)) if aliases_path.is_file() else 0
    audio = synthesise_audio(store, audio_dir) if with_audio and audio_dir is not None else 0
    return {
        "interactions": report.interactions_added + (talks.interactions_added if talks else 0),
        "conversations": talks.conversations if talks else 0,
        "spoken_answers": talks.response_audio_added if talks else 0,
        "benchmark_scores": scores,
        "aliases": aliases,
        "audio": audio + (talks.audio_added if talks else 0),
    }


def stage_demos() -> list[tuple[str, Callable[[AppContext], str]]]:
    """(stage, its `cli.demo` step) in the registry's order, for the stages that have one."""
    steps = []
    for stage in STAGES:
        demo = getattr(importlib.import_module(stage.cli_module), "demo", None)
        if demo is not None:
            steps.append((stage.name, demo))
    return steps


def run_demo(
    app: AppContext, *, with_audio: bool = True, echo: Callable[[str], None] = print
) -> dict:
    """Build the demo workspace and run each stage's demo step; raises StageError if any failed."""
    app.settings.workspace.mkdir(parents=True, exist_ok=True)
    echo(f"workspace: {app.settings.workspace.resolve()}")
    echo("sample arena: SYNTHETIC data generated by arenalens.sample (fixed seed), not real votes")
    loaded = load_sample_arena(
        app.store,
        with_audio=with_audio,
        audio_dir=app.settings.workspace / "audio",
        with_conversations=True,
    )
    nouns = {"benchmark_scores": "benchmark score", "aliases": "alias", "audio": "audio query"}
    counts = (plural(n, nouns.get(k, k.rstrip("s").replace("_", " "))) for k, n in loaded.items())
    echo("  ingested: " + ", ".join(counts))
    failures = []
    for stage, demo in stage_demos():
        started = time.perf_counter()
        try:
            summary = demo(app)
        except Exception as exc:  # report every stage, then fail once at the end
            failures.append(stage)
            echo(f"  {stage}: FAILED: {type(exc).__name__}: {exc}")
            continue
        echo(f"  {stage} ({time.perf_counter() - started:.1f}s): {summary}")
    status = app.store.status()
    echo(
        f"summary: {status['interactions']:,} interactions, {status['votes']:,} votes, "
        f"{status['feedback']:,} feedback, {status['systems']} systems, {status['audio']} audio, "
        f"{status['conversations']} conversations, {status['spoken_answers']} spoken answers; "
        f"stages run: {join_words(stage_name(s) for s in sorted(status['stages']))}"
    )
    if failures:
        raise StageError(f"demo stages failed: {', '.join(failures)}")
    echo(
        "next: `arenalens dashboard` to explore, `arenalens arena serve` to vote (link above), "
        "`arenalens status` for counts"
    )
    return status
