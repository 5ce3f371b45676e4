"""Live battles: a rater's recorded or typed query, two systems answering side by side (streamed
where the backend streams), per side time to first token, total time and length.

A pipeline system hears a recording through its own recogniser (its `asr`); when that is the
app's own, it reads the app's transcript instead of recognising the same audio twice, and its
timings include the app's recognition, so both sides' times count the same work."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arena.errors import ArenaError
from arenalens.paths import UnsafePathError, confine_audio
from inference.systems import AsrSpec, SystemSpec

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # a minute of 16-bit 48 kHz stereo WAV is ~11 MB
MAX_AUDIO_SECONDS = 60.0
AUDIO_FOLDER = "arena-audio"  # under the workspace: every recording is confined to it
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Question:
    """What the rater asked: typed text, or a recording and the app's transcript of it."""

    text: str
    audio_path: str | None = None
    asr_model: str | None = None  # the app's recogniser, for a recording
    asr_seconds: float = 0.0  # how long the app's recogniser took


@dataclass
class SideAnswer:
    """One system's answer as it arrives, and its timings (seconds from the request)."""

    system: str
    text: str = ""
    error: str | None = None
    time_to_first_token: float | None = None
    total_time: float | None = None
    heard: str | None = None  # the text a pipeline's LLM read
    asr_model: str | None = None  # the recogniser that heard a recorded question
    audio_path: str | None = None  # the spoken answer (output: speech), in the workspace
    audio_duration_s: float | None = None
    time_to_first_audio_s: float | None = None  # from the request, like the token times
    done: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


_TRANSCRIBERS: dict[str, object] = {}
_SYNTHESIZERS: dict[str, object] = {}
_MODELS_LOCK = threading.Lock()
History = tuple[tuple[str, str], ...]  # earlier turns: (what the system heard, what it answered)


@dataclass(frozen=True)
class SpeakTo:
    """Where a turn's spoken answers go: each system's file of `item_id` under `folder`, which
    must lie inside `root` (the folder the vote's audio is confined to)."""

    folder: Path
    root: Path
    item_id: str


def transcriber_for(asr: AsrSpec) -> object:
    """A pipeline's own recogniser, loaded once per server process."""
    from inference.transcribe import make_transcriber, transcriber_model_name

    key = transcriber_model_name(asr.backend, asr.model)
    with _MODELS_LOCK:
        if key not in _TRANSCRIBERS:
            _TRANSCRIBERS[key] = make_transcriber(asr.backend, asr.model)
        return _TRANSCRIBERS[key]


def synthesizer_for(spec: SystemSpec) -> Any:
    """The speech synthesiser of a system that answers aloud, built once per server process."""
    from inference.speech import make_synthesizer

    assert spec.tts is not None  # output: speech gets a default tts
    key = spec.tts.model_dump_json()
    with _MODELS_LOCK:
        if key not in _SYNTHESIZERS:
            _SYNTHESIZERS[key] = make_synthesizer(spec.tts)
        return _SYNTHESIZERS[key]


def speak_answer(spec: SystemSpec, side: SideAnswer, where: SpeakTo) -> None:
    """Say a finished answer with the system's synthesiser into `where.folder` (inside
    `where.root`, checked as audio like a recording); its time to first audio counts from the
    request, like the token times."""
    from inference.speech import speak_answers

    spoken = speak_answers(
        [(where.item_id, side.text.strip())], synthesizer_for(spec), where.folder, spec.name
    )[where.item_id]
    if spoken.error or spoken.path is None:
        raise ArenaError(spoken.error or "no spoken answer")
    try:
        confined = confine_audio(spoken.path, where.root)
    except UnsafePathError as exc:
        Path(spoken.path).unlink(missing_ok=True)
        raise ArenaError(f"the spoken answer cannot be used: {exc}") from None
    side.audio_path = str(confined)
    side.audio_duration_s = spoken.duration_s
    side.time_to_first_audio_s = (side.total_time or 0.0) + (spoken.first_audio_s or 0.0)


def hear(
    spec: SystemSpec, question: Question, transcriber: Callable[[AsrSpec], object]
) -> tuple[str, str | None, float]:
    """(text the system's LLM reads, the recogniser that produced it, seconds of recognition
    already spent before the request): a typed question as typed; a recording through the
    pipeline's own recogniser, or the app's transcript when the recogniser is the same."""
    if question.audio_path is None or spec.kind != "pipeline" or spec.asr is None:
        return question.text, None, 0.0
    from inference.audio import load_audio
    from inference.transcribe import transcriber_model_name

    wanted = transcriber_model_name(spec.asr.backend, spec.asr.model)
    if wanted == question.asr_model:
        return question.text, wanted, question.asr_seconds
    audio = load_audio(question.audio_path)
    text = transcriber(spec.asr).transcribe([audio])[0].text.strip()  # type: ignore[attr-defined]
    if not text:
        raise ArenaError(f"{wanted} recognised nothing in the recording")
    return text, wanted, 0.0


def save_recording(data: bytes, workspace: Path, campaign: str, battle_id: str) -> Path:
    """Store a recording under the workspace, checked as ingest checks audio (a known audio
    container, inside its folder) and held to the upload limits; ArenaError otherwise."""
    from inference.audio import audio_duration

    if len(data) > MAX_UPLOAD_BYTES:
        raise ArenaError(
            f"the recording is {len(data) / 1e6:.1f} MB; at most {MAX_UPLOAD_BYTES / 1e6:.0f} MB"
        )
    root = (Path(workspace) / AUDIO_FOLDER).resolve()
    folder = root / campaign_folder(campaign)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{battle_id}.wav"
    path.write_bytes(data)
    try:
        confined = confine_audio(path, root)
    except UnsafePathError as exc:
        path.unlink(missing_ok=True)
        raise ArenaError(f"the recording cannot be used: {exc}") from None
    seconds = audio_duration(confined)
    if seconds is None or seconds > MAX_AUDIO_SECONDS:
        path.unlink(missing_ok=True)
        raise ArenaError(
            "the recording cannot be read"
            if seconds is None
            else f"the recording lasts {seconds:.0f} s; at most {MAX_AUDIO_SECONDS:.0f} s"
        )
    return confined


def campaign_folder(campaign: str) -> str:
    """A file-system-safe folder name for a campaign."""
    import hashlib

    return "c_" + hashlib.sha256(campaign.encode()).hexdigest()[:16]


def _stream_openai(
    spec: SystemSpec,
    query: str,
    history: History,
    side: SideAnswer,
    timeout_s: float,
    started: float,
) -> None:
    from openai import OpenAI, OpenAIError

    from inference.generators.base import chat_messages

    llm = spec.llm
    assert llm is not None and llm.base_url
    client = OpenAI(
        base_url=llm.base_url,
        api_key=os.environ.get(llm.api_key_env) or "not-needed",
        timeout=timeout_s,
        max_retries=0,
    )
    try:
        stream = client.chat.completions.create(
            model=llm.model,
            messages=chat_messages(spec.system_prompt, history, query),
            max_tokens=spec.generation.max_new_tokens,
            temperature=spec.generation.temperature,
            top_p=spec.generation.top_p,
            seed=spec.seed,
            stream=True,
        )
        finished = False
        for chunk in stream:
            piece = chunk.choices[0].delta.content if chunk.choices else None
            finished = finished or bool(chunk.choices and chunk.choices[0].finish_reason)
            if piece:
                with side.lock:
                    if side.time_to_first_token is None:
                        side.time_to_first_token = time.perf_counter() - started
                    side.text += piece
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"no complete answer within {timeout_s:.0f} s")
        if not finished:  # e.g. llama-cpp-python's server, cutting a stream for a new request
            side.error = "the answer stopped before the server said it was complete"
    except (OpenAIError, TimeoutError, OSError) as exc:
        side.error = f"{type(exc).__name__}: {exc}"
    side.total_time = time.perf_counter() - started


def _generate_once(
    spec: SystemSpec,
    query: str,
    audio_path: str | None,
    history: History,
    side: SideAnswer,
    generator_for: Callable[[SystemSpec], object],
    started: float,
) -> None:
    from inference.generators import GenerationRequest

    try:
        request = GenerationRequest("live", text=query, audio_path=audio_path, history=history)
        result = generator_for(spec).generate([request])[0]  # type: ignore[attr-defined]
        side.text, side.error = result.text or "", result.error
    except Exception as exc:  # any backend failure ends the battle, never the app
        side.error = f"{type(exc).__name__}: {exc}"
    side.total_time = time.perf_counter() - started
    side.time_to_first_token = side.total_time  # nothing streams: the whole answer at once


def ask_both(
    specs: tuple[SystemSpec, SystemSpec],
    question: Question,
    generator_for: Callable[[SystemSpec], object],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    transcriber: Callable[[AsrSpec], object] = transcriber_for,
    histories: tuple[History, History] = ((), ()),
    speak_to: SpeakTo | None = None,
) -> tuple[tuple[SideAnswer, SideAnswer], list[threading.Thread]]:
    """Start both systems on the question in threads; the answers fill in as they arrive.
    `histories`: each system's own earlier turns of this conversation; `speak_to`: where the
    answers are spoken to, when the campaign plays them as speech."""
    sides = (SideAnswer(specs[0].name), SideAnswer(specs[1].name))
    threads = []
    for index, (spec, side) in enumerate(zip(specs, sides, strict=True)):

        def work(spec: SystemSpec = spec, side: SideAnswer = side, index: int = index) -> None:
            started = time.perf_counter()
            history = histories[index]
            try:
                text, side.asr_model, spent = hear(spec, question, transcriber)
                side.heard, started = text, started - spent
                if (
                    spec.kind == "pipeline"
                    and spec.llm is not None
                    and spec.llm.backend == "openai"
                ):
                    timeout = min(timeout_s, spec.llm.timeout_s)
                    _stream_openai(spec, text, history, side, timeout, started)
                else:
                    audio = question.audio_path
                    _generate_once(spec, text, audio, history, side, generator_for, started)
                if speak_to is not None and not side.error and side.text.strip():
                    speak_answer(spec, side, speak_to)
            except Exception as exc:  # any failure ends the battle, never the app
                side.error = side.error or f"{type(exc).__name__}: {exc}"
            finally:
                if not side.error and not side.text.strip():
                    side.error = "an empty answer"
                side.done = True

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        threads.append(thread)
    return sides, threads


def latency_fields(sides: tuple[SideAnswer, SideAnswer]) -> dict[str, float | int | str]:
    """The per-side fields Talk Arena logs and `rank --control` reads, and which recogniser
    heard a recorded question."""
    fields: dict[str, float | int | str] = {}
    for suffix, side in zip(("a", "b"), sides, strict=True):
        fields[f"time_to_first_token_{suffix}"] = round(side.time_to_first_token or 0.0, 3)
        fields[f"total_time_{suffix}"] = round(side.total_time or 0.0, 3)
        fields[f"response_length_{suffix}"] = len(side.text.strip())
        if side.asr_model:
            fields[f"asr_model_{suffix}"] = side.asr_model
        if side.time_to_first_audio_s is not None:
            fields[f"time_to_first_audio_s_{suffix}"] = round(side.time_to_first_audio_s, 3)
        if side.audio_duration_s is not None:
            fields[f"answer_duration_s_{suffix}"] = round(side.audio_duration_s, 3)
    return fields
