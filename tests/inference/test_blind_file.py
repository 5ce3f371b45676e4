"""`infer pair --out` for spoken answers and conversations (issue 26): the blind file carries both
answers' audio (copied beside it under names that tell nothing of the systems, paths relative
to its folder) and, for a later turn, the turns before it with each side's own answers; the
rater app's `load-pairs` reads it as it is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pytest
from fake_openai import tone_wav

from arena.pairs import read_pair_files
from arenalens.ingest import ingest_interactions
from arenalens.paths import confine_audio
from arenalens.store import Store
from inference.errors import InferenceError
from inference.generators import GenerationRequest, GenerationResult, Generator
from inference.infer import pair_systems, run_system, write_blind_pairs
from inference.pairs import audio_folder, write_key_file
from inference.speech import answers_folder
from inference.systems import parse_systems


class Typist(Generator):
    """A text system: answers "typed: <what it read>"."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        return [GenerationResult(r.item_id, f"typed: {r.text}", None, 0.1) for r in requests]


def two_systems_answer(store: Store, folder: Path, base_url: str) -> Path:
    """c1 (turn 1 spoken, turn 2 typed) and a single-turn s1, answered by 'talker' (an endpoint
    that hears and answers aloud) and 'typist' (text); returns the answers folder."""
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "q1.wav").write_bytes(tone_wav(0.5))
    lines = [
        {"conversation_id": "c1", "model_a": "x", "model_b": "y",
         "turns": [{"query_audio": "audio/q1.wav", "query_text": "what is the weather"},
                   {"query_text": "and tomorrow?"}]},
        {"id": "s1", "query_text": "tell me a joke", "model_a": "x", "model_b": "y"},
    ]  # fmt: skip
    (folder / "talk.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    ingest_interactions(store, folder / "talk.jsonl", progress=False)
    systems = parse_systems({"systems": {
        "talker": {"kind": "end_to_end", "output": "speech",
                   "llm": {"backend": "openai", "model": "omni", "base_url": base_url}},
        "typist": {"kind": "pipeline", "llm": {"model": "unused"}},
    }})  # fmt: skip
    answers = answers_folder(folder / "ws")
    run_system(store, systems["talker"], answers_dir=answers, progress=False)
    run_system(store, systems["typist"], generator=Typist(), progress=False)
    return answers


def test_blind_pairs_carry_audio_and_earlier_turns_that_load_pairs_reads(
    store: Store, tmp_path: Path, fake_openai: str
) -> None:
    answers = two_systems_answer(store, tmp_path / "data", fake_openai)
    pairs, _ = pair_systems(store, "talker", "typist", seed=0)
    blind, key = tmp_path / "study" / "blind.jsonl", tmp_path / "study" / "key.jsonl"

    assert write_blind_pairs(store, pairs, blind, answers) == 3
    write_key_file(pairs, key)

    text = blind.read_text()
    assert "talker" not in text and "typist" not in text and str(tmp_path / "data") not in text
    records = {r["id"]: r for r in map(json.loads, text.splitlines())}
    sides = pairs.set_index("pair_id")
    for pid, record in records.items():
        spoken = "a" if sides.loc[pid, "system_a"] == "talker" else "b"
        typed = "b" if spoken == "a" else "a"
        assert record[f"response_audio_{typed}"] is None
        heard = blind.parent / record[f"response_audio_{spoken}"]
        assert heard.read_bytes()[:4] == b"RIFF" and heard.is_relative_to(audio_folder(blind))
        assert record[f"response_{typed}"].startswith("typed: ")
    by_query = {r["query_text"]: r for r in records.values()}
    assert "conversation_id" not in by_query["tell me a joke"]
    first, second = by_query["what is the weather"], by_query["and tomorrow?"]
    assert (first["turn"], first["earlier_turns"]) == (1, [])
    assert first["query_audio"] and second["query_audio"] is None
    [before] = second["earlier_turns"]
    spoken = "a" if sides.loc[second["id"], "system_a"] == "talker" else "b"
    typed = "b" if spoken == "a" else "a"
    assert (second["conversation_id"], second["turn"], before["turn"]) == ("c1", 2, 1)
    assert before["query_text"] == "what is the weather" and before["query_audio"]
    assert before[f"response_{spoken}"] == "answer 1" and before[f"response_audio_{spoken}"]
    assert before[f"response_{typed}"] == "typed: what is the weather"
    assert before[f"response_audio_{typed}"] is None
    # every path lies under the blind file's folder, the root `arena load-pairs` confines to
    for record in [*records.values(), before]:
        for name in ("query_audio", "response_audio_a", "response_audio_b"):
            if record[name]:
                confine_audio(record[name], blind.parent, blind.parent)
    loaded = read_pair_files(blind, key)
    assert len(loaded) == 3 and loaded["query_audio"].notna().sum() == 1
    # each spoken side's audio and the earlier turns (as text) come with the pair
    by_id = loaded.set_index("pair_id")
    for pid, record in records.items():
        for side in "ab":
            given = record[f"response_audio_{side}"]
            assert pd.isna(by_id.loc[pid, f"response_audio_{side}"]) == (given is None)
    shown = by_id.loc[second["id"], "earlier_turns"]
    assert [t["query"] for t in shown] == ["what is the weather"]
    assert shown[0][f"response_{spoken}"] == "answer 1"


def test_an_answer_audio_outside_the_answers_folder_is_refused_in_one_line(
    sqlite_store: Store, tmp_path: Path, fake_openai: str
) -> None:
    two_systems_answer(sqlite_store, tmp_path / "data", fake_openai)
    pairs, _ = pair_systems(sqlite_store, "talker", "typist", seed=0)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    with pytest.raises(InferenceError, match=r"talker's answer to .*outside the allowed folder"):
        write_blind_pairs(sqlite_store, pairs, tmp_path / "blind.jsonl", elsewhere)
