"""Store reads of conversations and spoken answers (a mixin of `Store`): each turn with both
answers (the text the record gave, else the spoken answer's transcript), the response audio,
and every vote's derived features (`arenalens.store.vote_features`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, literal, or_, select

from arenalens.models import resolve_models
from arenalens.store import tables as t
from arenalens.store.vote_features import (
    OUTPUT_MODALITIES,
    SIDE_FEATURES,
    SIDES,
    SQL_FEATURES,
    VOTE_FEATURES,
    derive_speech_features,
    shown_answer,
    vote_feature_column,
)

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import ColumnElement, Executable, Table


class ConversationReads:
    """Reads for conversations and spoken answers; `Store` provides `read_frame` and friends."""

    if TYPE_CHECKING:

        def read_frame(
            self, query: Executable | str, params: Any = None, *, plain: bool = False
        ) -> pd.DataFrame: ...
        def aliases(self) -> dict[str, str]: ...
        def count(self, table: Table, *where: Any) -> int: ...
        def read_scalar(self, query: Executable, params: Any = None) -> Any: ...

    def count_conversations(self) -> int:
        """How many conversations the interactions are turns of."""
        c = t.interactions.c
        query = select(func.count(func.distinct(c.conversation_id)))
        return int(self.read_scalar(query) or 0)

    def vote_feature_sql(self, name: str) -> ColumnElement:
        """`vote_feature_column(name)`, or its one value as a constant when this workspace has no
        spoken answers (`output_modality`) or no conversations (`turn_depth`): a store of a million
        single-turn votes then groups by it at no cost."""
        if name == "output_modality" and not self.count(t.response_audio):
            return literal(OUTPUT_MODALITIES[0])
        if name == "turn_depth" and not self.count(
            t.interactions, t.interactions.c.turn.is_not(None)
        ):
            return literal(1)
        return vote_feature_column(name)

    def response_audio_frame(self, ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Spoken answers: interaction_id, side ('a'|'b'), path, root (the folder `path` was
        confined to; re-check with `arenalens.paths.confine_audio` before playing), duration_s,
        time_to_first_audio_s, transcript, transcript_model."""
        r = t.response_audio
        query = select(r).order_by(r.c.interaction_id, r.c.side)
        if ids is not None:
            query = query.where(r.c.interaction_id.in_(list(ids)))
        return self.read_frame(query)

    def vote_features_frame(self) -> pd.DataFrame:
        """One row per vote: id, conversation_id, turn and `VOTE_FEATURES` (output_modality,
        turn_depth, answer_duration_s_a/_b, speaking_rate_wps_a/_b, time_to_first_audio_s_a/_b)."""
        i = t.interactions.c
        joined, audio = _with_response_audio()
        given = {name: i.extra[name].as_string().label(name) for name in SIDE_FEATURES}
        columns = [
            i.id,
            i.conversation_id,
            i.turn,
            *(vote_feature_column(name).label(name) for name in SQL_FEATURES),
            *given.values(),
        ]
        for side in SIDES:
            a = audio[side].c
            response = i.response_a if side == "a" else i.response_b
            given_duration = i.extra[f"answer_duration_s_{side}"].as_string()
            timed = or_(a.path.is_not(None), given_duration.is_not(None))
            columns += [
                a.duration_s.label(f"audio_duration_s_{side}"),
                a.time_to_first_audio_s.label(f"audio_first_s_{side}"),
                # words are counted only where a duration can divide them
                case((timed, func.coalesce(a.transcript, response)), else_=None).label(
                    f"spoken_text_{side}"
                ),
            ]
        query = select(*columns).select_from(joined).where(i.winner.is_not(None)).order_by(i.id)
        frame = derive_speech_features(self.read_frame(query, plain=True))
        return frame[["id", "conversation_id", "turn", *VOTE_FEATURES]]

    def conversation_turns_frame(
        self, conversation_ids: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Turns of conversations in order (all, or those named): id, conversation_id, turn,
        query (typed, else transcribed), model_a, model_b (aliases resolved), response_a,
        response_b (the text given, else the spoken answer's transcript), audio_path_a/_b and
        audio_root_a/_b (None without audio), winner, output_modality."""
        i = t.interactions.c
        joined, audio = _with_response_audio()
        joined = joined.outerjoin(t.transcripts, t.transcripts.c.interaction_id == i.id)
        columns = [
            i.id,
            i.conversation_id,
            i.turn,
            func.coalesce(i.query_text, t.transcripts.c.text).label("query"),
            i.model_a,
            i.model_b,
            i.response_a,
            i.response_b,
            i.winner,
            vote_feature_column("output_modality").label("output_modality"),
        ]
        for side in SIDES:
            a = audio[side].c
            columns += [
                a.transcript.label(f"transcript_{side}"),
                a.path.label(f"audio_path_{side}"),
                a.root.label(f"audio_root_{side}"),
            ]
        query = select(*columns).select_from(joined).where(i.conversation_id.is_not(None))
        if conversation_ids is not None:
            query = query.where(i.conversation_id.in_(list(conversation_ids)))
        frame = self.read_frame(query.order_by(i.conversation_id, i.turn))
        frame = resolve_models(frame, self.aliases())
        for name in frame.columns:  # a missing text is None, not NaN, whatever the other rows hold
            if name != "turn":
                values = frame[name].astype(object)
                frame[name] = values.where(values.notna(), None)
        for side in SIDES:
            frame[f"response_{side}"] = _shown_answers(frame, side)
        return frame.drop(columns=[f"transcript_{side}" for side in SIDES])

    def fill_answers_from_transcripts(
        self, frame: pd.DataFrame, id_column: str = "id"
    ) -> pd.DataFrame:
        """`frame` with each missing `response_a`/`response_b` replaced by the transcript of that
        side's spoken answer (rows without spoken answers are left as they are)."""
        if (
            frame.empty
            or id_column not in frame
            or not self.count(t.response_audio, t.response_audio.c.transcript.is_not(None))
        ):
            return frame
        ids = frame[id_column].dropna().unique().tolist()
        spoken = self.response_audio_frame(ids)
        spoken = spoken[spoken["transcript"].notna()]
        for side in SIDES:
            if f"response_{side}" not in frame:
                continue
            mine = spoken[spoken["side"] == side].set_index("interaction_id")["transcript"]
            frame[f"transcript_{side}"] = frame[id_column].map(mine)
            frame[f"response_{side}"] = _shown_answers(frame, side)
            frame = frame.drop(columns=[f"transcript_{side}"])
        return frame


def _with_response_audio() -> tuple[Any, dict[str, Any]]:
    """interactions LEFT JOIN each side's response audio, and the two aliases by side."""
    i = t.interactions.c
    audio = {side: t.response_audio.alias(f"response_audio_{side}") for side in SIDES}
    joined = t.interactions
    for side, alias in audio.items():
        joined = joined.outerjoin(alias, and_(alias.c.interaction_id == i.id, alias.c.side == side))
    return joined, audio


def _shown_answers(frame: pd.DataFrame, side: str) -> pd.Series:
    """Side `side`'s answers as shown: the text given, else the transcript (`shown_answer`)."""
    import pandas as pd

    return pd.Series(
        [
            shown_answer(r, s)
            for r, s in zip(frame[f"response_{side}"], frame[f"transcript_{side}"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
