"""Annotate: an annotator works through their queue one item at a time, keyboard first,
accepting or correcting the machine's codes; each save is one durable row before the next
item appears. Keys: number keys toggle codes, Enter saves, S skips, J or → next, K or ← previous."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, ui, writes
from dashboard.annotation_view import (
    FEEDBACK_CSS,
    IMPLIED_POLARITY,
    NEXT_ARROW,
    NEXT_KEY,
    POLARITY_KEYS,
    PREVIOUS_ARROW,
    PREVIOUS_KEY,
    SAVE_KEY,
    SIDE_KEYS,
    SKIP_KEY,
    code_key,
    highlighted_html,
    next_open,
    start_attributes,
    step,
)

ALL_SAMPLES = "(all samples)"
VOTES = {"model_a": "A preferred", "model_b": "B preferred", "tie": "tie"}
ITEM_HEIGHT = 150
MIN_ITEM_HEIGHT = 64
ROW_HEIGHT = 44  # one code's row
# Page-local styling: a compact header so an item and its form fit one 1280x800 screen.
PAGE_CSS = """<style>
.stMainBlockContainer { padding-top: 1.5rem; padding-bottom: 1rem; }
.stMainBlockContainer h1 { font-size: 2rem; padding: 0 0 .25rem 0; }
.stMainBlockContainer [data-testid="stVerticalBlock"] { gap: .5rem; }
.st-key-annotate_active_row { box-shadow: -8px 0 0 #f0b429; }  /* the row P/X/B/U and +/- set */
</style>"""


# Runs once per new item (the token changes): scroll back to the top and take the focus off
# whatever was last clicked or typed in (a focused button would also take Enter; a focused
# select box would swallow the number keys). Only our code and a hash go into it.
NEW_ITEM_SCRIPT = """<script>/* item {token} */
(() => {{
  const active = document.activeElement;
  if (active && active !== document.body) active.blur();
  const main = document.querySelector('[data-testid="stMain"]');
  if (main) main.scrollTo({{top: 0}});
  window.scrollTo(0, 0);
}})();
</script>"""

# Installed once per browser tab: the arrow keys press Next/Previous (a Streamlit button takes
# one shortcut only, J/K). Like Streamlit's own shortcuts it ignores keys typed into a field
# (a focused radio keeps its arrows) and keys with a modifier.
ARROW_KEYS_SCRIPT = """<script>
(() => {{
  if (window.arenalensArrowKeys) return;
  window.arenalensArrowKeys = true;
  const buttons = {{"{next_arrow}": "annotate_next", "{previous_arrow}": "annotate_previous"}};
  document.addEventListener("keydown", (event) => {{
    const key = buttons[event.key];
    if (!key || event.defaultPrevented || event.repeat) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const active = document.activeElement;
    if (active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)
                   || active.isContentEditable)) return;
    const button = document.querySelector(`.st-key-${{key}} button`);
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  }});
}})();
</script>"""


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
        placeholder="Choose your name, or type a new one",
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


# -- per-item widget state -------------------------------------------------------
def present_key(feedback_id: str, code: str) -> str:
    """Session key of 'this code applies' (a plain flag the toggle buttons flip)."""
    return f"ann|{feedback_id}|{code}|present"


def widget_key(feedback_id: str, code: str, part: str) -> str:
    """Widget keys are per item, so each new item starts from the machine's (or saved) codes."""
    return f"ann|{feedback_id}|{code}|{part}"


def note_key(feedback_id: str) -> str:
    return f"ann|{feedback_id}|note"


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


def reset_focus_for(feedback_id: str) -> None:
    """Scroll to the top and clear the keyboard focus when a new item is shown (and make sure
    the arrow keys move between items)."""
    token = hashlib.sha256(feedback_id.encode("utf-8")).hexdigest()[:16]
    arrows = ARROW_KEYS_SCRIPT.format(next_arrow=NEXT_ARROW, previous_arrow=PREVIOUS_ARROW)
    attributes = ATTRIBUTE_KEYS_SCRIPT.format(
        sides=json.dumps(SIDE_KEYS), polarities=json.dumps(POLARITY_KEYS)
    )
    st.html(NEW_ITEM_SCRIPT.format(token=token) + arrows + attributes, unsafe_allow_javascript=True)


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


# Installed once per browser tab: P/X/B/U choose the side and + / - the polarity of the code
# last switched on (its row is the page's `annotate_active_row`). Only our code and our
# constant key names go into it.
ATTRIBUTE_KEYS_SCRIPT = """<script>
(() => {{
  if (window.arenalensAttributeKeys) return;
  window.arenalensAttributeKeys = true;
  const sides = {sides};
  const polarities = {polarities};
  document.addEventListener("keydown", (event) => {{
    if (event.defaultPrevented || event.repeat || event.altKey || event.ctrlKey || event.metaKey)
      return;
    const active = document.activeElement;
    if (active && (["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName)
                   || active.isContentEditable)) return;
    let label = sides[event.key.toUpperCase()], group = 0;
    if (!label) {{ label = polarities[event.key === "=" ? "+" : event.key]; group = 1; }}
    if (!label) return;
    const row = document.querySelector(".st-key-annotate_active_row");
    const groups = row ? Array.from(row.querySelectorAll('[data-testid="stButtonGroup"]'))
      .filter((g) => g.checkVisibility()) : [];
    if (!groups[group]) return;
    const button = Array.from(groups[group].querySelectorAll("button"))
      .find((b) => b.innerText.trim() === label && b.checkVisibility());
    if (!button) return;
    event.preventDefault();
    if (button.getAttribute("aria-checked") !== "true") button.click();  // a click unselects
  }});
}})();
</script>"""


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
            queue(app, sample),
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


# -- rendering ------------------------------------------------------------------------
def item_height(n_codes: int) -> int:
    """Height of the item's boxes: the form below has one row per code, so the more codes the
    codebook has, the shorter the boxes (they scroll), and Save stays on a 1280x800 screen."""
    return max(MIN_ITEM_HEIGHT, ITEM_HEIGHT - ROW_HEIGHT * max(0, n_codes - 6))


def show_item(item: Any, height: int = ITEM_HEIGHT) -> None:
    """Feedback (machine evidence marked), vote and query on the left; both responses right;
    each in a box of `height` that scrolls."""
    text_col, a_col, b_col = st.columns([5, 3, 3])
    with text_col:
        st.caption("Feedback — machine evidence highlighted · vote · query")
        with st.container(height=height, border=True):
            evidence = [(c["code"], c.get("evidence") or "") for c in item.machine_codes]
            st.html(highlighted_html(item.feedback, evidence))
            ui.say(
                "caption",
                "Vote: **{}** · A = {} · B = {}",
                VOTES.get(item.winner or "", "no vote"),
                item.model_a or "?",
                item.model_b or "?",
            )
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
                f"side of the vote for {code.name}",
                sides,
                default=side if side in sides else None,
                key=widget_key(item.feedback_id, code.name, "side"),
                label_visibility="collapsed",
                on_change=side_changed,
                args=(item.feedback_id, code.name),
            )
            polarity_col.segmented_control(
                f"polarity for {code.name}",
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
        with st.expander(ui.safe(code.name)):
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


def show_message() -> None:
    message = st.session_state.pop("annotate_message", None)
    if message is None:
        return
    kind, text = message
    if kind == "toast":
        st.toast(ui.safe(text), icon=":material/check:")
    else:
        ui.show("error", text)


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
            st.info(
                "No annotation sample has been drawn yet. Run "
                "`arenalens annotate sample --annotator NAME [--annotator NAME2 ...]`."
            )
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
