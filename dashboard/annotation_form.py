"""The Annotate page's form for one item: the item itself (feedback with the machine's
evidence, vote, query, both responses), one row per code (toggle, side, polarity), the actions
and the codebook beside them; sized so the whole form stays on one 1280x800 screen."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import ui
from dashboard.annotation_state import (
    active_key,
    move,
    note_key,
    present_key,
    save_decisions,
    side_changed,
    skip_item,
    toggle,
    widget_key,
)
from dashboard.annotation_view import (
    NEXT_KEY,
    PREVIOUS_KEY,
    SAVE_KEY,
    SIDE_KEYS,
    SKIP_KEY,
    code_key,
    highlighted_html,
    start_attributes,
)

ITEM_HEIGHT = 150
MIN_ITEM_HEIGHT = 64
ROW_HEIGHT = 40  # one code's row (compact buttons, annotation_scripts.PAGE_CSS)


def item_height(n_codes: int) -> int:
    """Height of the item's boxes: the form below has one row per code, so the more codes the
    codebook has, the shorter the boxes (they scroll), and Save stays on a 1280x800 screen."""
    return max(MIN_ITEM_HEIGHT, ITEM_HEIGHT - ROW_HEIGHT * max(0, n_codes - 6))


def show_feedback_and_vote(item: Any) -> None:
    """The feedback with the machine's evidence marked, then the vote and both models."""
    evidence = [(c["code"], c.get("evidence") or "") for c in item.machine_codes]
    st.html(highlighted_html(item.feedback, evidence))
    ui.say(
        "caption",
        "Vote: **{}** · A = {} · B = {}",
        display.display_name(item.winner) if item.winner else "no vote",
        item.model_a or "?",
        item.model_b or "?",
    )


def show_item(item: Any, height: int = ITEM_HEIGHT) -> None:
    """Feedback (machine evidence marked), vote and query on the left; both responses right;
    each in a box of `height` that scrolls."""
    text_col, a_col, b_col = st.columns([5, 3, 3])
    with text_col:
        st.caption("Feedback — machine evidence highlighted · vote · query")
        with st.container(height=height, border=True):
            show_feedback_and_vote(item)
            st.text(item.query or "(no query text)")
    for column, label, text in ((a_col, "A", item.response_a), (b_col, "B", item.response_b)):
        with column:
            ui.say("caption", "Response {}", label)
            with st.container(height=height, border=True):
                st.text(text or "(none)")


def code_confidence(item: Any, scores: pd.DataFrame) -> dict[str, tuple[str, float | None]]:
    """code -> (the coder's decision, its probability) for this item: calibrated scores where
    the coder stored them, else the confidence of the codes it assigned."""
    mine = scores[scores["feedback_id"] == item.feedback_id] if len(scores) else scores
    if len(mine):
        return {
            r.code: (r.decision, None if pd.isna(r.probability) else float(r.probability))
            for r in mine.itertuples()
        }
    return {
        c["code"]: (
            "present",
            None if c.get("confidence") is None or pd.isna(c["confidence"]) else c["confidence"],
        )
        for c in item.machine_codes
    }


def machine_label(verdict: tuple[str, float | None] | None) -> str:
    """What the coder said about a code, for its toggle: ' (machine 0.96)', ' (unsure 0.41)'."""
    if verdict is None or verdict[0] not in ("present", "uncertain"):
        return ""
    word = "machine" if verdict[0] == "present" else "unsure"
    return f" ({word})" if verdict[1] is None else f" ({word} {verdict[1]:.2f})"


def code_rows(
    item: Any,
    book: Any,
    verdicts: dict[str, tuple[str, float | None]],
    sides: tuple,
    polarities: tuple,
    start: dict,
) -> None:
    """One row per code: its toggle (number keys 1-9 and 0; checked = the code applies) and, when it
    applies, which side of the vote it is about and its polarity, starting consistent (never
    'preferred' with 'negative'). The row of the code last switched on takes the P/X/B/U and
    + / - keys. One row per code whatever is ticked, so the form's height is known."""
    state = st.session_state
    present = [c for c in book.code_names if state.get(present_key(item.feedback_id, c))]
    active = state.get(active_key(item.feedback_id))
    active = active if active in present else (present[0] if present else None)
    for index, code in enumerate(book.codes):
        key = present_key(item.feedback_id, code.name)
        ticked = bool(state.get(key))
        holder = st.container(key="annotate_active_row") if code.name == active else st.container()
        with holder:
            toggle_col, side_col, polarity_col = st.columns(
                [2.3, 3.3, 1.9], vertical_alignment="center", gap="small"
            )
            toggle_col.button(
                ui.safe(display.display_name(code.name) + machine_label(verdicts.get(code.name))),
                key=f"annotate_toggle|{item.feedback_id}|{code.name}",
                help=ui.safe(code.definition),
                type="primary" if ticked else "secondary",
                icon=":material/check_box:" if ticked else ":material/check_box_outline_blank:",
                shortcut=code_key(index),
                on_click=toggle,
                args=(key, item.feedback_id, code.name),
                width="stretch",
            )
            if not ticked:
                continue
            side, polarity = start_attributes(start.get(code.name))
            side_col.segmented_control(
                f"side of the vote for {display.display_name(code.name)}",
                sides,
                default=side if side in sides else None,
                key=widget_key(item.feedback_id, code.name, "side"),
                label_visibility="collapsed",
                on_change=side_changed,
                args=(item.feedback_id, code.name),
            )
            polarity_col.segmented_control(
                f"polarity for {display.display_name(code.name)}",
                polarities,
                default=polarity if polarity in polarities else None,
                key=widget_key(item.feedback_id, code.name, "polarity"),
                label_visibility="collapsed",
            )


def action_row(
    app: AppContext,
    sample: str | None,
    annotator: str,
    item: Any,
    code_names: list[str],
    order: list[str],
    done: set[str],
) -> None:
    """Note, then Save and next (Enter), Skip (S), Previous (K or ←), Next (J or →)."""
    note_col, save_col, skip_col, previous_col, next_col = st.columns(
        [3.2, 2, 1.1, 1.3, 1.1], vertical_alignment="center"
    )
    note_col.text_input(
        "Note (optional)",
        key=note_key(item.feedback_id),
        placeholder="Note (optional)",
        label_visibility="collapsed",
    )
    save_col.button(
        "Save and next",
        key="annotate_save",
        type="primary",
        shortcut=SAVE_KEY,
        on_click=save_decisions,
        args=(app, sample, annotator, item, code_names, order, done),
        width="stretch",
    )
    skip_col.button(
        "Skip",
        key="annotate_skip",
        shortcut=SKIP_KEY,
        on_click=skip_item,
        args=(sample, annotator, item.feedback_id, order, done),
        width="stretch",
    )
    previous_col.button(
        "Previous",
        key="annotate_previous",
        shortcut=PREVIOUS_KEY,
        on_click=move,
        args=(sample, annotator, item.feedback_id, order, -1),
        width="stretch",
    )
    next_col.button(
        "Next",
        key="annotate_next",
        shortcut=NEXT_KEY,
        on_click=move,
        args=(sample, annotator, item.feedback_id, order, 1),
        width="stretch",
    )


def key_legend(n_codes: int) -> str:
    last = min(n_codes, 9)
    codes = "1" if last == 1 else f"1–{last}"
    if n_codes >= 10:  # the tenth code is on 0, as on the number row
        codes += ", 0"
    sides = "/".join(SIDE_KEYS)
    return (
        f"Keys: **{codes}** code · **{sides}** side · **+/−** polarity (of the marked row) · **Enter** save · "
        f"**{SKIP_KEY}** skip · **{NEXT_KEY}/→** next · **{PREVIOUS_KEY}/←** back"
    )


def codebook_panel(book: Any) -> None:
    """The codebook's definitions (in a popover beside the item)."""
    ui.show("caption", book.version_key)
    for code in book.codes:
        with st.expander(ui.safe(display.display_name(code.name))):
            st.text(code.definition)
            if code.include:
                st.caption("Include")
                st.text("\n".join(f"• {rule}" for rule in code.include))
            if code.exclude:
                st.caption("Exclude")
                st.text("\n".join(f"• {rule}" for rule in code.exclude))
            if code.positive_examples:
                st.caption("Examples")
                st.text("\n".join(f"“{ex}”" for ex in code.positive_examples))
