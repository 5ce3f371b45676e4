"""The Annotate page's state: each item's session keys, what its form starts from, and the
callbacks its buttons run before the page draws again (save, skip, move, toggle)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from arenalens.context import AppContext
from dashboard import loaders, ui, writes
from dashboard.annotation_view import IMPLIED_POLARITY, next_open, step


# -- per-item widget state -------------------------------------------------------
def present_key(feedback_id: str, code: str) -> str:
    """Session key of 'this code applies' (a plain flag the toggle buttons flip)."""
    return f"ann|{feedback_id}|{code}|present"


def widget_key(feedback_id: str, code: str, part: str) -> str:
    """Widget keys are per item, so each new item starts from the machine's (or saved) codes."""
    return f"ann|{feedback_id}|{code}|{part}"


def note_key(feedback_id: str) -> str:
    return f"ann|{feedback_id}|note"


def active_key(feedback_id: str) -> str:
    """Session key of the code the side/polarity keys act on (the last one switched on)."""
    return f"ann|{feedback_id}|active"


def toggle(key: str, feedback_id: str = "", code: str = "") -> None:
    st.session_state[key] = not st.session_state.get(key, False)
    if feedback_id and st.session_state[key]:
        st.session_state[active_key(feedback_id)] = code


def side_changed(feedback_id: str, code: str) -> None:
    """A new side brings the polarity it implies (preferred: positive, rejected: negative)."""
    state = st.session_state
    side = state.get(widget_key(feedback_id, code, "side"))
    if side in IMPLIED_POLARITY:
        state[widget_key(feedback_id, code, "polarity")] = IMPLIED_POLARITY[side]
    state[active_key(feedback_id)] = code


def starting_decisions(item: Any, saved: dict | None) -> dict[str, dict]:
    """What the form shows first: the annotator's saved answer, else the machine's codes."""
    if saved:
        return {code: dict(d) for code, d in saved.items() if d.get("present")}
    return {c["code"]: {"side": c["side"], "polarity": c["polarity"]} for c in item.machine_codes}


def prefill(item: Any, code_names: list[str], start: dict[str, dict]) -> None:
    """Set each code's flag once per item (later reruns keep what the annotator toggled)."""
    state = st.session_state
    for code in code_names:
        state.setdefault(present_key(item.feedback_id, code), code in start)


# -- callbacks (run before the page re-renders) -------------------------------------
def cursor_keys(sample: str | None, annotator: str) -> tuple[str, str]:
    return f"annotate_cursor|{sample}|{annotator}", f"annotate_skipped|{sample}|{annotator}"


def save_decisions(
    app: AppContext,
    sample: str | None,
    annotator: str,
    item: Any,
    codes: list[str],
    order: list[str],
    done: set[str],
) -> None:
    """One annotation row, committed before the page shows the next open item."""
    state = st.session_state
    decisions = {}
    for code in codes:
        present = bool(state.get(present_key(item.feedback_id, code), False))
        decisions[code] = {
            "present": present,
            "side": state.get(widget_key(item.feedback_id, code, "side")) if present else None,
            "polarity": state.get(widget_key(item.feedback_id, code, "polarity"))
            if present
            else None,
        }
    from arenalens.errors import ArenalensError

    try:
        row = writes.save_annotation(
            app,
            loaders.coding.annotation_queue(app, sample),
            annotator,
            item.feedback_id,
            decisions,
            note=state.get(note_key(item.feedback_id), ""),
        )
    except ArenalensError as exc:
        state["annotate_message"] = ("error", f"not saved: {exc}")
        return
    cursor, skipped = cursor_keys(sample, annotator)
    state[cursor] = next_open(
        order, done | {item.feedback_id}, state.get(skipped, set()), after=item.feedback_id
    )
    state["annotate_message"] = ("toast", f"Saved item {item.feedback_id} (row {row}).")


def skip_item(
    sample: str | None, annotator: str, feedback_id: str, order: list[str], done: set[str]
) -> None:
    """Leave the item for later: it comes back once every other open item is done."""
    cursor, skipped = cursor_keys(sample, annotator)
    later = {*st.session_state.get(skipped, set()), feedback_id}
    st.session_state[skipped] = later
    st.session_state[cursor] = next_open(order, done, later, after=feedback_id)


def move(sample: str | None, annotator: str, feedback_id: str, order: list[str], by: int) -> None:
    """Browse the queue (done items too) without saving."""
    st.session_state[cursor_keys(sample, annotator)[0]] = step(order, feedback_id, by)


def show_message() -> None:
    message = st.session_state.pop("annotate_message", None)
    if message is None:
        return
    kind, text = message
    if kind == "toast":
        st.toast(ui.safe(text), icon=":material/check:")
    else:
        ui.show("error", text)
