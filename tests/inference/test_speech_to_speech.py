"""End-to-end systems behind an OpenAI-compatible endpoint (issue 26): the query's audio is sent
as `input_audio`, the endpoint answers aloud (`modalities: ["text", "audio"]`), and the answer's
audio, transcript, duration and time to first audio are kept as a pipeline's spoken answers are.
A loopback fake plays the endpoint (tests/fake_openai.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from fake_openai import (
    CHUNK_GAP_S,
    FIRST_AUDIO_DELAY_S,
    STREAM_CHUNKS,
    TEXT_ONLY,
    FakeOpenAI,
    tone_wav,
)

from arenalens.ingest import ingest_interactions
from arenalens.paths import confine_audio
from arenalens.store import Store
from inference import persist
from inference.audio import SAMPLE_RATE, audio_for_upload
from inference.errors import BackendUnavailableError, InferenceError, SystemConfigError
from inference.generators import make_generator
from inference.infer import run_system
from inference.speech import answers_folder
from inference.systems import parse_systems


def spoken_conversation(folder: Path) -> Path:
    """c1: turn 1 spoken (a WAV, with the words it says), turn 2 typed."""
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    (folder / "audio" / "q1.wav").write_bytes(tone_wav(0.5))
    record = {
        "conversation_id": "c1", "model_a": "x", "model_b": "y",
        "turns": [{"query_audio": "audio/q1.wav", "query_text": "what is the weather"},
                  {"query_text": "and tomorrow?"}],
    }  # fmt: skip
    path = folder / "talk.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def system(base_url: str, kind: str = "end_to_end", **llm: object):
    body = {
        "kind": kind,
        "llm": {"backend": "openai", "model": "fake-omni", "base_url": base_url, **llm},
        "output": "speech",
    }
    return parse_systems({"systems": {"omni": body}})["omni"]


def chats() -> list[dict]:
    return [body for path, body in FakeOpenAI.requests if path.endswith("/chat/completions")]


def test_an_endpoint_hears_the_query_audio_and_answers_aloud(
    store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(store, spoken_conversation(tmp_path), progress=False)
    answers = answers_folder(tmp_path / "ws")

    summary = run_system(
        store, system(fake_openai, voice="verse"), answers_dir=answers, progress=False
    )

    assert (summary.written, summary.errors) == (2, [])
    outputs = persist.outputs_frame(store, "omni").set_index("interaction_id")
    assert list(outputs["output_text"]) == ["answer 1", "answer 2"]  # the endpoint's transcripts
    for row in outputs.itertuples():
        assert confine_audio(row.output_audio, answers) == Path(row.output_audio)
        assert row.audio_duration_s == pytest.approx(1.0)
        # one piece: its first audio is the whole answer
        assert row.time_to_first_audio_s == pytest.approx(row.latency_s)
        assert row.time_to_first_audio_s >= FIRST_AUDIO_DELAY_S
    assert outputs.loc["c1:t1", "params"]["input"] == "audio"
    assert outputs.loc["c1:t2", "params"]["input"] == "typed"
    first, second = chats()
    assert first["modalities"] == ["text", "audio"]
    assert first["audio"] == {"voice": "verse", "format": "wav"}
    [part] = first["messages"][-1]["content"]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"]) == tone_wav(0.5)
    # turn 2: what the user said before (its text), the system's own spoken answer, the new turn
    assert [m["content"] for m in second["messages"][1:]] == [
        "what is the weather", "answer 1", "and tomorrow?"
    ]  # fmt: skip
    # the transcribe stage will check what the answers really say
    assert len(persist.output_audio_pending(store)) == 2


def test_a_streamed_spoken_answer_times_its_first_chunk(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(sqlite_store, spoken_conversation(tmp_path), progress=False)
    spec = system(fake_openai, stream_audio=True)

    summary = run_system(sqlite_store, spec, answers_dir=tmp_path / "answers", progress=False)

    assert summary.errors == []
    request = chats()[0]
    assert request["stream"] is True and request["audio"] == {"voice": "alloy", "format": "pcm16"}
    for row in persist.outputs_frame(sqlite_store, "omni").itertuples():
        assert row.output_text in {"answer 1", "answer 2"}
        assert row.audio_duration_s == pytest.approx(1.0)  # 24 kHz PCM wrapped as WAV
        assert FIRST_AUDIO_DELAY_S <= row.time_to_first_audio_s
        assert row.latency_s - row.time_to_first_audio_s >= (STREAM_CHUNKS - 1) * CHUNK_GAP_S
        assert row.completion_tokens == 2


@pytest.mark.parametrize(
    ("model", "voice", "message"),
    [
        (TEXT_ONLY, None, "the endpoint sent no audio (is its model one that answers aloud?"),
        ("fake-omni", "broken", "the answer's audio is not audio (9 bytes, expected WAV)"),
    ],
)
def test_an_answer_without_audio_fails_alone_and_leaves_no_file(
    sqlite_store: Store,
    tmp_path: Path,
    fake_openai: str,
    model: str,
    voice: str | None,
    message: str,
) -> None:
    ingest_interactions(sqlite_store, spoken_conversation(tmp_path), progress=False)
    spec = system(fake_openai, model=model, voice=voice)

    summary = run_system(sqlite_store, spec, answers_dir=tmp_path / "answers", progress=False)

    errors = dict(summary.errors)
    assert errors["c1:t1"].startswith(message)
    assert errors["c1:t2"] == "conversation c1: turn 1 has no answer from omni yet"
    assert list((tmp_path / "answers").rglob("*.*")) == []


def test_a_pipeline_on_an_endpoint_that_answers_aloud_needs_no_tts(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(sqlite_store, spoken_conversation(tmp_path), progress=False)
    spec = system(fake_openai, kind="pipeline")
    assert spec.speaks_itself and spec.tts is None and not spec.hears_audio

    run_system(sqlite_store, spec, answers_dir=tmp_path / "answers", progress=False)

    assert chats()[0]["messages"][-1]["content"] == "what is the weather"  # read, not heard
    assert persist.outputs_frame(sqlite_store, "omni")["output_audio"].notna().all()
    assert not any(path.endswith("/audio/speech") for path, _ in FakeOpenAI.requests)


def test_an_unreachable_endpoint_stops_the_run_with_one_line(
    sqlite_store: Store, tmp_path: Path
) -> None:
    ingest_interactions(sqlite_store, spoken_conversation(tmp_path), progress=False)
    with pytest.raises(InferenceError, match="cannot reach the LLM endpoint"):
        run_system(
            sqlite_store,
            system("http://127.0.0.1:9/v1", timeout_s=2),
            answers_dir=tmp_path / "answers",
            progress=False,
        )


def test_what_a_speaking_endpoint_system_may_declare(sqlite_store: Store) -> None:
    url = "http://127.0.0.1:1/v1"
    spec = system(url)
    assert spec.hears_audio and spec.speaks_itself and spec.model_id == "fake-omni"
    local = parse_systems(
        {"systems": {"s": {"kind": "pipeline", "llm": {"model": "m"}, "output": "speech"}}}
    )["s"]
    assert local.tts is not None and local.tts.backend == "espeak-ng"  # a local LLM: espeak-ng
    with pytest.raises(BackendUnavailableError, match="--backend transformers writes text only"):
        make_generator(system(url, kind="pipeline"), backend="transformers")
    with pytest.raises(InferenceError, match="without --ray"):
        run_system(sqlite_store, spec, answers_dir=Path("."), use_ray=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "llm": {"backend": "openai", "model": "x", "base_url": "u"}}, "not both"),
        ({"llm": {"backend": "vllm", "model": "x"}}, "an end_to_end system's `llm` is an endpoint"),
        ({"llm": {"backend": "openai", "model": "x", "base_url": "u", "voice": "v"},
          "output": "speech", "tts": "espeak-ng"}, "llm.voice is for an endpoint that answers"),
    ],
)  # fmt: skip
def test_a_wrong_endpoint_declaration_is_one_line(body: dict, message: str) -> None:
    with pytest.raises(SystemConfigError, match=message):
        parse_systems({"systems": {"s": {"kind": "end_to_end", **body}}})


def test_query_audio_is_uploaded_as_wav_or_mp3(tmp_path: Path) -> None:
    import soundfile

    wav = tmp_path / "q.wav"
    wav.write_bytes(tone_wav(0.25))
    assert audio_for_upload(wav) == (tone_wav(0.25), "wav")
    mp3 = tmp_path / "q.mp3"
    mp3.write_bytes(b"ID3\x04" + bytes(64))
    assert audio_for_upload(mp3)[1] == "mp3"
    flac = tmp_path / "q.flac"
    tone = np.sin(np.linspace(0, 2 * np.pi * 440, 44_100 // 2)).astype(np.float32) * 0.3
    soundfile.write(flac, tone, 44_100)  # FLAC at 44.1 kHz: decoded, sent as 16 kHz WAV
    data, audio_format = audio_for_upload(flac)
    converted = tmp_path / "converted.wav"
    converted.write_bytes(data)
    assert audio_format == "wav" and soundfile.info(converted).samplerate == SAMPLE_RATE
    assert soundfile.info(converted).duration == pytest.approx(0.5, abs=0.01)
