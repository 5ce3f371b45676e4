"""The live page: the rater asks (recorded or typed), two anonymous systems answer side by side,
and the rater may keep talking to both for up to the campaign's `max_turns` (each system sees
its own earlier answers) before voting, once per conversation or once per turn. Answers are
spoken when the campaign says `output: speech` (played from files in the workspace, the text
shown as transcript). Nothing is stored until a vote: then the conversation's rows go through
the ingest writer; a crash or a closed tab loses only that conversation."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from arena import persist, serving
from arena.errors import ArenaError
from arena.live import (
    AUDIO_FOLDER,
    DEFAULT_TIMEOUT_S,
    Question,
    SpeakTo,
    ask_both,
    campaign_folder,
    latency_fields,
    save_recording,
)
from arena.page_parts import (
    note_vote,
    plain,
    record_vote,
    show_answers,
    show_note,
    show_query,
    transcribe_file,
    transcriber,
    vote_form,
)
from arena.scheduler import next_pair
from arena.settings import CampaignSettings, campaign_settings
from arenalens.context import AppContext
from arenalens.errors import ArenalensError
from arenalens.store import utcnow

_GENERATORS: dict[str, Any] = {}


def generator_for(spec: Any) -> Any:
    """A system's generator, built once per server process (models load once)."""
    from inference.generators import make_generator

    key = spec.model_dump_json()
    if key not in _GENERATORS:
        _GENERATORS[key] = make_generator(spec)
    return _GENERATORS[key]


def live_systems(app: AppContext, spec: dict[str, Any]) -> dict[str, Any]:
    """The systems this live campaign draws from (its list, else the whole systems file); in a
    campaign of spoken answers, every one of them must speak (`output: speech`)."""
    from inference.systems import default_systems_file, load_systems

    declared = load_systems(default_systems_file(app.settings.workspace))
    settings = campaign_settings(spec)
    wanted = list(settings.systems) or list(declared)
    missing = [name for name in wanted if name not in declared]
    if missing or len(wanted) < 2:
        raise ArenaError(
            "this campaign needs at least two systems declared in systems.yaml"
            + (f" (missing: {', '.join(missing)})" if missing else "")
        )
    if settings.output == "speech":
        silent = [name for name in wanted if declared[name].output != "speech"]
        if silent:
            raise ArenaError(
                "this campaign plays the answers as speech, but these systems answer in text: "
                f"{', '.join(silent)} (give them `output: speech` in systems.yaml)"
            )
        # the rater app streams text and speaks it; an endpoint that answers aloud itself is
        # run by `infer run` (and rated in replay), not yet streamed live
        own_voice = [name for name in wanted if declared[name].tts is None]
        if own_voice:
            raise ArenaError(
                "live speech battles speak each answer with the system's `tts:`; these systems "
                f"answer aloud through their endpoint instead: {', '.join(own_voice)} (`arenalens "
                "infer run` runs them; the rater app does not stream an endpoint's own voice yet)"
            )
    return {name: declared[name] for name in wanted}


def audio_root(app: AppContext) -> Path:
    """The folder every recording and spoken answer of the rater app lies in."""
    return (app.settings.workspace / AUDIO_FOLDER).resolve()


def _ask(
    app: AppContext, spec: dict[str, Any], rater: str, typed: str, audio: Any
) -> dict[str, Any]:
    """One turn: transcribe a recorded question, ask both systems of the conversation (drawn
    by the scheduler for a new one), stream both answers and speak them when the campaign
    says so. Returns the conversation with the new turn; ArenaError when a system failed (the
    turns before it are kept)."""
    settings = campaign_settings(spec)
    battle = st.session_state.get("battle")
    if battle is not None and battle["campaign"] != spec["name"]:
        battle = None
    systems = live_systems(app, spec)
    if battle is None:
        votes = persist.campaign_votes(app.store, spec["name"])
        first, second = next_pair(list(systems), votes, rater, np.random.default_rng())
        battle = {
            "campaign": spec["name"],
            "battle_id": "live_" + uuid.uuid4().hex[:24],
            "model_a": first,
            "model_b": second,
            "audio_root": str(audio_root(app)),
            "turns": [],
        }
    number = len(battle["turns"]) + 1
    name = f"{battle['battle_id']}-t{number}"
    question = Question(typed.strip())
    if audio is not None:
        path = save_recording(audio.getvalue(), app.settings.workspace, spec["name"], name)
        with st.spinner("Transcribing your question..."):
            started = time.perf_counter()
            text = transcribe_file(path)
            question = Question(
                text, str(path), transcriber().model_name, time.perf_counter() - started
            )
        if not text:
            raise ArenaError("nothing was recognised in the recording; try again or type it")
    if not question.text:
        raise ArenaError("ask a question first (record it or type it)")
    show_query({"query_text": question.text}, "Your question")
    boxes = []
    for column, side in zip(st.columns(2), ("A", "B"), strict=True):
        with column.container(border=True):
            st.subheader(side)
            boxes.append(st.empty())
    histories = tuple(
        tuple((turn[f"heard_{side}"], turn[f"response_{side}"]) for turn in battle["turns"])
        for side in ("a", "b")
    )
    speak_to = None
    if settings.output == "speech":
        folder = audio_root(app) / campaign_folder(spec["name"]) / "answers"
        speak_to = SpeakTo(folder, audio_root(app), name)
    sides, _ = ask_both(
        (systems[battle["model_a"]], systems[battle["model_b"]]),
        question,
        generator_for,
        histories=histories,  # type: ignore[arg-type]
        speak_to=speak_to,
    )
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
        kept = " (the turns before it are kept)" if battle["turns"] else " and nothing was stored"
        raise ArenaError(f"one of the two systems did not answer, so this turn ends here{kept}")
    per_turn = settings.vote_per == "turn"
    if number == 1 or per_turn:  # what the vote claims: the conversation, or this turn
        slot = serving.battle_slot(battle["battle_id"], number if per_turn else None)
        persist.start_battle(app.store, spec["name"], rater, slot)
    battle["turns"].append(
        {
            "query_text": question.text,
            "query_audio": question.audio_path,
            "response_a": sides[0].text.strip(),
            "response_b": sides[1].text.strip(),
            "response_audio_a": sides[0].audio_path,
            "response_audio_b": sides[1].audio_path,
            "heard_a": sides[0].heard or question.text,
            "heard_b": sides[1].heard or question.text,
            "shown_at": utcnow(),
            "choice": None,
            "extra": {**latency_fields(sides), "arena_query_spoken": audio is not None},
        }
    )
    return battle


def _single_pair(battle: dict[str, Any]) -> dict[str, Any]:
    """A one-turn battle as the pair `serving.cast_vote` stores (one record, no turns)."""
    turn = battle["turns"][0]
    fields = ("query_text", "query_audio", "response_a", "response_b")
    return {
        "pair_id": battle["battle_id"],
        "model_a": battle["model_a"],
        "model_b": battle["model_b"],
        "audio_root": battle["audio_root"],
        "assigned_at": turn["shown_at"],
        "response_audio_a": turn["response_audio_a"],
        "response_audio_b": turn["response_audio_b"],
        **{name: turn[name] for name in fields},
    }


def _vote(
    app: AppContext, spec: dict[str, Any], rater: str, battle: dict[str, Any], choice: str
) -> None:
    """Button callback: store the vote on the conversation (or its latest turn), once."""
    settings = campaign_settings(spec)
    workspace = app.settings.workspace
    key = f"{battle['battle_id']}-t{len(battle['turns'])}"
    if settings.multi_turn:

        def cast(reason: str | None) -> bool:
            return serving.cast_conversation_vote(
                app.store, spec, rater, battle, choice, reason, workspace=workspace
            )
    else:
        pair = _single_pair(battle)
        extra = battle["turns"][0]["extra"]

        def cast(reason: str | None) -> bool:
            return serving.cast_vote(
                app.store, spec, rater, pair, choice, reason, workspace=workspace, extra=extra
            )

    stored = record_vote(app, spec, key, cast)
    if stored is None:
        return
    battle["turns"][-1]["choice"] = choice
    ended = settings.vote_per == "conversation" or len(battle["turns"]) >= settings.max_turns
    if ended:
        st.session_state.pop("battle", None)
    note_vote(spec, battle, stored, "ask your next question" if ended else "go on, or stop here")


def _end_conversation() -> None:
    st.session_state.pop("battle", None)


def show_conversation(battle: dict[str, Any], settings: CampaignSettings) -> None:
    """Every turn so far: the question, then both answers (heard and read)."""
    for number, turn in enumerate(battle["turns"], start=1):
        if settings.multi_turn and number > 1:
            st.divider()
        heading = f"Turn {number}: your question" if settings.multi_turn else "The question"
        show_query({**turn, "audio_root": battle["audio_root"]}, heading)
        show_answers({**turn, "audio_root": battle["audio_root"]})
        if turn.get("choice"):
            st.caption(plain(f"Your vote on turn {number} is stored."))


def _ask_form(app: AppContext, spec: dict[str, Any], rater: str, follow_up: bool) -> None:
    st.subheader("Ask a follow-up question" if follow_up else "Ask a question")
    with st.form("ask", clear_on_submit=True, border=False):
        audio = st.audio_input("Record your question")
        typed = st.text_input("Or type it", max_chars=2000)
        asked = st.form_submit_button("Ask both systems", type="primary")
    if asked:
        try:
            st.session_state["battle"] = _ask(app, spec, rater, typed, audio)
        except ArenalensError as exc:
            st.error(plain(exc))
            return
        st.rerun()


def live_page(app: AppContext, spec: dict[str, Any], rater: str) -> None:
    """Ask, compare both answers, go on talking or vote."""
    settings = campaign_settings(spec)
    if settings.multi_turn:
        st.caption(
            plain(
                f"Talk to two anonymous systems, A and B, for up to {settings.max_turns} turns; "
                "each hears your questions and remembers its own answers. "
                + (
                    "Vote after each turn."
                    if settings.vote_per == "turn"
                    else "Vote when you have heard enough."
                )
            )
        )
    else:
        st.caption("Two anonymous systems answer your question. Compare both, then vote.")
    st.text(f"Rater: {rater}")
    show_note()
    battle = st.session_state.get("battle")
    if battle is None or battle["campaign"] != spec["name"]:
        _ask_form(app, spec, rater, follow_up=False)
        return
    show_conversation(battle, settings)
    turns = len(battle["turns"])
    voted = battle["turns"][-1]["choice"] is not None
    more = turns < settings.max_turns
    if not voted:
        if settings.multi_turn:
            what = "this turn" if settings.vote_per == "turn" else "the whole conversation"
            then = (
                ", or ask a follow-up below"
                if more and settings.vote_per == "conversation"
                else " (that was the last turn)"
                if not more
                else ""
            )
            st.caption(
                plain(f"Turn {turns} of at most {settings.max_turns}: vote on {what}{then}.")
            )
        vote_form(f"{battle['battle_id']}-t{turns}", _vote, (app, spec, rater, battle))
    if more and (voted or settings.vote_per == "conversation"):
        _ask_form(app, spec, rater, follow_up=True)
    if voted:
        st.button("Start a new conversation", on_click=_end_conversation)
