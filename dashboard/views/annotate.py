"""Annotate: an annotator works through their queue one item at a time, keyboard first,
accepting or correcting the machine's codes; each save is one durable row before the next
item appears. Keys: number keys toggle codes, Enter saves, S skips, J or → next, K or ← previous.

The form is in dashboard/annotation_form.py, its state and callbacks in
dashboard/annotation_state.py, the keyboard scripts in dashboard/annotation_scripts.py."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, ui, writes
from dashboard.annotation_form import (
    action_row,
    code_confidence,
    code_rows,
    codebook_panel,
    item_height,
    key_legend,
    show_item,
)
from dashboard.annotation_scripts import PAGE_CSS, reset_focus_for
from dashboard.annotation_state import (
    cursor_keys,
    prefill,
    show_message,
    starting_decisions,
)
from dashboard.annotation_view import FEEDBACK_CSS, next_open

ALL_SAMPLES = "(all samples)"


def queue(app: AppContext, sample: str | None) -> Any:
    """The coding stage's AnnotationQueue for the codebook in use (see loaders.coding.annotation_queue)."""
    return loaders.coding.annotation_queue(app, sample)


def choose_annotator(names: list[str]) -> str | None:
    """The annotator picks their own name (nothing is preselected) or types a new one in the
    same box (no second field to break the layout)."""
    choice = st.selectbox(
        "Annotator",
        names,
        index=None,
        placeholder="Your name, or a new one",
        accept_new_options=True,
        key="annotate_annotator",
    )
    return choice.strip() or None if isinstance(choice, str) else None


def new_annotator(app: AppContext, annotator: str) -> None:
    """An annotator without items draws their own, under the campaign's rules."""
    ui.say(
        "info",
        "No items are assigned to {} yet. Take your own share of the campaign: as many items "
        "as each annotator got, some of them also given to another annotator so answers can "
        "be compared.",
        annotator,
    )
    if st.button("Give me items to annotate", type="primary", key="annotate_draw"):
        from arenalens.errors import ArenalensError

        try:
            line = writes.draw_own_sample(app, annotator)
        except ArenalensError as exc:
            ui.say("error", "No items drawn: {}", exc)
            return
        st.session_state["annotate_message"] = ("toast", line)
        st.rerun()


def coder_scores(annotation_queue: Any, feedback_ids: list[str]) -> pd.DataFrame:
    """The coder's probability and decision (present/uncertain/absent) per (item, code)
    (`coding.queue.coder_confidence`; empty for items coded before scores were stored)."""
    from coding.queue import coder_confidence

    return coder_confidence(annotation_queue.store, annotation_queue.version, feedback_ids)


def queue_order(annotation_queue: Any, annotator: str, scores: pd.DataFrame) -> list[str]:
    """The annotator's assigned items, those the coder was unsure of first (coding's
    `uncertain_first`; stable, so 'item k of N' keeps its k as items are saved)."""
    from coding.queue import uncertain_first

    return uncertain_first(assigned_ids(annotation_queue, annotator), scores)


def assigned_ids(annotation_queue: Any, annotator: str) -> list[str]:
    assigned = annotation_queue.assignments()
    if assigned.empty:
        return []
    return list(dict.fromkeys(assigned.loc[assigned["annotator"] == annotator, "feedback_id"]))


def saved_decisions(annotation_queue: Any, annotator: str) -> dict[str, dict]:
    """feedback_id -> this annotator's latest saved decisions (to prefill a revisited item)."""
    from coding.persist import annotations_frame

    frame = annotations_frame(annotation_queue.store, annotation_queue.version)
    if frame.empty:
        return {}
    mine = frame[frame["annotator"] == annotator]
    return dict(zip(mine["feedback_id"], mine["decisions"], strict=True))


def render() -> None:
    st.html(PAGE_CSS + FEEDBACK_CSS)
    st.title("Annotate")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        missing = loaders.coding.coding_ready(app)
        if missing:
            ui.show("info", missing)
            return
        from coding.codebook import POLARITIES, SIDES

        book = loaders.coding.codebook(app)
        samples = loaders.coding.annotation_samples(app)
        if samples.empty:
            ui.show("info", loaders.workspace.step_message(app, "Validate the codes (annotators)"))
            return
        sample_col, name_col, progress_col = st.columns([2, 2, 3], vertical_alignment="bottom")
        with sample_col:
            sample = st.selectbox("Sample", [ALL_SAMPLES, *samples["name"]], key="annotate_sample")
        sample = None if sample == ALL_SAMPLES else sample
        annotation_queue = queue(app, sample)
        with name_col:
            annotator = choose_annotator(annotation_queue.annotators())
        if annotator is None:
            st.info("Choose your name (or type a new one) to start.")
            return
        scores = coder_scores(annotation_queue, assigned_ids(annotation_queue, annotator))
        order = queue_order(annotation_queue, annotator, scores)
        if not order:
            new_annotator(app, annotator)
            return
        saved = saved_decisions(annotation_queue, annotator)
        done = set(saved) & set(order)
        with progress_col:
            st.progress(len(done) / len(order))
            ui.say(
                "caption",
                "{} of {} items annotated, {} to go",
                len(done),
                len(order),
                len(order) - len(done),
            )
        show_message()
        cursor_key, skipped_key = cursor_keys(sample, annotator)
        current = st.session_state.get(cursor_key)
        if current not in order:
            current = next_open(order, done, st.session_state.get(skipped_key, set()))
            st.session_state[cursor_key] = current
        if current is None:
            st.success("Your queue is done — thank you. The Agreement page shows the results.")
            with st.popover("All annotators' progress"):
                ui.dataframe(annotation_queue.progress(), width="stretch")
            return
        item = annotation_queue.item(current)
        header, book_col, everyone_col = st.columns([6, 1.2, 1.5], vertical_alignment="center")
        verdicts = code_confidence(item, scores)
        unsure = [code for code, (decision, _) in verdicts.items() if decision == "uncertain"]
        status = "saved: saving again replaces your answer" if current in done else "open"
        if unsure:
            status += " · coder unsure of " + display.display_names(unsure)
        header.markdown(
            ui.fmt(
                "**Item {} of {}** :small[:gray[id {} · {}]]  \n:small[:gray[{}]]",
                order.index(current) + 1,
                len(order),
                current,
                status,
                ui.Markdown(key_legend(len(book.codes))),  # our own key names, in bold
            )
        )
        with header:
            reset_focus_for(current)
        with book_col.popover("Codebook", width="stretch"):
            codebook_panel(book)
        with everyone_col.popover("Team progress", width="stretch"):
            ui.dataframe(annotation_queue.progress(), width="stretch")
        start = starting_decisions(item, saved.get(current))
        prefill(item, book.code_names, start)
        show_item(item, item_height(len(book.codes)))
        code_rows(item, book, verdicts, SIDES, POLARITIES, start)
        action_row(app, sample, annotator, item, book.code_names, order, done)


render()
