"""Agreement: machine-vs-human Cohen's kappa per code with CIs, Krippendorff's alpha among
annotators, confusion counts, and the items in disagreement awaiting adjudication."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from dashboard import data, ui

BOOTSTRAP_ROUNDS = 1000


def kappa_chart(per_code: pd.DataFrame) -> alt.Chart:
    """Cohen's kappa per code with its bootstrap 95% CI."""
    frame = per_code.dropna(subset=["kappa"])
    base = alt.Chart(frame).encode(y=alt.Y("code:N", title=None))
    bars = base.mark_rule().encode(
        x=alt.X(
            "kappa_low:Q",
            title="Cohen's κ (machine vs human), 95% CI",
            scale=alt.Scale(domain=[-1, 1]),
        ),
        x2="kappa_high:Q",
    )
    points = base.mark_point(filled=True, size=70).encode(
        x="kappa:Q",
        tooltip=[
            "code",
            "n",
            alt.Tooltip("kappa:Q", format=".2f"),
            alt.Tooltip("kappa_low:Q", format=".2f"),
            alt.Tooltip("kappa_high:Q", format=".2f"),
        ],
    )
    return (bars + points).properties(height=alt.Step(28))


def adjudication_form(app: AppContext, open_items: pd.DataFrame) -> None:
    """Settle one disagreement: the adjudicated label for an (item, code)."""
    from coding.annotations import AnnotationQueue

    with st.form("adjudicate"):
        keys = [f"{r.feedback_id} / {r.code}" for r in open_items.itertuples()]
        choice = st.selectbox("Item / code", keys, key="adjudicate_item")
        verdict = st.radio(
            "Adjudicated label", ["present", "absent"], horizontal=True, key="adjudicate_verdict"
        )
        who = st.text_input("Adjudicator", key="adjudicate_by")
        note = st.text_input("Note", key="adjudicate_note")
        if st.form_submit_button("Save adjudication"):
            if not who.strip():
                st.error("Enter the adjudicator's name.")
                return
            feedback_id, code = choice.rsplit(" / ", 1)
            AnnotationQueue(app.store, data.codebook(app)).adjudicate(
                feedback_id, code, verdict == "present", who, note
            )
            data.invalidate()
            st.session_state["agreement_message"] = ui.fmt(
                "Adjudicated {} / {}: {}.", feedback_id, code, verdict
            )
            st.rerun()


def render() -> None:
    st.title("Agreement")
    app = data.app_context()
    with ui.error_boundary():
        missing = data.coding_ready(app)
        if missing:
            ui.show("info", missing)
            return
        message = st.session_state.pop("agreement_message", None)
        if message:
            ui.show("success", message)
        report = data.agreement(app, BOOTSTRAP_ROUNDS)
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
        st.altair_chart(kappa_chart(report.per_code), width="stretch")
        ui.dataframe(report.per_code, width="stretch")
        st.caption(
            "κ compares the machine's codes with the resolved human label (adjudicated, else "
            "consensus, else the single annotator). human_alpha is Krippendorff's α (nominal) "
            "among annotators on double-coded items."
        )
        st.subheader("Confusion (machine × human)")
        if len(report.confusion):
            wide = report.confusion.pivot(
                index="code", columns="cell", values="count"
            ).reset_index()
            ui.dataframe(wide, width="stretch")
        st.subheader("Disagreements awaiting adjudication")
        open_items = data.disagreements(app)
        if open_items.empty:
            st.success("No open disagreements between annotators.")
            return
        ui.dataframe(open_items, width="stretch")
        adjudication_form(app, open_items)


render()
