"""Outputs page parts for spoken answers and conversations: both answers side by side, each
played when its audio file is confined to the root recorded at ingest (as the query's audio
is), and a conversation shown turn by turn. Every text is shown as text."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.store.vote_features import SPEECH_FEATURES
from dashboard import loaders, ui


def _text(value: object) -> str:
    return value if isinstance(value, str) and value.strip() else "(no answer text)"


def answer_facts(app, interaction_id: str, side: str) -> str:
    """'3.0 s long, 4.3 words per second, first audio after 0.60 s': a vote's speech features
    as ranking's speech controls use them, else what the answer's audio file measured."""
    features = loaders.workspace.vote_features(app)
    if interaction_id in features.index:
        row = features.loc[interaction_id]
        values = [row[f"{name}_{side}"] for name in SPEECH_FEATURES]
    else:  # a turn without a vote: what its audio file measured
        audio = loaders.workspace.response_audio(app)
        mine = audio[(audio["interaction_id"] == interaction_id) & (audio["side"] == side)]
        known = len(mine) > 0
        values = [
            mine["duration_s"].iloc[0] if known else None,
            None,
            mine["time_to_first_audio_s"].iloc[0] if known else None,
        ]
    duration, rate, first = values
    facts = [
        f"{float(duration):.1f} s long" if not display.is_empty(duration) else "",
        f"{float(rate):.1f} words per second" if not display.is_empty(rate) else "",
        f"first audio after {float(first):.2f} s" if not display.is_empty(first) else "",
    ]
    return ", ".join(f for f in facts if f)


def show_answers(app, row: pd.Series | dict) -> None:
    """Answer A and answer B side by side: model, the spoken answer (or why it is not played),
    its length, speaking rate and time to first audio, and the text (the record's, else the
    transcript)."""
    interaction_id = str(row["id"])
    spoken = loaders.workspace.playable_answers(app, interaction_id)
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        with column:
            ui.say("markdown", "**Answer {}** — {}", side.upper(), row[f"model_{side}"])
            if side in spoken:
                path, refused = spoken[side]
                if path is not None:
                    st.audio(str(path))
                else:
                    ui.show("caption", refused)
                facts = answer_facts(app, interaction_id, side)
                if facts:
                    ui.say("caption", "Spoken answer: {}", facts)
            st.text(_text(row[f"response_{side}"]))


def show_conversation(app, conversation_id: str, picked_id: str) -> list[str]:
    """Every turn of the conversation in order: the user's query (and its audio), both
    answers, and a vote where the turn has one; returns the turns' interaction ids."""
    turns = loaders.workspace.conversation_turns(app)
    turns = turns[turns["conversation_id"] == conversation_id] if len(turns) else turns
    if turns.empty:
        st.caption("The turns of this conversation could not be read.")
        return [picked_id]
    first = turns.iloc[0]
    st.subheader("Conversation, turn by turn")
    ui.say(
        "caption",
        "{}: {} (A) and {} (B), the same on every turn; conversation {}.",
        display.plural(len(turns), "turn"),
        first["model_a"],
        first["model_b"],
        conversation_id,
    )
    voted = [
        t for t, w in zip(turns["id"], turns["winner"], strict=True) if not display.is_empty(w)
    ]
    # a vote on the last turn only is the rater's verdict on the whole conversation
    whole = len(turns) > 1 and voted == [turns["id"].iloc[-1]]
    for turn in turns.to_dict("records"):
        with st.container(border=True):
            here = " (the interaction picked above)" if turn["id"] == picked_id else ""
            ui.say("markdown", "**Turn {}**{}", int(turn["turn"]), here)
            ui.show_user_text("User", turn.get("query"), empty="(no query text)")
            audio, refused = loaders.workspace.playable_audio(app, str(turn["id"]))
            if audio is not None:
                st.audio(str(audio))
            elif refused:
                ui.show("caption", refused)
            show_answers(app, turn)
            if not display.is_empty(turn.get("winner")):
                ui.say(
                    "markdown",
                    "**{}:** {}",
                    "Vote on the whole conversation" if whole else "Vote on this turn",
                    display.display_name(turn["winner"]),
                )
    return [str(i) for i in turns["id"]]
