"""Conversations and spoken answers in input files (issue 26): the nested `turns` shape and flat
turn rows, response audio confined like query audio, the one-line errors, and the derived
output modality, turn depth and speech features."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import inspect, text, update
from test_paths import wav_bytes

from arenalens.cli import main
from arenalens.errors import IngestError
from arenalens.ingest import ingest_interactions, write_records
from arenalens.paths import confine_audio
from arenalens.store import SCHEMA_VERSION, Store
from arenalens.store import tables as t

SECOND = 16_000  # samples of one second in `wav_bytes`

CONVERSATION = {
    "conversation_id": "c1",
    "user_id": "u1",
    "language": "en",
    "model_a": "talker",
    "model_b": "typist",
    "winner": "model_a",
    "feedback": "A sounded natural",
    "turns": [
        {
            "query_text": "set a timer for ten minutes",
            "response_a": "Timer set for ten minutes.",
            "response_b": "Done.",
            "response_audio_a": "audio/c1-1-a.wav",
            "response_audio_b": "audio/c1-1-b.wav",
        },
        {
            "query_audio": "audio/c1-2-q.wav",
            "response_audio_a": "audio/c1-2-a.wav",
            "response_audio_b": "audio/c1-2-b.wav",
            "time_to_first_audio_s_b": 1.5,
        },
    ],
}
SINGLE_TURN_CSV = (
    "id,user_id,query_text,model_a,model_b,response_a,response_b,winner,feedback\n"
    "s1,u2,what is the capital of peru,talker,typist,Lima.,It is Lima.,model_b,B was clearer\n"
    "s2,u3,tell me a joke,typist,talker,Why did...,No.,model_a,\n"
)


@pytest.fixture
def arena(tmp_path: Path) -> Path:
    """arena/ with the conversation's WAVs (answer lengths 2, 1, 4, 2 s), beside outside/."""
    folder = tmp_path / "arena"
    (folder / "audio").mkdir(parents=True)
    lengths = {"c1-1-a": 2, "c1-1-b": 1, "c1-2-a": 4, "c1-2-b": 2, "c1-2-q": 1}
    for name, seconds in lengths.items():
        (folder / "audio" / f"{name}.wav").write_bytes(wav_bytes(seconds * SECOND))
    (folder / "audio" / "notes.wav").write_text("not audio\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.wav").write_bytes(wav_bytes())
    return folder


def write_jsonl(folder: Path, *records: dict, name: str = "talks.jsonl") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_multi_turn_speech_and_single_turn_text_share_one_workspace(
    store: Store, arena: Path
) -> None:
    talks = ingest_interactions(store, write_jsonl(arena, CONVERSATION), progress=False)
    (arena / "single.csv").write_text(SINGLE_TURN_CSV)
    single = ingest_interactions(store, arena / "single.csv", progress=False)

    assert (talks.records, talks.conversations, talks.response_audio_added) == (2, 1, 4)
    assert (single.interactions_added, single.conversations, single.bulk) == (2, 0, True)
    turns = store.conversation_turns_frame().set_index("id")
    assert list(turns.index) == ["c1:t1", "c1:t2"] and list(turns["turn"]) == [1, 2]
    assert set(turns["model_a"]) == {"talker"} and turns.loc["c1:t2", "query"] is None
    assert turns["winner"].isna().tolist() == [True, False]  # the vote after the last turn
    for side in ("a", "b"):  # stored resolved with the root the dashboard re-checks
        path, root = (
            turns.loc["c1:t2", f"audio_path_{side}"],
            turns.loc["c1:t2", f"audio_root_{side}"],
        )
        assert Path(root) == arena.resolve() and confine_audio(path, root) == Path(path)
    feedback = store.feedback_frame().set_index("interaction_id")["text"]
    assert feedback.to_dict() == {"c1:t2": "A sounded natural", "s1": "B was clearer"}

    features = store.vote_features_frame().set_index("id")
    assert features["output_modality"].to_dict() == {"c1:t2": "speech", "s1": "text", "s2": "text"}
    assert features["turn_depth"].to_dict() == {"c1:t2": 2, "s1": 1, "s2": 1}
    spoken = features.loc["c1:t2"]
    assert (spoken["answer_duration_s_a"], spoken["answer_duration_s_b"]) == (4.0, 2.0)
    assert spoken["time_to_first_audio_s_b"] == 1.5  # given by the record
    assert features.loc["s1", ["answer_duration_s_a", "speaking_rate_wps_a"]].isna().all()
    status = store.status()
    assert (status["conversations"], status["spoken_answers"], status["votes"]) == (1, 4, 3)


def test_speaking_rate_counts_the_transcript_or_the_given_text(store: Store, arena: Path) -> None:
    ingest_interactions(store, write_jsonl(arena, CONVERSATION), progress=False)
    with store.transaction() as conn:  # what the transcribe stage writes for turn 2
        conn.execute(
            update(t.response_audio)
            .where(t.response_audio.c.interaction_id == "c1:t2")
            .values(transcript="one two three four five six seven eight")
        )
    ingest_interactions(
        store,
        write_jsonl(
            arena,
            {
                **CONVERSATION,
                "conversation_id": "c2",
                "winner": None,
                "feedback": None,
                "turns": [{**CONVERSATION["turns"][0], "winner": "tie"}],
            },
            name="c2.jsonl",
        ),
        progress=False,
    )

    features = store.vote_features_frame().set_index("id")
    assert features.loc["c1:t2", "speaking_rate_wps_a"] == 8 / 4  # transcript words / seconds
    assert features.loc["c2:t1", "speaking_rate_wps_a"] == 5 / 2  # "Timer set for ten minutes."
    assert features.loc["c2:t1", "speaking_rate_wps_b"] == 1 / 1
    turns = store.conversation_turns_frame(["c1"]).set_index("id")
    assert turns.loc["c1:t2", "response_a"] == "one two three four five six seven eight"


def test_flat_turn_rows_and_the_nested_shape_store_the_same_conversation(
    store: Store, arena: Path, tmp_path: Path
) -> None:
    flat = [
        {
            "id": f"c1:t{n}",
            "conversation_id": "c1",
            "turn": n,
            **{k: v for k, v in CONVERSATION.items() if k not in ("turns", "winner", "feedback")},
            **turn,
        }
        for n, turn in enumerate(CONVERSATION["turns"], start=1)
    ]
    flat[-1].update(winner="model_a", feedback="A sounded natural")
    ingest_interactions(store, write_jsonl(arena, *flat, name="flat.jsonl"), progress=False)
    other = Store.open(f"sqlite:///{tmp_path / 'nested.sqlite'}")
    ingest_interactions(other, write_jsonl(arena, CONVERSATION), progress=False)

    columns = ["id", "conversation_id", "turn", "model_a", "winner", "content_hash"]
    flat_rows = store.interactions_frame(columns).to_dict("records")
    assert flat_rows == other.interactions_frame(columns).to_dict("records")
    other.engine.dispose()


def test_turn_ids_follow_the_record_id_or_the_content(store: Store, arena: Path) -> None:
    with_id = {**CONVERSATION, "id": "battle-7"}
    no_ids = {k: v for k, v in CONVERSATION.items() if k != "conversation_id"}
    path = write_jsonl(arena, with_id, no_ids, no_ids)  # the same conversation twice: 2 votes

    report = ingest_interactions(store, path, progress=False)

    frame = store.interactions_frame(["id", "conversation_id", "turn"])
    assert report.conversations == 3 and report.interactions_added == 6
    named = frame[frame["conversation_id"] == "c1"]
    assert sorted(named["id"]) == ["battle-7:t1", "battle-7:t2"]
    derived = frame[frame["conversation_id"] != "c1"]
    assert derived["conversation_id"].str.fullmatch(r"c_[0-9a-f]{24}").all()
    assert derived["id"].str.fullmatch(r"h_[0-9a-f]{24}").all()
    assert derived["conversation_id"].nunique() == 2
    assert ingest_interactions(store, path, progress=False).skipped


def test_a_later_file_continues_a_stored_conversation(store: Store, arena: Path) -> None:
    rows = "conversation_id,turn,query_text,model_a,model_b,winner\n"
    (arena / "day1.csv").write_text(rows + "k,1,hello,x,y,\nk,2,and then,x,y,\n")
    (arena / "day2.csv").write_text(rows + "k,3,thanks,x,y,model_b\n")
    (arena / "day3.csv").write_text(rows + "k,5,again,x,y,\n")

    ingest_interactions(store, arena / "day1.csv", progress=False)
    assert ingest_interactions(store, arena / "day2.csv", progress=False).conversations == 1
    with pytest.raises(
        IngestError, match=r"day3.csv row 2: conversation k: turns out of order: 1, 2, 3, 5$"
    ):
        ingest_interactions(store, arena / "day3.csv", progress=False)
    assert store.count(t.interactions) == 3


def test_the_rater_apps_writer_takes_the_flat_turns_of_a_battle(store: Store, arena: Path) -> None:
    battle = [
        {
            "id": f"b1:t{n}",
            "conversation_id": "b1",
            "turn": n,
            "query_text": q,
            "model_a": "x",
            "model_b": "y",
            "response_a": "a",
            "response_b": "b",
        }
        for n, q in ((1, "hi"), (2, "more"))
    ]
    battle[-1]["winner"] = "model_b"
    battle[0]["response_audio_a"] = str(arena / "audio" / "c1-1-a.wav")

    report = write_records(store, battle, "arena campaign demo", audio_root=arena)

    added = (report.interactions_added, report.conversations, report.response_audio_added)
    assert added == (2, 1, 1)
    with pytest.raises(IngestError, match="conversation b2: turns out of order: 2"):
        write_records(
            store,
            [{**battle[1], "id": "b2:t2", "conversation_id": "b2"}],
            "arena",
            audio_root=arena,
        )


CONVERSATION_ERRORS = {
    "turn without a query": (
        {**CONVERSATION, "turns": [CONVERSATION["turns"][0], {"response_a": "x"}]},
        r"talks.jsonl line 1 turn 2: conversation c1: turn 2 has no query; every turn needs "
        r"query_text or query_audio",
    ),
    "turn numbers out of order": (
        {**CONVERSATION, "turns": [CONVERSATION["turns"][0], {"turn": 3, "query_text": "x"}]},
        r"line 1 turn 2: conversation c1: turns out of order: turn 2 of the list says 'turn': 3",
    ),
    "models change mid-way": (
        {
            **CONVERSATION,
            "turns": [CONVERSATION["turns"][0], {"query_text": "x", "model_b": "other"}],
        },
        r"line 1 turn 2: conversation c1: sides change models mid-way \(turn 2: model_b is "
        r"'other', turn 1 had 'typist'\)",
    ),
    "response audio not audio": (
        {**CONVERSATION, "turns": [{"query_text": "x", "response_audio_b": "audio/notes.wav"}]},
        r"line 1 turn 1: field 'response_audio_b': 'audio/notes.wav': not an audio file",
    ),
    "response audio outside the root": (
        {
            **CONVERSATION,
            "turns": [{"query_text": "x", "response_audio_a": "../outside/secret.wav"}],
        },
        r"line 1 turn 1: field 'response_audio_a': '../outside/secret.wav' resolves to .*outside "
        r"the allowed folder",
    ),
    "response audio missing": (
        {**CONVERSATION, "turns": [{"query_text": "x", "response_audio_a": "audio/none.wav"}]},
        r"field 'response_audio_a': 'audio/none.wav': file not found",
    ),
    "two votes on the last turn": (
        {**CONVERSATION, "turns": [{"query_text": "x", "winner": "tie"}]},
        r"line 1 turn 1: field 'winner': given for the conversation and for its last turn",
    ),
    "no turns": ({**CONVERSATION, "turns": []}, r"field 'turns': an empty list"),
    "a turn that is not an object": (
        {**CONVERSATION, "turns": ["hello"]},
        r"line 1 turn 1: expected an object .*got str",
    ),
    "flat turn without conversation": (
        {"query_text": "x", "turn": 2},
        r"line 1: field 'turn': needs 'conversation_id'",
    ),
    "flat conversation without turn": (
        {"query_text": "x", "conversation_id": "c9"},
        r"line 1: field 'turn': required with 'conversation_id'",
    ),
    "turn that is no number": (
        {"query_text": "x", "conversation_id": "c9", "turn": "first"},
        r"field 'turn': expected a whole number from 1 to 100,000, got 'first'",
    ),
}


@pytest.mark.parametrize("case", list(CONVERSATION_ERRORS))
def test_bad_conversations_are_refused_with_one_line(store: Store, arena: Path, case: str) -> None:
    record, message = CONVERSATION_ERRORS[case]
    with pytest.raises(IngestError, match=message) as caught:
        ingest_interactions(store, write_jsonl(arena, record), progress=False)
    assert "\n" not in str(caught.value)
    assert store.count(t.interactions) == 0 and store.count(t.response_audio) == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("c,1,a,x,y\nc,3,b,x,y\n", r"votes.csv row 2: conversation c: turns out of order: 1, 3"),
        ("c,1,a,x,y\nc,1,b,x,y\n", r"conversation c: turns out of order: 1, 1"),
        ("c,2,a,x,y\nd,1,b,x,y\n", r"votes.csv row 2: conversation c: turns out of order: 2"),
        (
            "c,1,a,x,y\nc,2,b,z,y\n",
            r"row 3: conversation c: sides change models mid-way "
            r"\(turn 2: model_a is 'z', turn 1 had 'x'\)",
        ),
    ],
)
def test_cli_names_the_conversation_in_one_line(
    db_url: str, tmp_path: Path, rows: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("conversation_id,turn,query_text,model_a,model_b\n" + rows)

    with pytest.raises(SystemExit) as exited:
        main(["--workspace", str(tmp_path / "ws"), "--db", db_url, "ingest", str(path)])

    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and re.search(message, err), err


def test_single_turn_files_keep_the_ids_earlier_versions_gave_them(
    store: Store, tmp_path: Path
) -> None:
    """Ids and content hashes computed by arenalens before issue 26 (schema 4)."""
    (tmp_path / "s.csv").write_text(
        "model_a,model_b,winner,query_text,turns\nA,B,model_a,hi,3\nA,B,model_a,hi,3\nB,C,tie,,\n"
    )
    (tmp_path / "s.jsonl").write_text(
        '{"query_text": "hello", "model_a": "A", "model_b": "B", "winner": "model_b", '
        '"response_a": "x", "response_b": "y", "feedback": "meh", "lang": "en"}\n'
        '{"query_text": "bye", "turns": "two"}\n'  # a `turns` that is no list stays metadata
    )
    ingest_interactions(store, tmp_path / "s.csv", progress=False)
    ingest_interactions(store, tmp_path / "s.jsonl", progress=False)

    frame = store.interactions_frame(["id", "content_hash", "conversation_id", "extra"])
    assert sorted(frame["id"]) == [
        "h_22beaba8c90706c58527e3ed",
        "h_a2c431182be05ca1636f8587",
        "h_c020b80e639a4f91bf2d5d74",
        "h_cebff0e35f4f6e6d16ad8878",
        "h_fe347dc1827885dea7f3ccef",
    ]
    assert frame["conversation_id"].isna().all()
    assert {"turns": "two"} in frame["extra"].tolist()


def test_schema_4_workspace_opens_upgraded_with_conversation_columns(
    store: Store, db_url: str
) -> None:
    store.insert_ignore(
        t.interactions,
        [
            {
                "id": "v1",
                "model_a": "A",
                "model_b": "B",
                "winner": "tie",
                "extra": {},
                "content_hash": "h",
            }
        ],
    )
    with store.engine.begin() as conn:  # what schema 4 had
        conn.execute(text("DROP TABLE response_audio"))
        conn.execute(text("DROP INDEX ix_interactions_conversation_id"))
        for table, column in (
            ("interactions", "conversation_id"),
            ("interactions", "turn"),
            ("model_outputs", "output_audio"),
            ("model_outputs", "audio_duration_s"),
            ("model_outputs", "time_to_first_audio_s"),
            ("model_outputs", "output_transcript"),
            ("model_outputs", "transcript_model"),
        ):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(
            update(t.schema_info).where(t.schema_info.c.key == "schema_version").values(value="4")
        )
    store.engine.dispose()

    upgraded = Store.open(db_url)

    found = inspect(upgraded.engine)
    assert {"conversation_id", "turn"} <= {c["name"] for c in found.get_columns("interactions")}
    assert "output_audio" in {c["name"] for c in found.get_columns("model_outputs")}
    assert "ix_interactions_conversation_id" in {
        i["name"] for i in found.get_indexes("interactions")
    }
    status = upgraded.status()
    assert status["schema_version"] == SCHEMA_VERSION == 5 and status["votes"] == 1
    assert upgraded.vote_features_frame()["output_modality"].tolist() == ["text"]
    upgraded.engine.dispose()
