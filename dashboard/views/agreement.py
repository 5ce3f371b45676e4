"""Agreement: machine-vs-human Cohen's kappa per code with CIs (and a warning where they rest
on too few items), Krippendorff's alpha among annotators, confusion counts, and adjudication
of the items annotators disagree on, with everything an adjudicator needs beside it."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, ui, writes
from dashboard.annotation_form import show_feedback_and_vote
from dashboard.annotation_view import (
    FEEDBACK_CSS,
    MIN_KAPPA_ITEMS,
    kappa_reliability,
)

BOOTSTRAP_ROUNDS = 1000
ALL_CODES = "(all codes)"


def kappa_chart(per_code: pd.DataFrame) -> alt.Chart:
    """Cohen's kappa per code: a 95% CI bar only where it means something; codes resting on
    too few items (or with a zero-width CI such as [1, 1]) are hollow grey points, no bar."""
    frame = kappa_reliability(per_code).dropna(subset=["kappa"])
    frame = frame.assign(
        trusted=~(frame["few_items"] | frame["ci_degenerate"] | frame["kappa_low"].isna()),
        reason=frame["code"].map(display.display_name),
    )
    base = alt.Chart(frame).encode(
        y=alt.Y("reason:N", title=None, sort=[display.display_name(c) for c in per_code["code"]]),
        tooltip=[
            alt.Tooltip("reason:N", title="loss reason"),
            alt.Tooltip("n:Q", title="items"),
            alt.Tooltip("kappa:Q", format=".2f", title="κ"),
            alt.Tooltip("reading:N", title="reading"),
        ],
    )
    x = alt.X(
        "kappa:Q", title="Cohen's κ (machine vs human), 95% CI", scale=alt.Scale(domain=[-1, 1])
    )
    bars = (
        base.transform_filter("datum.trusted")
        .mark_rule(strokeWidth=2)
        .encode(x=alt.X("kappa_low:Q", scale=alt.Scale(domain=[-1, 1])), x2="kappa_high:Q")
    )
    trusted = base.transform_filter("datum.trusted").mark_point(filled=True, size=70).encode(x=x)
    doubtful = (
        base.transform_filter("!datum.trusted")
        .mark_point(filled=False, size=70, color="#9a9a9a", strokeDash=[2, 2])
        .encode(x=x)
    )
    return (bars + trusted + doubtful).properties(height=alt.Step(28))


def kappa_warning(per_code: pd.DataFrame) -> ui.Markdown | None:
    """One line naming the codes whose kappa rests on too few items, or None."""
    frame = kappa_reliability(per_code)
    few = frame[frame["few_items"]]
    if few.empty:
        return None
    return ui.fmt(
        "κ rests on fewer than {} items for {}: too few to judge the machine, and a narrow "
        "interval there (even [1, 1]) is not certainty. Annotate more items "
        "(`arenalens annotate sample` says how many give a CI of a given width).",
        MIN_KAPPA_ITEMS,
        ", ".join(
            f"{display.display_name(r.code)} ({display.plural(r.n, 'item')})"
            for r in few.itertuples()
        ),
    )


#: the machine against people, and people among themselves: two tables narrow enough to read
MACHINE_COLUMNS = ["code", "n", "kappa", "reading", "percent_agreement", "precision", "recall",
                   "machine_rate", "human_rate"]  # fmt: skip
PEOPLE_COLUMNS = ["code", "n_double_coded", "human_alpha", "human_percent_agreement",
                  "side_agreement", "polarity_agreement"]  # fmt: skip
COUNT_COLUMNS = frozenset({"n", "n_double_coded"})


def per_code_table(per_code: pd.DataFrame, columns: list[str] = MACHINE_COLUMNS) -> pd.DataFrame:
    """Per code, for people: the reason in words and the chosen statistics under plain
    headings, counts whole, shares as percentages, κ and α to two decimals ('—' where there
    is none)."""
    frame = kappa_reliability(per_code)
    shown = frame[[c for c in columns if c in frame]].copy()
    shown["code"] = shown["code"].map(display.display_name)
    for column in shown.columns:
        if column in COUNT_COLUMNS:
            shown[column] = shown[column].map(
                lambda v: display.or_dash(None if pd.isna(v) else f"{int(v):,}")
            )
        elif column in ("kappa", "human_alpha"):
            shown[column] = shown[column].map(display.human_number)
        elif column not in ("code", "reading") and pd.api.types.is_numeric_dtype(shown[column]):
            shown[column] = shown[column].map(ui.percent)
    return shown.rename(columns=display.rename_columns(shown.columns, {"code": "loss reason"}))


# -- adjudication -----------------------------------------------------------------------
def answers_by_name(app: AppContext, feedback_id: str, code: str) -> pd.DataFrame:
    """Each annotator's latest answer on one (item, code), with side, polarity and note."""
    from coding.persist import annotations_frame

    queue = loaders.coding.annotation_queue(app, None)
    frame = annotations_frame(queue.store, queue.version)
    rows = []
    for record in frame[frame["feedback_id"] == feedback_id].to_dict("records"):
        decision = (record["decisions"] or {}).get(code, {})
        rows.append(
            {
                "annotator": record["annotator"],
                "answer": "present" if decision.get("present") else "absent",
                "side": decision.get("side") or "",
                "polarity": decision.get("polarity") or "",
                "note": record["note"] or "",
            }
        )
    return pd.DataFrame(rows, columns=["annotator", "answer", "side", "polarity", "note"])


def show_case(app: AppContext, feedback_id: str, code: str) -> None:
    """Everything needed to settle one disagreement: answers by name, the machine's code and
    evidence, the feedback, the query and both responses."""
    queue = loaders.coding.annotation_queue(app, None)
    item = queue.item(feedback_id)
    machine = next((c for c in item.machine_codes if c["code"] == code), None)
    answers_col, machine_col = st.columns([3, 2])
    with answers_col:
        ui.say("caption", "Annotators' answers on {}", display.display_name(code))
        ui.table(answers_by_name(app, feedback_id, code))
    with machine_col:
        st.caption("Machine")
        if machine is None:
            st.text(f"{code}: absent (the machine did not assign it)")
        else:
            confidence = machine.get("confidence")
            st.text(
                f"{code}: present · side {machine.get('side') or '?'} · polarity "
                f"{machine.get('polarity') or '?'} · confidence "
                + ("?" if confidence is None or pd.isna(confidence) else f"{confidence:.2f}")
            )
    st.caption("Feedback — machine evidence highlighted")
    st.html(FEEDBACK_CSS)
    show_feedback_and_vote(item)
    ui.show_user_text("Query", item.query)
    left, right = st.columns(2)
    for column, label, text in ((left, "A", item.response_a), (right, "B", item.response_b)):
        with column:
            ui.say("caption", "Response {}", label)
            with st.container(height=140, border=True):
                st.text(text or "(none)")


def adjudication(app: AppContext, open_items: pd.DataFrame) -> None:
    """Filter by code, pick one disagreement, see the case, settle it."""

    counts = open_items["code"].value_counts()
    filter_col, pick_col = st.columns([1, 2])
    code_filter = filter_col.selectbox(
        "Filter by code",
        [ALL_CODES, *counts.index],
        format_func=lambda c: c if c == ALL_CODES else f"{display.display_name(c)} ({counts[c]})",
        key="adjudicate_code",
    )
    shown = (
        open_items if code_filter == ALL_CODES else open_items[open_items["code"] == code_filter]
    )
    readable = shown.assign(code=shown["code"].map(display.display_name)).rename(
        columns={"feedback_id": "item", "code": "loss reason"}
    )
    ui.table(readable, height=min(40 + 60 * len(readable), 300))
    keys = [f"{r.feedback_id} / {r.code}" for r in shown.itertuples()]
    choice = pick_col.selectbox(
        "Item / loss reason",
        keys,
        format_func=lambda k: " / ".join(
            [k.rsplit(" / ", 1)[0], display.display_name(k.rsplit(" / ", 1)[1])]
        ),
        key="adjudicate_item",
    )
    if choice is None:
        return
    feedback_id, code = choice.rsplit(" / ", 1)
    show_case(app, feedback_id, code)
    with st.form("adjudicate"):
        verdict_col, who_col, note_col = st.columns([2, 2, 3])
        verdict = verdict_col.radio(
            ui.fmt("Adjudicated label for {}", display.display_name(code)),
            ["present", "absent"],
            index=None,  # no default: the adjudicator decides
            horizontal=True,
            key="adjudicate_verdict",
        )
        who = who_col.text_input("Adjudicator", key="adjudicate_by")
        note = note_col.text_input("Note", key="adjudicate_note")
        if st.form_submit_button("Save adjudication", type="primary"):
            if verdict is None or not who.strip():
                st.error("Choose present or absent, and enter the adjudicator's name.")
                return
            writes.adjudicate(app, feedback_id, code, verdict == "present", who, note)
            st.session_state["agreement_message"] = ui.fmt(
                "Adjudicated {} / {}: {}.", feedback_id, code, verdict
            )
            st.rerun()


def render() -> None:
    st.title("Agreement")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        missing = loaders.coding.coding_ready(app)
        if missing:
            ui.show("info", missing)
            return
        message = st.session_state.pop("agreement_message", None)
        if message:
            ui.show("success", message)
        report = loaders.coding.agreement(app, BOOTSTRAP_ROUNDS)
        ui.say("caption", "Codebook {}", report.codebook_version)
        a, b = st.columns(2)
        a.metric("Items annotated", f"{report.items_annotated:,}")
        b.metric("Unresolved disagreements", f"{report.unresolved:,}")
        if report.items_annotated == 0:
            st.info(
                "No annotations yet. Annotators work on the Annotate page (or "
                "`arenalens annotate export` / `import` with a spreadsheet)."
            )
            return
        st.subheader("Machine vs human, per code")
        warning = kappa_warning(report.per_code)
        if warning:
            ui.show("warning", warning)
        st.altair_chart(kappa_chart(report.per_code), width="stretch")
        ui.table(per_code_table(report.per_code, MACHINE_COLUMNS))
        st.caption("People among themselves, on the items two or more of them coded")
        ui.table(per_code_table(report.per_code, PEOPLE_COLUMNS))
        ui.say(
            "caption",
            "κ compares the machine's codes with the resolved human label (adjudicated, else "
            "consensus, else the single annotator). Hollow grey points have no interval drawn: "
            "they rest on fewer than {} items or every bootstrap resample gave "
            "the same κ. People's agreement is Krippendorff's α (nominal) among annotators on "
            "items two or more of them coded.",
            MIN_KAPPA_ITEMS,
        )
        st.subheader("Confusion (machine × human)")
        if len(report.confusion):
            from coding.agreement import confusion_table

            wide = confusion_table(report.confusion)
            wide["code"] = wide["code"].map(display.display_name)
            ui.table(
                wide.rename(columns=display.rename_columns(wide.columns, {"code": "loss reason"}))
            )
        st.subheader("Disagreements awaiting adjudication")
        open_items = loaders.coding.disagreement_details(app)
        if open_items.empty:
            st.success("No open disagreements between annotators.")
            return
        adjudication(app, open_items)


render()
