"""The derived per-vote fields (arenalens.vote_features): one definition every stage reads."""

from __future__ import annotations

import math

import pandas as pd

from arenalens.vote_features import VOTE_FEATURES, derive_vote_features, shown_answer


def votes(**columns: list) -> pd.DataFrame:
    base = {
        "turn": [None],
        **{f"{n}_{s}": [None] for s in "ab" for n in
           ("audio_path", "audio_duration_s", "audio_first_s", "spoken_text")},
    }  # fmt: skip
    rows = max(len(v) for v in columns.values()) if columns else 1
    base = {k: v * rows for k, v in base.items()}
    return pd.DataFrame({**base, **columns})


def test_a_single_turn_text_vote_is_text_at_depth_one_without_speech_features() -> None:
    [row] = derive_vote_features(votes()).to_dict("records")
    assert (row["output_modality"], row["turn_depth"]) == ("text", 1)
    assert all(math.isnan(row[name]) for name in VOTE_FEATURES[2:])


def test_speech_needs_both_sides_heard_and_the_rate_divides_words_by_seconds() -> None:
    frame = votes(
        turn=[3, 2],
        audio_path_a=["a.wav", "a.wav"],
        audio_path_b=["b.wav", None],
        audio_duration_s_a=[4.0, 0.0],
        spoken_text_a=["one two three four five six", "one two"],
        audio_first_s_b=[0.7, None],
    )
    out = derive_vote_features(frame)
    assert out["output_modality"].tolist() == ["speech", "text"]
    assert out["turn_depth"].tolist() == [3, 2]
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
    [row] = derive_vote_features(frame).to_dict("records")
    assert (row["answer_duration_s_a"], row["answer_duration_s_b"]) == (2.0, 3.5)
    assert row["speaking_rate_wps_b"] == 2.0 and row["speaking_rate_wps_a"] == 7.0
    assert row["time_to_first_audio_s_a"] == 1.25


def test_an_answer_is_shown_as_its_text_else_its_transcript() -> None:
    assert shown_answer("Lima.", "lima") == "Lima."
    assert shown_answer(None, "it is lima") == "it is lima"
    assert shown_answer("  ", float("nan")) is None
