"""The sample arena's conversations (issue 26): multi-turn battles, half answered aloud, whose
votes and feedback follow the speech profiles, and the demo's way of loading them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from test_paths import wav_bytes

from arenalens.app import demo
from arenalens.paths import confine_audio
from arenalens.sample.conversations import (
    N_CONVERSATIONS,
    SPEECH_PROFILES,
    VOICE_CODES,
    audio_clips,
    generate_conversations,
    voice_flaws,
)
from arenalens.sample.generate import DEFAULT_SEED
from arenalens.sample.systems import PIPELINE, SYSTEM_BY_NAME, SYSTEMS
from arenalens.store import Store

SHIPPED = Path(__file__).resolve().parents[1] / "data" / "sample_arena" / "conversations.jsonl"


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return [json.loads(line) for line in SHIPPED.read_text(encoding="utf-8").splitlines()]


def test_shipped_conversations_are_the_seeded_generation(records: list[dict]) -> None:
    assert records == generate_conversations(DEFAULT_SEED)
    assert [r["conversation_id"] for r in records] == [
        f"sc-{k:04d}" for k in range(1, N_CONVERSATIONS + 1)
    ]


def test_half_are_spoken_with_turns_one_to_three_and_both_kinds_of_vote(
    records: list[dict],
) -> None:
    outputs = Counter(r["gold_output"] for r in records)
    assert 0.35 < outputs["speech"] / len(records) < 0.65
    assert {len(r["turns"]) for r in records} == {1, 2, 3}
    per_turn = [r for r in records if r["gold_vote"] == "turn"]
    assert per_turn and all("winner" not in r and all("winner" in t for t in r["turns"])
                            for r in per_turn)  # fmt: skip
    once = [r for r in records if r["gold_vote"] == "conversation"]
    assert all("winner" in r and not any("winner" in t for t in r["turns"]) for r in once)
    assert any(t["gold_topic_change"] for r in records for t in r["turns"])
    for r in records:
        spoken = r["gold_output"] == "speech"
        for turn in r["turns"]:
            assert ("response_audio_a" in turn) is spoken and ("response_audio_b" in turn) is spoken


def test_voice_reasons_blame_what_the_losers_profile_explains(records: list[dict]) -> None:
    seen = Counter()
    for r in records:
        for turn in r["turns"]:
            winner = turn.get("winner", r.get("winner"))
            for code in turn.get("gold_voice_codes", []):
                loser = r["model_b"] if winner == "model_a" else r["model_a"]
                assert r["gold_output"] == "speech" and code in voice_flaws(SYSTEM_BY_NAME[loser])
                seen[code] += 1
    assert set(seen) <= set(VOICE_CODES) and len(seen) >= 3


def test_heard_answers_cost_the_pipeline_votes() -> None:
    """Over many generated conversations the pipeline wins less when its answers are heard."""
    many = generate_conversations(7, n=2000)
    rates: dict[str, list[float]] = {"speech": [], "text": []}
    for r in many:
        for turn in r["turns"]:
            winner = turn.get("winner", r.get("winner") if turn is r["turns"][-1] else None)
            if winner is None or PIPELINE not in (r["model_a"], r["model_b"]):
                continue
            side = "model_a" if r["model_a"] == PIPELINE else "model_b"
            rates[r["gold_output"]].append(
                1.0 if winner == side else 0.5 if winner == "tie" else 0.0
            )
    speech, text = (sum(v) / len(v) for v in (rates["speech"], rates["text"]))
    assert text - speech > 0.08, (text, speech)


def test_every_spoken_field_has_a_clip_in_the_systems_voice(records: list[dict]) -> None:
    for r in records:
        clips = {path: (voice, wpm) for path, _, voice, wpm in audio_clips(r)}
        for turn in r["turns"]:
            for side in "ab":
                if f"response_audio_{side}" in turn:
                    profile = SPEECH_PROFILES[r[f"model_{side}"]]
                    assert clips[turn[f"response_audio_{side}"]] == (
                        profile.voice,
                        profile.words_per_minute,
                    )
            if "query_audio" in turn:
                assert turn["query_audio"] in clips
    assert set(SPEECH_PROFILES) == {s.name for s in SYSTEMS}


def test_the_demo_ingests_spoken_conversations_confined_to_the_workspace(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spoken: list[tuple[str, str, int]] = []

    def speak(text: str, wav: Path, voice: str = "en-us", words_per_minute: int = 160) -> Path:
        spoken.append((text, voice, words_per_minute))  # espeak-ng stand-in
        Path(wav).parent.mkdir(parents=True, exist_ok=True)
        Path(wav).write_bytes(wav_bytes(16_000))
        return Path(wav)

    monkeypatch.setattr(demo, "espeak_available", lambda: True)
    monkeypatch.setattr(demo, "synthesize_speech", speak)

    report = demo.load_sample_conversations(sqlite_store, tmp_path / "audio")

    assert (
        report.conversations == N_CONVERSATIONS
        and report.response_audio_added == len(spoken) - report.audio_added
    )
    features = sqlite_store.vote_features_frame()
    speech = features[features["output_modality"] == "speech"]
    assert len(speech) > 40 and (speech["answer_duration_s_a"] == 1.0).all()
    assert speech["time_to_first_audio_s_b"].notna().all()
    audio = sqlite_store.response_audio_frame()
    for path, root in zip(audio["path"], audio["root"], strict=True):
        assert confine_audio(path, root) == Path(path)
    assert {Path(r) for r in audio["root"]} == {(tmp_path / "audio" / "conversations").resolve()}


def test_without_espeak_the_demo_ingests_the_conversations_as_text(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo, "espeak_available", lambda: False)

    report = demo.load_sample_conversations(sqlite_store, tmp_path / "audio")

    assert (report.conversations, report.response_audio_added) == (N_CONVERSATIONS, 0)
    assert set(sqlite_store.vote_features_frame()["output_modality"]) == {"text"}
    turns = sqlite_store.conversation_turns_frame()
    assert turns.groupby("conversation_id")["turn"].max().max() == 3
