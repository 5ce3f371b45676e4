"""Issue 26's end-to-end check: multi-turn speech-out conversations and single-turn text votes in
one workspace, and every stage's demo step runs on it, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_paths import wav_bytes

from arenalens.app import demo
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions
from arenalens.sample import write_sample_arena
from arenalens.sample.conversations import N_CONVERSATIONS


@pytest.mark.slow  # every stage twice: ~1-2 min on the shared 2-core machine
def test_every_stage_runs_on_conversations_and_single_turn_votes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def speak(text: str, wav: Path, voice: str = "en-us", words_per_minute: int = 160) -> Path:
        Path(wav).parent.mkdir(parents=True, exist_ok=True)  # espeak-ng stand-in: 1 s WAVs
        Path(wav).write_bytes(wav_bytes(16_000))
        return Path(wav)

    monkeypatch.setattr(demo, "espeak_available", lambda: True)
    monkeypatch.setattr(demo, "synthesize_speech", speak)
    sample = write_sample_arena(tmp_path / "sample", n_interactions=400)
    monkeypatch.setattr(demo, "SAMPLE_DIR", tmp_path / "sample")
    app = AppContext(Settings(workspace=tmp_path / "ws", db=db_url, labeler="embedding"))

    talks = demo.load_sample_conversations(app.store, tmp_path / "ws" / "audio")
    single = ingest_interactions(app.store, sample["interactions.jsonl"], progress=False)

    assert talks.conversations == N_CONVERSATIONS and talks.response_audio_added > 100
    assert single.interactions_added == 400 and single.conversations == 0
    features = app.store.vote_features_frame()
    assert set(features["output_modality"]) == {"speech", "text"}
    assert set(features["turn_depth"]) == {1, 2, 3}
    for stage, step in demo.stage_demos():
        assert isinstance(step(app), str), stage
    status = app.store.status()
    assert {"taxonomy", "coding", "ranking", "inference.transcribe"} <= set(status["stages"])
    app.store.engine.dispose()
