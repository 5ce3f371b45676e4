"""Feedback: why models lose — loss reasons overall, per model and per category, raw and
bias-corrected with 95% CIs, with a click-through to the feedback items behind each rate."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.errors import ArenalensError
from coding.prevalence import NO_VOTE
from dashboard import loaders, ui

UNCATEGORISED = "(uncategorised)"
_HEADINGS = {
    c: display.statistic_label(c) for c in ("rejected_model", "preferred_model", "feedback_id")
}  # coding's prevalence label for items without a category
FACET_WIDTH_PX = 230
GROUPINGS = {
    "Overall": "overall",
    "Per model (the model that lost)": "model",
    "Per category": "category",
    "Text vs spoken answers": "output_modality",
}


def long_estimates(table: pd.DataFrame) -> pd.DataFrame:
    """Machine and bias-corrected estimates stacked, one row per (group, code, estimate)."""
    parts = []
    for label, prefix in (("machine (raw)", "machine"), ("bias-corrected (PPI)", "ppi")):
        part = table[["group", "code", f"{prefix}_rate", f"{prefix}_low", f"{prefix}_high"]]
        part = part.rename(
            columns={f"{prefix}_rate": "rate", f"{prefix}_low": "low", f"{prefix}_high": "high"}
        )
        parts.append(part.assign(estimate=label, reason=part["code"].map(display.display_name)))
    return pd.concat(parts, ignore_index=True).dropna(subset=["rate"])


def prevalence_chart(table: pd.DataFrame, grouped: bool, by: str = "overall") -> alt.Chart:
    """Points with 95% CI bars per code (and per group when grouped), coloured by estimate."""
    frame = long_estimates(table)
    if by == "output_modality":  # facet headings in words; the click still selects the group
        frame = frame.assign(group_label=frame["group"].map(lambda g: display.display_value(by, g)))
    else:
        frame = frame.assign(group_label=frame["group"])
    base = alt.Chart(frame).encode(
        y=alt.Y("reason:N", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=150)),
        color=alt.Color("estimate:N", legend=alt.Legend(orient="bottom", title=None)),
        yOffset="estimate:N",
    )
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("rate:Q", title="share of feedback items", axis=alt.Axis(format="%")),
        tooltip=[
            "group",
            alt.Tooltip("reason:N", title="loss reason"),
            "estimate",
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("low:Q", format=".1%"),
            alt.Tooltip("high:Q", format=".1%"),
        ],
    )
    points = points.add_params(alt.selection_point(fields=["code", "group"], name="pick"))
    bars = base.mark_rule().encode(x="low:Q", x2="high:Q")
    chart = (bars + points).properties(height=alt.Step(14))
    if grouped:
        # two panels a row, each narrow enough that both fit a 1280 px window with the sidebar
        chart = chart.properties(width=FACET_WIDTH_PX).facet(
            facet=alt.Facet("group_label:N", title=None, header=alt.Header(labelLimit=300)),
            columns=2,
        )
    return chart


def prevalence_display(table: pd.DataFrame, by: str) -> tuple[pd.DataFrame, dict]:
    """The prevalence table for people (coding's `readable_prevalence`, as `arenalens
    prevalence` prints it), each heading with its definition on hover."""
    from coding.prevalence import readable_prevalence

    helps = {
        "machine share": display.statistic_help("machine_rate") + " 95% CI in brackets.",
        "bias-corrected share": display.statistic_help("ppi_rate"),
        "feedback items": display.statistic_help("n_items"),
        "validated by people": display.statistic_help("n_validated"),
    }
    frame = readable_prevalence(table, by)
    return frame, {c: st.column_config.Column(help=h) for c, h in helps.items()}


def _new_pick(page: str, pick: dict) -> bool:
    """True once per new chart selection, so later widget changes are not overridden."""
    key = f"{page}_last_pick"
    if st.session_state.get(key) == pick:
        return False
    st.session_state[key] = pick
    return True


def show_prevalence(app, by: str) -> pd.DataFrame | None:
    """The chart and the table of one grouping; None when it cannot be computed."""
    try:
        table = loaders.coding.prevalence(app, by)
    except ArenalensError as exc:  # e.g. per category before the taxonomy has run
        ui.show("info", exc)
        return None
    if table.empty:
        st.info("No feedback items in this grouping.")
        return None
    event = st.altair_chart(
        prevalence_chart(table, grouped=by != "overall", by=by),
        width="stretch" if by == "overall" else "content",
        on_select="rerun",
        key=f"feedback_chart_{by}",
    )
    picked = (getattr(event, "selection", None) or {}).get("pick") or []
    if (
        picked
        and isinstance(picked, list)
        and "code" in picked[0]
        and _new_pick("feedback", picked[0])
    ):
        # a click on a point opens that code's (and group's) feedback items below
        st.session_state["feedback_code"] = picked[0]["code"]
        if by != "overall" and "group" in picked[0]:
            st.session_state["feedback_group"] = picked[0]["group"]
    notes = sorted({n for n in table["note"] if n})
    if notes:
        ui.say(
            "caption",
            "Bias-corrected estimates need validated items: {}{}. Annotate more items on the "
            "Annotate page.",
            "; ".join(notes[:3]),
            " …" if len(notes) > 3 else "",
        )
    shown, config = prevalence_display(table, by)
    ui.dataframe(shown, column_config=config)
    ui.download_csv(table.drop(columns=["grouping"]), f"loss-reasons-{by}.csv")
    return table


def feedback_items(app, groups: list[str], by: str) -> None:
    """Click-through: the feedback items behind a code (optionally within one group)."""
    st.subheader("Feedback items")
    book = loaders.coding.codebook(app)
    left, right = st.columns(2)
    code = left.selectbox(
        "Code",
        book.code_names,
        index=None,
        placeholder="pick a code, or click a point above",
        format_func=display.display_name,
        key="feedback_code",
    )
    group = (
        right.selectbox(
            "Group",
            ["(all)", *groups],
            format_func=lambda g: g if g == "(all)" else display.display_value(by, g),
            key="feedback_group",
        )
        if by != "overall"
        else "(all)"
    )
    if code is None:
        return
    items = loaders.coding.coded_items(app)
    chosen = items[items[code] == 1]
    if group != "(all)" and by == "model":
        chosen = chosen[chosen["rejected_model"] == group]
    codes = loaders.coding.machine_codes(app)
    evidence = (
        codes[codes["code"] == code].set_index("feedback_id")["evidence"]
        if len(codes)
        else pd.Series()
    )
    chosen = chosen.assign(evidence=chosen["feedback_id"].map(evidence))
    if group != "(all)" and by == "category":
        categories = loaders.coding.feedback_categories(app)
        category = chosen["interaction_id"].map(categories.set_index("interaction_id")["category"])
        chosen = chosen[category.fillna(UNCATEGORISED) == group]
    if group != "(all)" and by == "output_modality":
        forms = loaders.coding.feedback_answer_forms(app).set_index("interaction_id")
        form = chosen["interaction_id"].map(forms["output_modality"])
        chosen = chosen[form.fillna(NO_VOTE) == group]
    ui.say(
        "caption",
        "{} coded {}",
        display.plural(len(chosen), "feedback item"),
        display.display_name(code),
    )
    columns = ["text", "evidence", "rejected_model", "preferred_model", "query", "winner"]
    shown = (
        chosen[[*columns, "feedback_id"]]
        .head(500)
        .assign(
            winner=lambda f: f["winner"].map(display.display_name),
            query=lambda f: f["query"].map(lambda q: display.or_dash(q, "no query text")),
        )
    )
    ui.dataframe(
        shown.rename(columns={"text": "feedback", "winner": "vote", **_HEADINGS}),
        download=f"feedback-{code}.csv",
    )


def show_candidate_reasons(app, version: str) -> None:
    """Reasons the codebook may lack (texts shown as text, never markdown)."""
    st.subheader("Candidate new reasons")
    table = loaders.coding.candidate_reasons(app, version)
    if table.empty:
        ui.show(
            "info",
            loaders.workspace.step_message(app, "Look for reasons the codebook lacks (optional)"),
        )
        return
    columns = [
        c for c in ("code", "name", "support", "share", "keywords", "examples") if c in table
    ]
    shown = table[columns].copy()
    shown["code"] = shown["code"].map(display.display_name)  # a proposed code, in words
    for column in ("keywords", "examples"):
        if column in shown:
            shown[column] = shown[column].map(
                lambda v: " | ".join(map(str, v)) if isinstance(v, list) else display.or_dash(v)
            )
    ui.dataframe(
        shown.rename(columns={"code": "proposed reason", "support": "feedback items"}),
        column_config={"share": st.column_config.NumberColumn(format="percent")},
    )


def render() -> None:
    st.title("Feedback")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        if loaders.workspace.status(app)["feedback"] == 0:
            ui.show("info", loaders.workspace.step_message(app, "Code feedback into loss reasons"))
            return
        missing = loaders.coding.coding_ready(app)
        if missing:
            ui.show("info", missing)
            return
        book = loaders.coding.codebook(app)
        ui.say(
            "caption",
            "Codebook {}; machine codes by the labeler in the table below.",
            book.version_key,
        )
        choice = st.radio("Loss reasons", list(GROUPINGS), horizontal=True, key="feedback_by")
        by = GROUPINGS[choice]
        table = show_prevalence(app, by)
        groups = sorted(table["group"].unique()) if table is not None else []
        feedback_items(app, groups, by)
        show_candidate_reasons(app, book.version_key)


render()
