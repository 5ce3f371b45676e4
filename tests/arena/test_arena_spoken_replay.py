"""Replay campaigns with spoken answers: load-pairs keeps and checks them, an existing workspace
gains their table, the rater app plays both and a vote on them is a speech vote."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fake_openai import tone_wav
from sqlalchemy import inspect, text
from streamlit.testing.v1 import AppTest

from arena import persist, sources
from arena.errors import ArenaError
from arena.pairs import read_pair_files
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import write_records
from arenalens.store import Store

APP_PATH = Path(__file__).resolve().parents[2] / "arena" / "app.py"


def _pair_files(folder: Path, **overrides: object) -> tuple[Path, Path]:
    """An `infer pair --out/--key` pair of files with one spoken pair, laid out as infer writes
    them (audio under `<name>-audio/<pair id>/`, paths relative to the file's folder)."""
    audio = folder / "blind-audio" / "p1"
    audio.mkdir(parents=True)
    for name in ("a", "b"):
        (audio / f"{name}.wav").write_bytes(tone_wav(0.3))
    record = {
        "id": "p1",
        "query_text": "what time is it in Lima?",
        "response_a": "It is nine in the morning.",
        "response_b": "I cannot tell the time.",
        "response_audio_a": "blind-audio/p1/a.wav",
        "response_audio_b": "blind-audio/p1/b.wav",
        **overrides,
    }
    blind, key = folder / "blind.jsonl", folder / "key.jsonl"
    blind.write_text(json.dumps(record) + "\n", encoding="utf-8")
    key.write_text(json.dumps({"id": "p1", "model_a": "S1", "model_b": "S2"}) + "\n", "utf-8")
    return blind, key


def test_load_pairs_keeps_spoken_answers_confined(tmp_path: Path) -> None:
    blind, key = _pair_files(tmp_path)
    pair = read_pair_files(blind, key).iloc[0]
    assert pair["audio_root"] == str(tmp_path.resolve())
    assert pair["response_audio_a"] == str(tmp_path.resolve() / "blind-audio/p1/a.wav")
    assert pair["query_audio"] is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"response_audio_b": "../outside.wav"}, "field 'response_audio_b': "),
        ({"response_audio_a": "blind.jsonl"}, "field 'response_audio_a': "),
        ({"response_audio_a": "blind-audio/p1/missing.wav"}, "field 'response_audio_a': "),
    ],
)
def test_load_pairs_refuses_bad_answer_audio_in_one_line(
    tmp_path: Path, overrides: dict[str, object], message: str
) -> None:
    (tmp_path / "outside.wav").write_bytes(tone_wav(0.1))
    folder = tmp_path / "pairs"
    folder.mkdir()
    blind, key = _pair_files(folder, **overrides)
    with pytest.raises(ArenaError) as caught:
        read_pair_files(blind, key)
    assert str(caught.value).startswith(f"{blind} line 1: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_pair_with_one_spoken_side_plays_that_side_only(tmp_path: Path) -> None:
    """A speech system against a text one: the typed side has no audio, and the vote is text."""
    blind, key = _pair_files(tmp_path, response_audio_b=None)
    store = Store.open(f"sqlite:///{tmp_path / 'ws.sqlite'}")
    persist.create_campaign(store, "c1", "replay")
    persist.add_pairs(store, "c1", read_pair_files(blind, key))
    row = persist.pair_rows(store, "c1").iloc[0]
    assert row["response_audio_a"].endswith("a.wav") and pd.isna(row["response_audio_b"])
    store.engine.dispose()


def test_earlier_turns_are_shown_as_text_above_the_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = [
        {
            "turn": 1,
            "query_text": "**set** a timer",
            "query_audio": "blind-audio/p1/a.wav",
            "response_a": "Done, <b>ten</b> minutes.",
            "response_b": "For how long?",
        }
    ]
    blind, key = _pair_files(tmp_path, earlier_turns=earlier, conversation_id="c1", turn=2)
    pairs = read_pair_files(blind, key)
    assert pairs.iloc[0]["earlier_turns"][0]["query"] == "**set** a timer"
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "c1", "replay")
    persist.add_pairs(app.store, "c1", pairs)
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(app.settings.workspace))
    monkeypatch.delenv("ARENALENS_DB", raising=False)
    at = AppTest.from_file(str(APP_PATH), default_timeout=30)
    at.query_params["token"] = persist.invite(app.store, "c1", "ann")
    at.run()
    texts = [t.value for t in at.text]
    assert "Question: **set** a timer" in texts  # plain text, as written
    assert "A: Done, <b>ten</b> minutes." in texts and "B: For how long?" in texts
    assert texts.index("B: For how long?") < texts.index("what time is it in Lima?")
    app.store.engine.dispose()


def test_an_existing_workspace_gains_the_answer_audio_table_and_keeps_its_pairs(
    db_url: str, tmp_path: Path
) -> None:
    url = db_url
    store = Store.open(url)
    persist.create_campaign(store, "c1", "replay")
    blind, key = _pair_files(tmp_path)
    persist.add_pairs(store, "c1", read_pair_files(blind, key))
    with store.engine.begin() as conn:  # as a workspace made before spoken replay pairs
        conn.execute(text("DROP TABLE arena_pair_context"))
    store.engine.dispose()
    store = Store.open(url)
    assert "arena_pair_context" in inspect(store.engine).get_table_names()
    rows = persist.pair_rows(store, "c1")
    assert list(rows["pair_id"]) == ["p1"] and rows["response_audio_a"].isna().all()
    store.engine.dispose()


def test_a_spoken_pair_is_heard_and_its_vote_is_a_speech_vote(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = AppContext(Settings(workspace=tmp_path / "ws", db=db_url))
    persist.create_campaign(app.store, "c1", "replay")
    blind, key = _pair_files(tmp_path)
    assert persist.add_pairs(app.store, "c1", read_pair_files(blind, key)) == 1
    token = persist.invite(app.store, "c1", "ann")
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(app.settings.workspace))
    monkeypatch.setenv("ARENALENS_DB", db_url)
    at = AppTest.from_file(str(APP_PATH), default_timeout=30)
    at.query_params["token"] = token
    at.run()
    assert not at.exception
    players = at.get("audio")
    assert len(players) == 2  # both answers; the query is text only
    assert [c.value for c in at.caption].count("Transcript") == 2
    texts = [t.value for t in at.text]
    assert "It is nine in the morning." in texts and "I cannot tell the time." in texts
    next(b for b in at.button if b.key == "vote-a-p1").click().run()
    assert "Vote stored" in at.success[0].value
    features = app.store.vote_features_frame()
    assert list(features["output_modality"]) == ["speech"]
    spoken = app.store.response_audio_frame()
    assert sorted(spoken["side"]) == ["a", "b"]
    assert set(spoken["path"]) == {
        str(tmp_path.resolve() / f"blind-audio/p1/{side}.wav") for side in "ab"
    }
    app.store.engine.dispose()


def test_battles_with_spoken_answers_are_offered_with_them(sqlite_store: Store, tmp_path: Path):
    """What the demo's replay campaign draws on: stored votes whose answers were spoken."""
    for name in ("a.wav", "b.wav"):
        (tmp_path / name).write_bytes(tone_wav(0.2))
    common = {"model_a": "S1", "model_b": "S2", "winner": "model_a"}
    records = [
        {"id": "v1", "query_text": "hi", "response_a": "hello", "response_b": "hey", **common},
        {
            "id": "v2",
            "query_text": "say hi",
            "response_a": "hello there",
            "response_b": "hi",
            "response_audio_a": "a.wav",
            "response_audio_b": "b.wav",
            **common,
        },
    ]
    write_records(sqlite_store, records, "test", audio_root=tmp_path)
    every = sources.pairs_from_battles(sqlite_store, 10).set_index("interaction_id")
    assert pd.isna(every.loc["v1", "response_audio_a"])
    assert every.loc["v2", "response_audio_b"] == str(tmp_path.resolve() / "b.wav")
    spoken = sources.pairs_from_battles(sqlite_store, 10, spoken=True)
    assert list(spoken["interaction_id"]) == ["v2"]
    assert spoken.iloc[0]["audio_root"] == str(tmp_path.resolve())


def test_the_demo_campaign_has_pairs_to_hear_when_the_sample_speaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_paths import wav_bytes

    from arena.cli import DEMO_CAMPAIGN, DEMO_SPOKEN_PAIRS, demo
    from arenalens.app import demo as app_demo

    def speak(text: str, wav: Path, **_: object) -> Path:  # espeak-ng stand-in: short WAVs
        Path(wav).parent.mkdir(parents=True, exist_ok=True)
        Path(wav).write_bytes(wav_bytes(1600))
        return Path(wav)

    monkeypatch.setattr(app_demo, "espeak_available", lambda: True)
    monkeypatch.setattr(app_demo, "synthesize_speech", speak)
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app_demo.load_sample_conversations(app.store, tmp_path / "ws" / "audio")
    demo(app)
    rows = persist.pair_rows(app.store, DEMO_CAMPAIGN)
    spoken = rows[rows["response_audio_a"].notna()]
    assert len(spoken) >= DEMO_SPOKEN_PAIRS and spoken["response_audio_b"].notna().all()
    assert not rows.loc[rows["attention"].astype(bool), "response_audio_a"].notna().any()
    later = rows[rows["earlier_turns"].notna()]  # later turns of a conversation, with context
    assert len(later) and all(
        turns[0]["turn"] == 1 and turns[0]["query"] for turns in later["earlier_turns"]
    )
    app.store.engine.dispose()
