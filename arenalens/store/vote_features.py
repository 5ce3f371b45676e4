"""What a vote was about beyond its text: output modality, turn depth and the speech features of
each side's answer, each defined in this one place (the store reads them, every stage uses them).

- `output_modality`: "speech" when both sides' answers were heard (both have response audio),
  else "text";
- `turn_depth`: the vote's turn number in its conversation (1 for a single-turn vote);
- per side (`_a`, `_b`): `answer_duration_s` (seconds of the spoken answer),
  `speaking_rate_wps` (words of its transcript, else of its text, per second) and
  `time_to_first_audio_s` (seconds until the answer's first audio). A measured value (response
  audio) wins; otherwise the record's own field of that name (kept in `extra`) is used.

The first two are SQL expressions (`vote_feature_column`), so votes can be grouped by them in
the database (`rank --by output_modality`); the speech features are computed on a frame
(`derive_speech_features`), read with `Store.vote_features_frame()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, case, exists, func

from arenalens.store import tables as t

if TYPE_CHECKING:  # pandas loads with the first frame
    import pandas as pd
    from sqlalchemy import ColumnElement

SIDES = ("a", "b")
OUTPUT_MODALITIES = ("text", "speech")
SQL_FEATURES = ("output_modality", "turn_depth")
SPEECH_FEATURES = ("answer_duration_s", "speaking_rate_wps", "time_to_first_audio_s")
# the per-side feature columns, e.g. answer_duration_s_a
SIDE_FEATURES = tuple(f"{name}_{side}" for name in SPEECH_FEATURES for side in SIDES)
VOTE_FEATURES = (*SQL_FEATURES, *SIDE_FEATURES)
# What `derive_speech_features` reads, per side: its measured duration and time to first audio,
# and the text its words are counted in (transcript, else the answer).
INPUT_COLUMNS = tuple(
    f"{name}_{side}"
    for side in SIDES
    for name in ("audio_duration_s", "audio_first_s", "spoken_text")
)


def vote_feature_column(name: str) -> ColumnElement:
    """`output_modality` or `turn_depth` of each row of `interactions`, as a SQL expression that
    needs no join (it can be selected, grouped or filtered in any query over interactions)."""
    i = t.interactions.c
    if name == "turn_depth":
        return func.coalesce(i.turn, 1)
    if name == "output_modality":
        r = t.response_audio.c
        heard = and_(*(exists().where(r.interaction_id == i.id, r.side == s) for s in SIDES))
        return case((heard, OUTPUT_MODALITIES[1]), else_=OUTPUT_MODALITIES[0])
    raise KeyError(
        f"{name!r} is not a vote feature computed in SQL; expected one of {SQL_FEATURES}"
    )


def derive_speech_features(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (one row per vote: the `INPUT_COLUMNS`, and optionally the `SIDE_FEATURES` as
    given in records) with the `SIDE_FEATURES` set; inputs are left as they are."""
    import pandas as pd

    out = frame.copy()
    for side in SIDES:
        duration = _measured_else_given(
            out, f"audio_duration_s_{side}", f"answer_duration_s_{side}"
        )
        first = _measured_else_given(out, f"audio_first_s_{side}", f"time_to_first_audio_s_{side}")
        words = out[f"spoken_text_{side}"].map(count_words, na_action="ignore")
        rate = pd.to_numeric(words, errors="coerce") / duration.where(duration > 0)
        given_rate = _given(out, f"speaking_rate_wps_{side}")
        out[f"answer_duration_s_{side}"] = duration
        out[f"speaking_rate_wps_{side}"] = rate.where(rate.notna(), given_rate)
        out[f"time_to_first_audio_s_{side}"] = first
    return out


def count_words(text: str) -> int:
    """Words of a transcript or answer, as a speaking rate counts them (runs of non-space)."""
    return len(str(text).split())


def _given(frame: pd.DataFrame, name: str) -> pd.Series:
    """A feature as the records gave it (numbers, or text of numbers), NaN where absent."""
    import pandas as pd

    if name not in frame:
        return pd.Series(float("nan"), index=frame.index)
    values = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return values.where(values >= 0)


def _measured_else_given(frame: pd.DataFrame, measured: str, given: str) -> pd.Series:
    import pandas as pd

    values = pd.to_numeric(frame[measured], errors="coerce").astype("float64")
    return values.where(values.notna(), _given(frame, given))


def shown_answer(response: object, transcript: object) -> object:
    """The text to show for an answer: what the record gave, else its spoken answer's
    transcript, else None."""
    if isinstance(response, str) and response.strip():
        return response
    if isinstance(transcript, str) and transcript.strip():
        return transcript
    return None
