"""Spoken answers (`output: speech`): a synthesiser turns each text answer into a WAV inside the
workspace, timing how long its first audio took; or a model that answers aloud itself (an
end-to-end endpoint) hands its audio over, kept in the same place the same way.

Two synthesisers: espeak-ng (offline, `inference.audio.synthesize_speech`) and any
OpenAI-compatible `/v1/audio/speech` endpoint, whose answer streams back so the first audio is
timed when its first bytes arrive.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from arenalens.paths import UnsafePathError, confine_path, is_audio_file
from inference.audio import audio_duration, synthesize_speech
from inference.errors import AudioError, InferenceError
from inference.systems import TtsSpec

ANSWERS_FOLDER = "answers"  # under the workspace: <workspace>/answers/<system>/<id hash>.wav


@dataclass(frozen=True)
class SpokenAnswer:
    """One synthesised answer: where it is, how long it lasts, how long its first audio took
    (the whole synthesis when the synthesiser does not stream); or why there is none."""

    item_id: str
    path: str | None
    duration_s: float | None = None
    first_audio_s: float | None = None
    error: str | None = None


class Synthesizer(ABC):
    """Speaks text into a WAV file; `name` is stored with every output."""

    name: str
    concurrency: int = 1

    @abstractmethod
    def speak(self, text: str, path: Path) -> float:
        """Write `text` spoken to `path`; return seconds until its first audio was available."""


class EspeakSynthesizer(Synthesizer):
    """espeak-ng on this machine (offline; the whole file is its first audio)."""

    def __init__(self, voice: str = "en-us", words_per_minute: int = 160, concurrency: int = 1):
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.concurrency = concurrency
        self.name = f"espeak-ng:{voice}"

    def speak(self, text: str, path: Path) -> float:
        started = time.perf_counter()
        synthesize_speech(text, path, voice=self.voice, words_per_minute=self.words_per_minute)
        return time.perf_counter() - started


class OpenAISpeechSynthesizer(Synthesizer):
    """An OpenAI-compatible `/v1/audio/speech` endpoint, asked for WAV, read as a stream."""

    def __init__(
        self,
        base_url: str,
        model: str = "tts-1",
        voice: str = "alloy",
        api_key_env: str = "ARENALENS_TTS_API_KEY",
        timeout_s: float = 120.0,
        concurrency: int = 1,
    ):
        from openai import OpenAI

        # the key is read from the environment when needed and never stored or logged
        self._client = OpenAI(
            base_url=base_url,
            api_key=os.environ.get(api_key_env) or "not-needed",
            timeout=timeout_s,
            max_retries=2,
        )
        self.base_url, self.model, self.voice = base_url, model, voice
        self.concurrency = concurrency
        self.name = f"openai:{model}:{voice}"

    def speak(self, text: str, path: Path) -> float:
        from openai import APIConnectionError, OpenAIError

        started = time.perf_counter()
        first: float | None = None
        partial = path.with_suffix(".part")
        try:
            with self._client.audio.speech.with_streaming_response.create(
                model=self.model, voice=self.voice, input=text, response_format="wav"
            ) as response, partial.open("wb") as out:  # fmt: skip
                for chunk in response.iter_bytes():
                    if chunk and first is None:
                        first = time.perf_counter() - started
                    out.write(chunk)
        except APIConnectionError as exc:
            partial.unlink(missing_ok=True)
            # an unreachable endpoint is not a per-answer failure: stop instead of failing each
            raise InferenceError(
                f"cannot reach the speech endpoint {self.base_url}: {exc}"
            ) from exc
        except OpenAIError as exc:
            partial.unlink(missing_ok=True)
            raise AudioError(f"the speech endpoint refused: {type(exc).__name__}: {exc}") from exc
        if first is None or not is_audio_file(partial):
            partial.unlink(missing_ok=True)
            raise AudioError(f"the speech endpoint {self.base_url} sent no audio (expected WAV)")
        partial.replace(path)
        return first


def make_synthesizer(spec: TtsSpec) -> Synthesizer:
    """The synthesiser a system's `tts` section declares."""
    if spec.backend == "espeak-ng":
        return EspeakSynthesizer(spec.voice or "en-us", spec.words_per_minute, spec.concurrency)
    assert spec.base_url is not None  # validated by TtsSpec
    return OpenAISpeechSynthesizer(
        spec.base_url,
        spec.model,
        spec.voice or "alloy",
        spec.api_key_env,
        spec.timeout_s,
        spec.concurrency,
    )


def answers_folder(workspace: Path) -> Path:
    """The folder of a workspace that spoken answers are written to, and confined to."""
    return Path(workspace) / ANSWERS_FOLDER


def answer_audio_path(answers_dir: Path, system: str, item_id: str) -> Path:
    """Where a system's spoken answer to an interaction is written: a file name made from the
    ids (any id is safe), confined to `answers_dir`."""
    folder = re.sub(r"[^A-Za-z0-9._-]+", "-", system).strip(".-")[:64] or "system"
    folder += "-" + hashlib.sha256(system.encode()).hexdigest()[:8]
    name = hashlib.sha256(item_id.encode()).hexdigest()[:32] + ".wav"
    try:
        return confine_path(Path(folder) / name, answers_dir)
    except UnsafePathError as exc:  # e.g. a symlinked folder leading out of the workspace
        raise InferenceError(f"cannot write spoken answers under {answers_dir}: {exc}") from exc


def speak_answers(
    answers: Sequence[tuple[str, str]],
    synthesizer: Synthesizer,
    answers_dir: Path,
    system: str,
) -> dict[str, SpokenAnswer]:
    """Speak (item id, text) answers into WAVs under `answers_dir` (`synthesizer.concurrency`
    at a time); a failed answer gets its error, never stops the others."""

    def one(item: tuple[str, str]) -> SpokenAnswer:
        item_id, text = item
        path = answer_audio_path(answers_dir, system, item_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            first = synthesizer.speak(text, path)
        except AudioError as exc:
            return SpokenAnswer(item_id, None, error=f"speech synthesis failed: {exc}")
        return SpokenAnswer(item_id, str(path), audio_duration(path), first)

    with ThreadPoolExecutor(max_workers=max(1, synthesizer.concurrency)) as pool:
        return {spoken.item_id: spoken for spoken in pool.map(one, answers)}


def keep_spoken_answer(
    item_id: str, audio: bytes, answers_dir: Path, system: str, first_audio_s: float | None
) -> SpokenAnswer:
    """Keep the audio of a model that answered aloud itself where `speak_answers` writes
    (confined to `answers_dir`), refused unless it is audio; `first_audio_s` is kept as given."""
    path = answer_audio_path(answers_dir, system, item_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(audio)
    if not is_audio_file(partial):
        partial.unlink(missing_ok=True)
        return SpokenAnswer(
            item_id,
            None,
            error=f"the answer's audio is not audio ({len(audio)} bytes, expected WAV)",
        )
    partial.replace(path)
    return SpokenAnswer(item_id, str(path), audio_duration(path), first_audio_s)
