"""The rater app: one page, reached only through a personal link (`?token=...`).

Started by `arenalens arena serve` (which sets ARENALENS_WORKSPACE / ARENALENS_DB). It shows a
rater the blind pair they are given, takes their vote (click or key) and stores it at once; it
never shows a leaderboard, another campaign, or a system's name before the vote (after it,
only when the campaign reveals names). Everything a rater or a system wrote is shown as plain
text. Separate from the analysis dashboard on purpose: nothing here links to it.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from arena import persist, serving
from arena.errors import AccessDenied, ArenaError, RateLimited
from arena.live import (
    AUDIO_FOLDER,
    DEFAULT_TIMEOUT_S,
    Question,
    ask_both,
    latency_fields,
    save_recording,
)
from arena.scheduler import next_pair
from arena.settings import campaign_settings
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


@st.cache_resource(show_spinner="Loading the speech recogniser...")
def transcriber() -> Any:
    """Whisper tiny (bundled, offline), loaded once per server process."""
    from inference.transcribe import make_transcriber

    return make_transcriber()


def transcribe_file(path: Path) -> str:
    """What a recording says (empty when nothing was recognised)."""
    from inference.audio import load_audio

    return transcriber().transcribe([load_audio(path)])[0].text.strip()


def spoken_reason(app: AppContext, spec: dict[str, Any], pair: dict[str, Any]) -> str | None:
    """The reason the rater said aloud, transcribed; None when they recorded nothing."""
    recording = st.session_state.get(f"spoken-{pair['pair_id']}")
    if recording is None:
        return None
    name = f"reason-{pair['pair_id']}"
    path = save_recording(recording.getvalue(), app.settings.workspace, spec["name"], name)
    return transcribe_file(path) or None


def _vote(
    app: AppContext, spec: dict[str, Any], rater: str, pair: dict[str, Any], choice: str
) -> None:
    """Button callback: store the vote (once), and leave a note for the next run to show."""
    typed = st.session_state.get(f"reason-{pair['pair_id']}") or None
    try:
        said = spoken_reason(app, spec, pair)
        reason = " ".join(part for part in (typed, said) if part) or None
        stored = serving.cast_vote(
            app.store,
            spec,
            rater,
            pair,
            choice,
            reason,
            workspace=app.settings.workspace,
            extra=pair.get("extra"),
        )
    except RateLimited as exc:
        st.session_state["note"] = ("warning", str(exc))
        return
    except ArenalensError as exc:
        st.session_state["note"] = ("error", f"The vote was not stored: {exc}")
        return
    st.session_state.pop("battle", None)
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
    pair = serving.current_pair(store, spec["name"], rater, np.random.default_rng())
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
    show_query(pair)
    for column, side in zip(st.columns(2), ("a", "b"), strict=True):
        with column.container(border=True):
            st.subheader(side.upper())
            st.text(pair[f"response_{side}"])
    vote_form(app, spec, rater, pair)


def vote_form(app: AppContext, spec: dict[str, Any], rater: str, pair: dict[str, Any]) -> None:
    """The reason (typed or spoken) and the four vote buttons with their keys."""
    st.text_input("Why? (optional)", key=f"reason-{pair['pair_id']}", max_chars=2000)
    legend = ", ".join(f"{key}: {label}" for key, label in CHOICES.values())
    with st.expander("Or say why (recorded, then transcribed)"):
        st.audio_input("Your reason", key=f"spoken-{pair['pair_id']}")
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


_GENERATORS: dict[str, Any] = {}


def generator_for(spec: Any) -> Any:
    """A system's generator, built once per server process (models load once)."""
    from inference.generators import make_generator

    key = spec.model_dump_json()
    if key not in _GENERATORS:
        _GENERATORS[key] = make_generator(spec)
    return _GENERATORS[key]


def live_systems(app: AppContext, spec: dict[str, Any]) -> dict[str, Any]:
    """The systems this live campaign draws from (its list, else the whole systems file)."""
    from inference.systems import default_systems_file, load_systems

    declared = load_systems(default_systems_file(app.settings.workspace))
    wanted = (spec.get("settings") or {}).get("systems") or list(declared)
    missing = [name for name in wanted if name not in declared]
    if missing or len(wanted) < 2:
        raise ArenaError(
            "this campaign needs at least two systems declared in systems.yaml"
            + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    return {name: declared[name] for name in wanted}


def run_battle(app: AppContext, spec: dict[str, Any], rater: str, query: str, audio: Any) -> None:
    """Transcribe a recorded query, draw two systems, stream both answers side by side; keep
    the battle for the vote only when both answered."""
    battle_id = "live_" + uuid.uuid4().hex[:24]
    audio_path = None
    question = Question(query.strip())
    if audio is not None:
        audio_path = save_recording(
            audio.getvalue(), app.settings.workspace, spec["name"], battle_id
        )
        with st.spinner("Transcribing your question..."):
            started = time.perf_counter()
            query = transcribe_file(audio_path)
            question = Question(
                query,
                str(audio_path),
                transcriber().model_name,
                time.perf_counter() - started,
            )
        if not query:
            raise ArenaError("nothing was recognised in the recording; try again or type it")
    if not question.text:
        raise ArenaError("ask a question first (record it or type it)")
    systems = live_systems(app, spec)
    votes = persist.campaign_votes(app.store, spec["name"])
    first, second = next_pair(list(systems), votes, rater, np.random.default_rng())
    st.subheader("The question")
    st.text(question.text)
    boxes = []
    for column, side in zip(st.columns(2), ("A", "B"), strict=True):
        with column.container(border=True):
            st.subheader(side)
            boxes.append(st.empty())
    sides, _ = ask_both((systems[first], systems[second]), question, generator_for)
    deadline = time.monotonic() + DEFAULT_TIMEOUT_S + 5
    while not all(side.done for side in sides) and time.monotonic() < deadline:
        for box, side in zip(boxes, sides, strict=True):
            with side.lock:
                box.text(side.text or "...")
        time.sleep(0.1)
    failed = [side for side in sides if not side.done or side.error]
    if failed:
        for side in failed:
            print(f"arena: system {side.system} failed: {side.error or 'timeout'}", file=sys.stderr)
        raise ArenaError(
            "one of the two systems did not answer, so this battle ends here and nothing was "
            "stored; ask again"
        )
    root = (app.settings.workspace / AUDIO_FOLDER).resolve()
    st.session_state["battle"] = {
        "campaign": spec["name"],
        "pair_id": battle_id,
        "model_a": first,
        "model_b": second,
        "query_text": question.text,
        "query_audio": str(audio_path) if audio_path else None,
        "audio_root": str(root) if audio_path else None,
        "response_a": sides[0].text.strip(),
        "response_b": sides[1].text.strip(),
        "assigned_at": persist.start_battle(app.store, spec["name"], rater, battle_id),
        "extra": {**latency_fields(sides), "arena_query_spoken": audio_path is not None},
    }
    st.rerun()


def live_page(app: AppContext, spec: dict[str, Any], rater: str) -> None:
    """Ask a question (recorded or typed), then compare the two answers and vote."""
    show_note()
    battle = st.session_state.get("battle")
    if battle is not None and battle["campaign"] == spec["name"]:
        show_query(battle)
        for column, side in zip(st.columns(2), ("a", "b"), strict=True):
            with column.container(border=True):
                st.subheader(side.upper())
                st.text(battle[f"response_{side}"])
        vote_form(app, spec, rater, battle)
        return
    st.subheader("Ask a question")
    with st.form("ask", clear_on_submit=True, border=False):
        audio = st.audio_input("Record your question")
        typed = st.text_input("Or type it", max_chars=2000)
        asked = st.form_submit_button("Ask both systems", type="primary")
    if asked:
        try:
            run_battle(app, spec, rater, typed, audio)
        except ArenalensError as exc:
            st.error(plain(exc))


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
    st.caption("Two anonymous systems answered the same question. Read both, then vote.")
    st.text(f"Rater: {rater}")
    if spec["mode"] == "live":
        live_page(app, spec, rater)
    else:
        replay_page(app, spec, rater)


main()
