"""What both rater pages are made of: the workspace context, the recogniser, plain-text notes,
the question and the two answers (audio confined to the folder it was checked against, text as
text), and the vote form with its keys and its typed or spoken reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from arena.errors import RateLimited
from arena.live import save_recording
from arena.votes import CHOICES
from arenalens.config import load_settings
from arenalens.context import AppContext
from arenalens.display import plural
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


@st.cache_resource(show_spinner="Loading the speech recogniser...")
def transcriber() -> Any:
    """Whisper tiny (bundled, offline), loaded once per server process."""
    from inference.transcribe import make_transcriber

    return make_transcriber()


def transcribe_file(path: Path) -> str:
    """What a recording says (empty when nothing was recognised)."""
    from inference.audio import load_audio

    return transcriber().transcribe([load_audio(path)])[0].text.strip()


def given_reason(app: AppContext, spec: dict[str, Any], key: str) -> str | None:
    """The rater's reason for the vote on `key`: typed, said aloud (transcribed), or both."""
    typed = st.session_state.get(f"reason-{key}") or None
    said = None
    recording = st.session_state.get(f"spoken-{key}")
    if recording is not None:
        path = save_recording(
            recording.getvalue(), app.settings.workspace, spec["name"], f"reason-{key}"
        )
        said = transcribe_file(path) or None
    return " ".join(part for part in (typed, said) if part) or None


def record_vote(
    app: AppContext, spec: dict[str, Any], key: str, cast: Callable[[str | None], bool]
) -> bool | None:
    """Store a vote through `cast(reason)`: True stored, False stored before (reload, double
    click, second tab); None when it was refused, with the reason left as the next run's note."""
    try:
        return cast(given_reason(app, spec, key))
    except RateLimited as exc:
        st.session_state["note"] = ("warning", str(exc))
    except ArenalensError as exc:
        st.session_state["note"] = ("error", f"The vote was not stored: {exc}")
    return None


def note_vote(spec: dict[str, Any], pair: dict[str, Any], stored: bool, after: str) -> None:
    """Leave the next run a note on a vote: stored (and the names, if the campaign reveals
    them) or stored before."""
    if not stored:
        st.session_state["note"] = ("info", f"That vote was already stored; {after}.")
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


def play(path: str | None, root: str | None, missing: str) -> bool:
    """An audio player for a file checked to lie inside `root` (its bytes are served by this
    app, never a path or an outside address); `missing` as a caption when it cannot be read."""
    if not path:
        return False
    try:
        st.audio(confine_audio(path, root or "/nonexistent").read_bytes(), format="audio/wav")
    except (UnsafePathError, OSError):
        st.caption(missing)
        return False
    return True


def show_query(pair: dict[str, Any], heading: str = "The question") -> None:
    """The query: its audio (confined to the folder it was checked against) and its text."""
    st.subheader(heading)
    play(pair.get("query_audio"), pair.get("audio_root"), "The recording is not available.")
    st.text(pair.get("query_text") or "(spoken only)")


def show_earlier_turns(turns: list[dict[str, Any]] | None) -> None:
    """The conversation before a pair's turn, as text: each question and both sides' answers."""
    if not turns:
        return
    with st.expander(f"Earlier in this conversation ({plural(len(turns), 'turn')})", expanded=True):
        for turn in turns:
            st.caption(f"Turn {turn.get('turn')}")
            st.text(f"Question: {turn.get('query') or '(spoken only)'}")
            for column, side in zip(st.columns(2), ("a", "b"), strict=True):
                column.text(f"{side.upper()}: {turn.get(f'response_{side}') or '(no answer)'}")


def show_answers(pair: dict[str, Any]) -> None:
    """Both answers side by side as A and B: heard (when spoken) with the text as transcript,
    or read."""
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        with column.container(border=True):
            st.subheader(side.upper())
            spoken = play(
                pair.get(f"response_audio_{side}"),
                pair.get("audio_root"),
                "This spoken answer is not available.",
            )
            if spoken:
                st.caption("Transcript")
            st.text(pair[f"response_{side}"])


def vote_form(key: str, on_vote: Callable[..., None], args: tuple[Any, ...]) -> None:
    """The reason (typed or spoken) and the four vote buttons with their keys; a button calls
    `on_vote(*args, choice)`."""
    st.text_input("Why? (optional)", key=f"reason-{key}", max_chars=2000)
    legend = ", ".join(f"{shortcut}: {label}" for shortcut, label in CHOICES.values())
    with st.expander("Or say why (recorded, then transcribed)"):
        st.audio_input("Your reason", key=f"spoken-{key}")
    st.caption(plain(f"Keys (outside the text box): {legend}."))
    for column, (choice, (shortcut, label)) in zip(st.columns(4), CHOICES.items(), strict=True):
        column.button(
            label,  # Streamlit shows the key beside it
            key=f"vote-{choice}-{key}",
            shortcut=shortcut,
            on_click=on_vote,
            args=(*args, choice),
            use_container_width=True,
        )
