"""The derived per-vote fields (arenalens.store.vote_features): one definition every stage reads."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import select

from arenalens.store import Store
from arenalens.store import tables as t
from arenalens.store.vote_features import (
    SIDE_FEATURES,
    derive_speech_features,
    shown_answer,
    vote_feature_column,
)


def votes(**columns: list) -> pd.DataFrame:
    names = [f"{n}_{s}" for s in "ab" for n in ("audio_duration_s", "audio_first_s", "spoken_text")]
    rows = max((len(v) for v in columns.values()), default=1)
    return pd.DataFrame({**{name: [None] * rows for name in names}, **columns})


def test_output_modality_and_turn_depth_are_sql_over_any_interactions_query(store: Store) -> None:
    rows = [
        {"id": i, "turn": turn, "conversation_id": "c" if turn else None, "extra": {},
         "content_hash": i, "model_a": "x", "model_b": "y", "winner": "tie"}
        for i, turn in (("both", 2), ("one", 1), ("none", None))
    ]  # fmt: skip
    store.insert_ignore(t.interactions, rows)
    audio = [("both", "a"), ("both", "b"), ("one", "a")]
    store.insert_ignore(
        t.response_audio,
        [{"interaction_id": i, "side": s, "path": "/x.wav", "root": "/"} for i, s in audio],
    )
    query = select(
        t.interactions.c.id,
        vote_feature_column("output_modality"),
        vote_feature_column("turn_depth"),
    )
    with store.engine.connect() as conn:
        found = {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    assert found == {"both": ("speech", 2), "one": ("text", 1), "none": ("text", 1)}
    with pytest.raises(KeyError, match="speaking_rate_wps_a"):
        vote_feature_column("speaking_rate_wps_a")


def test_a_workspace_without_speech_or_turns_groups_by_constants(store: Store) -> None:
    vote = {"id": "v", "extra": {}, "content_hash": "h", "model_a": "x", "model_b": "y"}
    store.insert_ignore(t.interactions, [{**vote, "winner": "tie"}])
    query = select(store.vote_feature_sql("output_modality"), store.vote_feature_sql("turn_depth"))
    assert "response_audio" not in str(query) and "interactions" not in str(query)
    with store.engine.connect() as conn:
        assert tuple(conn.execute(query.select_from(t.interactions)).one()) == ("text", 1)


def test_a_text_answer_has_no_speech_features() -> None:
    [row] = derive_speech_features(votes()).to_dict("records")
    assert all(math.isnan(row[name]) for name in SIDE_FEATURES)


def test_the_rate_divides_words_by_seconds() -> None:
    frame = votes(
        audio_duration_s_a=[4.0, 0.0],
        spoken_text_a=["one two three four five six", "one two"],
        audio_first_s_b=[0.7, None],
    )
    out = derive_speech_features(frame)
    assert out.loc[0, "speaking_rate_wps_a"] == 1.5
    assert math.isnan(out.loc[1, "speaking_rate_wps_a"])  # no seconds to divide by
    assert out.loc[0, "time_to_first_audio_s_b"] == 0.7


def test_a_records_own_fields_fill_in_where_nothing_was_measured() -> None:
    frame = votes(
        audio_duration_s_a=[2.0],
        answer_duration_s_a=["9"],  # measured wins
        answer_duration_s_b=["3.5"],  # given as text (PostgreSQL's ->>)
        spoken_text_b=["a b c d e f g"],
        time_to_first_audio_s_a=[1.25],
        speaking_rate_wps_a=[7.0],
    )
    [row] = derive_speech_features(frame).to_dict("records")
    assert (row["answer_duration_s_a"], row["answer_duration_s_b"]) == (2.0, 3.5)
    assert row["speaking_rate_wps_b"] == 2.0 and row["speaking_rate_wps_a"] == 7.0
    assert row["time_to_first_audio_s_a"] == 1.25


def test_an_answer_is_shown_as_its_text_else_its_transcript() -> None:
    assert shown_answer("Lima.", "lima") == "Lima."
    assert shown_answer(None, "it is lima") == "it is lima"
    assert shown_answer("  ", float("nan")) is None
