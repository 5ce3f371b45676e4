"""The rater app: one page, reached only through a personal link (`?token=...`).

Started by `arenalens arena serve` (which sets ARENALENS_WORKSPACE / ARENALENS_DB). It shows a
rater the blind pair they are given, takes their vote (click or key) and stores it at once; it
never shows a leaderboard, another campaign, or a system's name before the vote (after it,
only when the campaign reveals names). Everything a rater or a system wrote is shown as plain
text. Separate from the analysis dashboard on purpose: nothing here links to it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import streamlit as st

from arena import persist
from arena.errors import AccessDenied, RateLimited
from arena.votes import CHOICES
from arenalens.config import load_settings
from arenalens.context import AppContext
from arenalens.errors import ArenalensError
from arenalens.paths import UnsafePathError, confine_audio

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def plain(text: object) -> str:
    """`text` with every markdown-active character escaped, for st.error/st.success."""
    return _MARKDOWN.sub(r"\\\1", str(text))


@st.cache_resource(show_spinner=False)
def context_for(workspace: str, db: str | None) -> AppContext:
    """The process-wide AppContext (and its writable store) of one workspace / database."""
    return AppContext(load_settings({"workspace": workspace, "db": db}))


def app_context() -> AppContext:
    """The AppContext of the workspace named by ARENALENS_WORKSPACE / ARENALENS_DB."""
    settings = load_settings()
    return context_for(str(settings.workspace), settings.db)


def _vote(
    app: AppContext, spec: dict[str, Any], rater: str, pair: dict[str, Any], choice: str
) -> None:
    """Button callback: store the vote (once), and leave a note for the next run to show."""
    reason = st.session_state.get(f"reason-{pair['pair_id']}") or None
    try:
        stored = persist.cast_vote(
            app.store, spec, rater, pair, choice, reason, workspace=app.settings.workspace
        )
    except RateLimited as exc:
        st.session_state["note"] = ("warning", str(exc))
        return
    if not stored:
        st.session_state["note"] = ("info", "That vote was already stored; here is the next pair.")
        return
    message = "Vote stored."
    if spec["reveal_names"] and not pair.get("attention"):
        message += f" A was {pair['model_a']}, B was {pair['model_b']}."
    st.session_state["note"] = ("success", message)


def show_note() -> None:
    """The message the last vote left (stored, already stored, too fast)."""
    note = st.session_state.pop("note", None)
    if note is not None:
        kind, text = note
        getattr(st, kind)(plain(text))


def show_query(pair: dict[str, Any]) -> None:
    """The query: its audio (confined to the folder it was checked against) and its text."""
    st.subheader("The question")
    if pair.get("query_audio"):
        try:
            path = confine_audio(pair["query_audio"], pair.get("audio_root") or "/nonexistent")
            st.audio(path.read_bytes())
        except (UnsafePathError, OSError):
            st.caption("The recording of this question is not available.")
    st.text(pair.get("query_text") or "(spoken only)")


def replay_page(app: AppContext, spec: dict[str, Any], rater: str) -> None:
    """Show the rater's current blind pair and the vote buttons."""
    store = app.store
    pair = persist.current_pair(store, spec["name"], rater, np.random.default_rng())
    voted, left = persist.rater_progress(store, spec["name"], rater)
    show_note()
    if pair is None:
        st.success(plain(f"Thank you: nothing left to rate. You cast {voted} vote(s)."))
        return
    st.caption(plain(f"Your votes so far: {voted}. Pairs still open to you: {left + 1}."))
    show_query(pair)
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        with column.container(border=True):
            st.subheader(side.upper())
            st.text(pair[f"response_{side}"])
    st.text_input("Why? (optional)", key=f"reason-{pair['pair_id']}", max_chars=2000)
    legend = ", ".join(f"{key}: {label.lower()}" for key, label in CHOICES.values())
    st.caption(plain(f"Keys (outside the text box): {legend}."))
    for column, (choice, (key, label)) in zip(st.columns(4), CHOICES.items(), strict=True):
        column.button(
            label,  # Streamlit shows the key beside it
            key=f"vote-{choice}-{pair['pair_id']}",
            shortcut=key,
            on_click=_vote,
            args=(app, spec, rater, pair, choice),
            use_container_width=True,
        )


def live_page(app: AppContext, spec: dict[str, Any], rater: str) -> None:
    """Live campaigns: not served by this version."""
    st.info("This campaign asks live questions, which this version of the app cannot serve yet.")


def main() -> None:
    st.set_page_config(page_title="Blind comparison", layout="wide")
    token = st.query_params.get("token")
    try:
        app = app_context()
        rater, spec = persist.authorise(app.store, token)
    except AccessDenied as exc:
        st.error(plain(exc))
        st.stop()
    except ArenalensError as exc:
        st.error(plain(f"The app cannot open its workspace: {exc}"))
        st.stop()
    st.title("Which answer is better?")
    st.caption("Two anonymous systems answered the same question. Read both, then vote.")
    st.text(f"Rater: {rater}")
    if spec["mode"] == "live":
        live_page(app, spec, rater)
    else:
        replay_page(app, spec, rater)


main()
