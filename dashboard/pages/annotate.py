"""Annotate: an annotator works through their queue one item at a time, accepting or
correcting the machine's codes; each save is one durable row before the next item appears."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from dashboard import data, ui

NEW_NAME = "(enter a name)"
NO_CHOICE = "—"
VOTES = {"model_a": "A preferred", "model_b": "B preferred", "tie": "tie"}


def queue(app: AppContext, sample: str | None) -> Any:
    """The coding stage's AnnotationQueue for the codebook in use (see data.annotation_queue)."""
    return data.annotation_queue(app, sample)


def choose_annotator(names: list[str]) -> str | None:
    """Pick a known annotator or type a new name."""
    choice = st.selectbox("Annotator", [*names, NEW_NAME], key="annotate_annotator")
    if choice == NEW_NAME:
        typed = st.text_input("Your name", key="annotate_new_name").strip()
        return typed or None
    return choice


def show_item(item: Any) -> None:
    """The feedback, its context (query, both responses, vote) and the machine's codes."""
    ui.show_user_text("Feedback", item.feedback)
    ui.show_user_text("Query", item.query)
    left, right = st.columns(2)
    with left:
        st.markdown(f"**Response A** — {ui.escape_markdown(item.model_a or '?')}")
        st.text(item.response_a or "(none)")
    with right:
        st.markdown(f"**Response B** — {ui.escape_markdown(item.model_b or '?')}")
        st.text(item.response_b or "(none)")
    st.markdown(f"**Vote:** {VOTES.get(item.winner, 'no vote')}")
    st.caption("Machine's codes")
    if item.machine_codes:
        ui.dataframe(pd.DataFrame(item.machine_codes), width="stretch")
    else:
        st.text("(the machine assigned no code)")


def widget_key(item: Any, code: str, part: str) -> str:
    """Widget keys are per item, so each new item starts from the machine's codes."""
    return f"ann|{item.feedback_id}|{code}|{part}"


def decision_form(item: Any, code_names: list[str], sides: tuple, polarities: tuple) -> None:
    """One row per code: applies?, side, polarity (prefilled with the machine's codes)."""
    machine = {c["code"]: c for c in item.machine_codes}
    for code in code_names:
        hit = machine.get(code)
        a, b, c = st.columns([2, 2, 2])
        a.checkbox(code, value=hit is not None, key=widget_key(item, code, "present"))
        side_options = [NO_CHOICE, *sides]
        polarity_options = [NO_CHOICE, *polarities]
        b.selectbox(
            "side",
            side_options,
            key=widget_key(item, code, "side"),
            index=side_options.index(hit["side"]) if hit and hit["side"] in sides else 0,
            label_visibility="collapsed",
        )
        c.selectbox(
            "polarity",
            polarity_options,
            key=widget_key(item, code, "polarity"),
            index=polarity_options.index(hit["polarity"])
            if hit and hit["polarity"] in polarities
            else 0,
            label_visibility="collapsed",
        )
    st.text_area("Note (optional)", key=f"ann|{item.feedback_id}|note")


def save_decisions(
    app: AppContext, sample: str | None, annotator: str, item: Any, codes: list[str]
) -> None:
    """Form callback: one annotation row, committed before the page shows the next item."""
    state = st.session_state
    decisions = {}
    for code in codes:
        side = state.get(widget_key(item, code, "side"), NO_CHOICE)
        polarity = state.get(widget_key(item, code, "polarity"), NO_CHOICE)
        decisions[code] = {
            "present": bool(state.get(widget_key(item, code, "present"), False)),
            "side": None if side == NO_CHOICE else side,
            "polarity": None if polarity == NO_CHOICE else polarity,
        }
    note = state.get(f"ann|{item.feedback_id}|note", "")
    from arenalens.errors import ArenalensError

    try:
        row = queue(app, sample).save(annotator, item.feedback_id, decisions, note=note)
    except ArenalensError as exc:
        state["annotate_message"] = ("error", f"not saved: {exc}")
        return
    data.invalidate()
    state["annotate_message"] = (
        "success",
        f"Saved item {item.feedback_id} (annotation row {row}).",
    )


def progress(annotation_queue: Any, annotator: str) -> None:
    """This annotator's progress bar, and everyone's in an expander."""
    table = annotation_queue.progress()
    mine = table[table["annotator"] == annotator]
    if len(mine):
        row = mine.iloc[0]
        assigned, done = int(row["assigned"]), int(row["annotated"])
        st.progress(done / assigned if assigned else 1.0)
        st.caption(f"{done} of {assigned} items annotated, {assigned - done} to go")
    with st.expander("All annotators' progress"):
        ui.dataframe(table, width="stretch")


def codebook_panel(book: Any) -> None:
    """The codebook's definitions, beside the form."""
    st.subheader("Codebook")
    st.caption(book.version_key)
    for code in book.codes:
        with st.expander(code.name):
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


def render() -> None:
    st.title("Annotate")
    app = data.app_context()
    with ui.error_boundary():
        missing = data.coding_ready(app)
        if missing:
            st.info(missing)
            return
        from coding.codebook import POLARITIES, SIDES

        book = data.codebook(app)
        samples = data.annotation_samples(app)
        if samples.empty:
            st.info(
                "No annotation sample has been drawn yet. Run "
                "`arenalens annotate sample --annotator NAME [--annotator NAME2 ...]`."
            )
            return
        sample_names = list(samples["name"])
        sample = st.selectbox("Sample", ["(all samples)", *sample_names], key="annotate_sample")
        sample = None if sample == "(all samples)" else sample
        annotation_queue = queue(app, sample)
        annotator = choose_annotator(annotation_queue.annotators())
        if annotator is None:
            st.info("Choose your name, or type it, to start.")
            return
        message = st.session_state.pop("annotate_message", None)
        if message:
            getattr(st, message[0])(message[1])
        progress(annotation_queue, annotator)
        item = annotation_queue.next_item(annotator)
        if item is None:
            assigned = annotation_queue.assignments()
            if annotator not in set(assigned["annotator"]) if len(assigned) else True:
                st.info(
                    f"No items are assigned to {annotator!r}. Ask for a sample: "
                    f"`arenalens annotate sample --annotator NAME`."
                )
            else:
                st.success("Your queue is done — thank you. The Agreement page shows the results.")
            return
        form_column, book_column = st.columns([3, 1])
        with form_column:
            st.subheader(f"Item {item.position + 1 if item.position is not None else ''}")
            show_item(item)
            with st.form(key=f"annotate_form|{item.feedback_id}"):
                st.caption("Accept or correct each code (checked = the code applies)")
                decision_form(item, book.code_names, SIDES, POLARITIES)
                st.form_submit_button(
                    "Save and next",
                    type="primary",
                    on_click=save_decisions,
                    args=(app, sample, annotator, item, book.code_names),
                )
        with book_column:
            codebook_panel(book)


render()
