"""The rater app: one page, reached only through a personal link (`?token=...`).

Started by `arenalens arena serve` (which sets ARENALENS_WORKSPACE / ARENALENS_DB). It shows a
rater the blind pair they are given (replay) or lets them talk to two anonymous systems (live,
`arena/live_page.py`), takes their vote (click or key) and stores it at once; it never shows a
leaderboard, another campaign, or a system's name before the vote (after it, only when the
campaign reveals names). Everything a rater or a system wrote is shown as plain text; audio
plays from files confined to the folder they were checked against. Separate from the analysis
dashboard on purpose: nothing here links to it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from arena import persist, serving
from arena.errors import AccessDenied
from arena.live_page import live_page
from arena.page_parts import (
    app_context,
    note_vote,
    plain,
    record_vote,
    show_answers,
    show_earlier_turns,
    show_note,
    show_query,
    vote_form,
)
from arena.settings import campaign_settings
from arenalens.context import AppContext
from arenalens.errors import ArenalensError


def _vote(
    app: AppContext, spec: dict[str, Any], rater: str, pair: dict[str, Any], choice: str
) -> None:
    """Button callback: store the vote on a replay pair (once), and leave a note for the next
    run to show."""
    stored = record_vote(
        app,
        spec,
        pair["pair_id"],
        lambda reason: serving.cast_vote(
            app.store, spec, rater, pair, choice, reason, workspace=app.settings.workspace
        ),
    )
    if stored is not None:
        note_vote(spec, pair, stored, "here is the next pair")


def replay_page(app: AppContext, spec: dict[str, Any], rater: str) -> None:
    """Show the rater's current blind pair and the vote buttons."""
    store = app.store
    pair = serving.current_pair(store, spec["name"], rater, np.random.default_rng())
    spoken = pair is not None and bool(pair.get("response_audio_a"))
    how = "Listen to both (each transcript is below it)" if spoken else "Read both"
    st.caption(f"Two anonymous systems answered the same question. {how}, then vote.")
    st.text(f"Rater: {rater}")
    voted, left = serving.rater_progress(store, spec["name"], rater)
    show_note()
    if pair is None:
        st.success(plain(f"Thank you: nothing left to rate. You cast {voted} vote(s)."))
        return
    minutes = campaign_settings(spec).expire_after_minutes
    st.caption(
        plain(
            f"Your votes so far: {voted}. Pairs still open to you: {left + 1}. A pair left "
            f"without a vote for {minutes:g} minutes goes to another rater."
        )
    )
    show_earlier_turns(pair.get("earlier_turns"))
    show_query(pair)
    show_answers(pair)
    vote_form(pair["pair_id"], _vote, (app, spec, rater, pair))


def main() -> None:
    st.set_page_config(page_title="Blind comparison", layout="wide")
    token = st.query_params.get("token")
    try:
        app = app_context()
        rater, spec = persist.authorise(app.store, token)
    except AccessDenied as exc:
        st.error(plain(exc))
        st.stop()
        return  # st.stop() only raises inside a Streamlit session
    except ArenalensError as exc:
        st.error(plain(f"The app cannot open its workspace: {exc}"))
        st.stop()
        return
    st.title("Which answer is better?")
    if spec["mode"] == "live":
        live_page(app, spec, rater)
    else:
        replay_page(app, spec, rater)


main()
