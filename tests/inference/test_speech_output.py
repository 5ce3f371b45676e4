"""Systems that answer aloud (`output: speech`) and conversations answered turn by turn (issue 26):
TTS through espeak-ng or an OpenAI-compatible /v1/audio/speech endpoint (a loopback fake here),
audio kept inside the workspace with its duration and time to first audio, each system seeing
its own earlier answers, and the transcribe stage filling spoken answers' transcripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from fake_openai import FIRST_AUDIO_DELAY_S, FakeOpenAI

from arenalens.ingest import ingest_interactions
from arenalens.paths import confine_audio, is_audio_file
from arenalens.store import Store
from inference import persist
from inference.errors import InferenceError, SystemConfigError
from inference.generators import GenerationRequest, GenerationResult, Generator
from inference.infer import run_system
from inference.speech import answers_folder
from inference.systems import parse_systems
from inference.transcribe_stage import run_transcription


def conversation(folder: Path, cid: str = "c1", turns: int = 2, **top: object) -> Path:
    """A nested conversation file with typed turns "question 1", "question 2", ..."""
    record = {
        "conversation_id": cid,
        "model_a": "x",
        "model_b": "y",
        "turns": [{"query_text": f"question {n}"} for n in range(1, turns + 1)],
        **top,
    }
    path = folder / f"{cid}.jsonl"
    path.write_text(json.dumps(record) + "\n")
    return path


def speaking_system(base_url: str, voice: str = "nova", **extra: object):
    body = {
        "kind": "pipeline",
        "llm": {"backend": "openai", "model": "fake-llm", "base_url": base_url},
        "output": "speech",
        "tts": {"base_url": base_url, "model": "fake-tts", "voice": voice},
        **extra,
    }
    return parse_systems({"systems": {"talker": body}})["talker"]


def test_a_pipeline_speaks_its_answers_through_a_speech_endpoint(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path), progress=False)
    answers = answers_folder(tmp_path / "ws")

    summary = run_system(
        sqlite_store, speaking_system(fake_openai), answers_dir=answers, progress=False
    )

    assert (summary.written, summary.errors) == (2, [])
    outputs = persist.outputs_frame(sqlite_store, "talker").set_index("interaction_id")
    for row in outputs.itertuples():
        assert confine_audio(row.output_audio, answers) == Path(row.output_audio)
        assert row.audio_duration_s == pytest.approx(1.0)
        assert row.time_to_first_audio_s >= row.latency_s + FIRST_AUDIO_DELAY_S
    spoken = [body for path, body in FakeOpenAI.requests if path.endswith("/audio/speech")]
    assert sorted(b["input"] for b in spoken) == ["answer 1", "answer 2"]
    assert {(b["model"], b["voice"], b["response_format"]) for b in spoken} == {
        ("fake-tts", "nova", "wav")
    }
    chats = [body["messages"] for path, body in FakeOpenAI.requests if "chat" in path]
    assert [m["content"] for m in chats[-1][1:]] == ["question 1", "answer 1", "question 2"]


def test_a_speech_endpoint_that_sends_no_audio_fails_that_answer_only(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path, turns=1), progress=False)
    summary = run_system(
        sqlite_store,
        speaking_system(fake_openai, voice="broken"),
        answers_dir=tmp_path / "answers",
        progress=False,
    )
    [(_, error)] = summary.errors
    assert error.startswith("speech synthesis failed") and "sent no audio" in error
    assert list((tmp_path / "answers").rglob("*.*")) == []  # the partial file is gone


def test_an_unreachable_speech_endpoint_stops_the_run_with_one_line(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path, turns=1), progress=False)
    spec = speaking_system(fake_openai)
    assert spec.tts is not None
    spec.tts.base_url = "http://127.0.0.1:9/v1"
    with pytest.raises(InferenceError, match="cannot reach the speech endpoint"):
        run_system(sqlite_store, spec, answers_dir=tmp_path / "answers", progress=False)


class Echo(Generator):
    """Answers "<name>: <text>" and records the history each request carried."""

    def __init__(self, name: str, fail_on: str | None = None) -> None:
        self.name, self.fail_on = name, fail_on
        self.histories: dict[str, tuple] = {}

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results = []
        for r in requests:
            self.histories[r.text or ""] = r.history
            failed = self.fail_on is not None and r.text == self.fail_on
            text = None if failed else f"{self.name}: {r.text}"
            results.append(GenerationResult(r.item_id, text, "refused" if failed else None, 0.1))
        return results


def text_system(name: str, **extra: object):
    body = {"kind": "pipeline", "llm": {"model": "unused"}, **extra}
    return parse_systems({"systems": {name: body}})[name]


def test_each_system_continues_the_conversation_with_its_own_answers(
    sqlite_store: Store, tmp_path: Path
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path, turns=3), progress=False)
    alpha, beta = Echo("alpha"), Echo("beta")

    run_system(sqlite_store, text_system("alpha"), generator=alpha, progress=False)
    run_system(sqlite_store, text_system("beta"), generator=beta, progress=False)

    assert alpha.histories["question 3"] == (
        ("question 1", "alpha: question 1"),
        ("question 2", "alpha: question 2"),
    )
    assert beta.histories["question 2"] == (("question 1", "beta: question 1"),)
    assert alpha.histories["question 1"] == ()


def test_a_turn_waits_for_the_answer_to_the_turn_before(
    sqlite_store: Store, tmp_path: Path
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path, turns=2), progress=False)
    spec = text_system("alpha")

    first = run_system(sqlite_store, spec, generator=Echo("alpha", "question 1"), progress=False)

    assert dict(first.errors) == {
        "c1:t1": "refused",
        "c1:t2": "conversation c1: turn 1 has no answer from alpha yet",
    }
    again = run_system(sqlite_store, spec, generator=Echo("alpha"), progress=False)
    assert (again.requested, again.errors) == (2, [])


def test_espeak_speaks_answers_offline_into_the_workspace(
    sqlite_store: Store, tmp_path: Path, espeak: None
) -> None:
    ingest_interactions(sqlite_store, conversation(tmp_path, turns=1), progress=False)
    spec = text_system("talker", output="speech", tts="espeak-ng")
    answers = answers_folder(tmp_path / "ws")

    run_system(sqlite_store, spec, generator=Echo("talker"), answers_dir=answers, progress=False)

    [row] = persist.outputs_frame(sqlite_store, "talker").itertuples()
    assert is_audio_file(row.output_audio) and Path(row.output_audio).is_relative_to(answers)
    assert row.audio_duration_s > 0.5 and row.time_to_first_audio_s > row.latency_s
    assert row.params["tts"]["backend"] == "espeak-ng" and row.output_transcript is None

    summary, pending = run_transcription(sqlite_store, progress=False)  # the transcribe stage

    assert summary is not None and (summary.answers, pending) == (1, 1)
    [row] = persist.outputs_frame(sqlite_store, "talker").itertuples()
    assert "question" in row.output_transcript.lower()
    assert row.transcript_model.startswith("faster-whisper")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"tts": "espeak-ng"}, r"`tts` is for systems with `output: speech`"),
        ({"output": "speech", "tts": {"model": "x", "backend": "openai"}}, r"tts.base_url"),
        ({"output": "sound"}, r"output: Input should be 'text' or 'speech'"),
    ],
)
def test_a_speaking_system_is_declared_or_refused_in_one_line(body: dict, message: str) -> None:
    with pytest.raises(SystemConfigError, match=message):
        parse_systems({"systems": {"s": {"kind": "pipeline", "llm": {"model": "m"}, **body}}})


def test_a_speaking_system_defaults_to_espeak_and_an_endpoint_by_its_url() -> None:
    base = {"kind": "pipeline", "llm": {"model": "m"}, "output": "speech"}
    systems = parse_systems(
        {"systems": {"a": base, "b": {**base, "tts": {"base_url": "http://127.0.0.1:1/v1"}}}}
    )
    assert systems["a"].tts is not None and systems["a"].tts.backend == "espeak-ng"
    assert systems["b"].tts is not None and systems["b"].tts.backend == "openai"
    assert parse_systems({"systems": {"c": {**base, "output": "text"}}})["c"].tts is None


def test_transcribe_fills_the_transcripts_of_spoken_answers(
    sqlite_store: Store, tmp_path: Path, espeak: None
) -> None:
    from inference.audio import synthesize_speech

    audio = tmp_path / "audio"
    said = {"a": "the kitchen lights are off now", "b": "I turned them off"}
    for side, text in said.items():
        synthesize_speech(text, audio / f"{side}.wav")
    record = {
        "conversation_id": "c1", "model_a": "x", "model_b": "y", "winner": "model_a",
        "turns": [{"query_text": "lights off", "response_audio_a": "audio/a.wav",
                   "response_audio_b": "audio/b.wav"}],
    }  # fmt: skip
    (tmp_path / "talk.jsonl").write_text(json.dumps(record) + "\n")
    ingest_interactions(sqlite_store, tmp_path / "talk.jsonl", progress=False)

    summary, pending = run_transcription(sqlite_store, progress=False)

    assert summary is not None and (summary.transcribed, summary.answers, pending) == (2, 2, 2)
    spoken = sqlite_store.response_audio_frame().set_index("side")
    assert "kitchen" in spoken.loc["a", "transcript"].lower()
    assert spoken["transcript_model"].str.startswith("faster-whisper").all()
    turns = sqlite_store.conversation_turns_frame().set_index("id")
    assert "kitchen" in turns.loc["c1:t1", "response_a"].lower()  # shown in place of no text
    features = sqlite_store.vote_features_frame().set_index("id").loc["c1:t1"]
    assert features["output_modality"] == "speech" and 1 < features["speaking_rate_wps_a"] < 5
    assert run_transcription(sqlite_store, progress=False) == (None, 0)
