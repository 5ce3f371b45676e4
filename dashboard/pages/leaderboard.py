"""Leaderboard: Bradley–Terry ratings with 95% CI bars, rank from CIs, per-slice
(category, language, loss reason) leaderboards and the pairwise win-rate heatmap."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from dashboard import data, ui

TABLE_COLUMNS = [
    "rank",
    "model",
    "rating",
    "ci_low",
    "ci_high",
    "votes",
    "wins",
    "ties",
    "losses",
    "flag",
]
RATING_FORMAT = {
    c: st.column_config.NumberColumn(format="%.0f") for c in ("rating", "ci_low", "ci_high")
}
SLICE_LABELS = {"category": "use-case category", "language": "language", "reason": "loss reason"}


def ratings_chart(frame: pd.DataFrame, height_step: int = 26) -> alt.Chart:
    """One row per model: the rating as a point and its 95% CI as a bar, best on top."""
    order = list(frame.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    base = alt.Chart(frame).encode(
        y=alt.Y(
            "model:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelLimit=240, labelOverlap=False),  # every model named
        )
    )
    bars = base.mark_rule(strokeWidth=3, opacity=0.6).encode(
        x=alt.X("ci_low:Q", title="rating (Elo scale), 95% CI", scale=alt.Scale(zero=False)),
        x2="ci_high:Q",
    )
    points = base.mark_point(filled=True, size=80).encode(
        x="rating:Q",
        color=alt.Color(
            "rank:O",
            scale=alt.Scale(scheme="dark2"),
            legend=alt.Legend(title="rank", orient="right"),
        ),
        tooltip=[
            "model",
            "rank",
            alt.Tooltip("rating:Q", format=".0f"),
            alt.Tooltip("ci_low:Q", format=".0f"),
            alt.Tooltip("ci_high:Q", format=".0f"),
            "votes",
        ],
    )
    return (bars + points).properties(height=alt.Step(height_step))


def win_rate_heatmap(frame: pd.DataFrame, order: list[str]) -> alt.Chart:
    """P(row model beats column model), with the value printed; * marks significant cells."""
    cells = frame.assign(
        label=frame["win_rate"].map(lambda v: f"{v:.2f}")
        + frame["significant"].map(lambda s: "*" if s else "")
    )
    base = alt.Chart(cells).encode(
        y=alt.Y("model_a:N", sort=order, title="model"),
        x=alt.X("model_b:N", sort=order, title="opponent"),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "win_rate:Q", scale=alt.Scale(scheme="redblue", domain=[0, 1]), title="win rate"
        ),
        tooltip=[
            "model_a",
            "model_b",
            alt.Tooltip("win_rate:Q", format=".2f"),
            alt.Tooltip("ci_low:Q", format=".2f"),
            alt.Tooltip("ci_high:Q", format=".2f"),
            "battles",
            "significant",
        ],
    )
    text = base.mark_text(fontSize=11).encode(text="label:N")
    return (rect + text).properties(height=alt.Step(34), width=alt.Step(60))


def overall(app: AppContext, run: pd.Series) -> None:
    """The overall leaderboard of the latest ranking run, and its win-rate matrix."""
    board = data.ratings(app, int(run["id"]), "")
    config = run["config"] or {}
    summary = run["summary"] or {}
    a, b, c = st.columns(3)
    a.metric("Votes ranked", f"{int(summary.get('votes', board['votes'].sum() // 2)):,}")
    b.metric("Models", f"{len(board):,}")
    c.metric("Bootstrap rounds", f"{int(config.get('bootstrap_rounds', 0)):,}")
    ui.say(
        "caption",
        "Run {}, finished {}; ties as {}. "
        "Rank = 1 + number of models whose CI lies entirely above this model's.",
        int(run["id"]),
        run["finished_at"],
        config.get("ties", "half"),
    )
    for warning in summary.get("warnings") or []:
        ui.show("warning", warning)
    st.altair_chart(ratings_chart(board), width="stretch")
    ui.dataframe(
        board[[c for c in TABLE_COLUMNS if c in board]],
        width="stretch",
        column_config=RATING_FORMAT,
    )
    st.subheader("Pairwise win rates")
    rates = data.win_rates(app, int(run["id"]))
    rates = rates[rates["slice_field"] == ""] if len(rates) else rates
    if rates.empty:
        st.info("This run stored no win-rate matrix.")
        return
    order = list(board.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    st.altair_chart(win_rate_heatmap(rates, order), width="content")
    st.caption(
        "Cell: model-estimated probability that the row model beats the column model; * = CI excludes 0.5."
    )


def slices(app: AppContext, runs: pd.DataFrame) -> None:
    """Per-category (or language, loss-reason) leaderboards from the latest `rank --by` run."""
    st.subheader("Leaderboards per slice")
    by_field = {}
    for run in runs.itertuples():
        field = (run.config or {}).get("by")
        if field and field not in by_field:
            by_field[field] = int(run.id)
    if not by_field:
        ui.stage_missing(
            "Per-category leaderboards",
            "arenalens rank --by category  (after `arenalens taxonomy build`)",
        )
        return
    fields = sorted(by_field, key=lambda f: (f != "category", f))
    field = st.selectbox(
        "Slice by", fields, format_func=lambda f: SLICE_LABELS.get(f, f), key="leaderboard_slice"
    )
    board = data.ratings(app, by_field[field], field)
    if board.empty:
        ui.say("info", "No slice had enough votes for a leaderboard by {}.", field)
        return
    values = sorted(board["slice_value"].unique())
    chosen = st.multiselect("Slices", values, default=values[:6], key="leaderboard_slice_values")
    shown = board[board["slice_value"].isin(chosen)]
    if shown.empty:
        return
    # two panels a row, narrow enough to fit a 1280 px window beside the sidebar
    chart = (
        ratings_chart(shown, height_step=18)
        .properties(width=170)
        .facet(facet=alt.Facet("slice_value:N", title=None), columns=2)
        .resolve_scale(y="independent")
        .configure_legend(orient="bottom")
    )
    st.altair_chart(chart, width="content")
    ui.dataframe(shown[["slice_value", *[c for c in TABLE_COLUMNS if c in shown]]], width="stretch")


def render() -> None:
    st.title("Leaderboard")
    app = data.app_context()
    with ui.error_boundary():
        if data.stage_module("ranking") is None:
            ui.stage_not_installed("ranking")
            return
        if data.status(app)["votes"] == 0:
            st.info(
                "This workspace holds no votes. Run `arenalens demo` or `arenalens ingest FILE`."
            )
            return
        runs = data.latest_runs(app, "ranking")
        if runs.empty:
            ui.stage_missing("Bradley–Terry ratings", "arenalens rank")
            return
        overall(app, runs.iloc[0])
        slices(app, runs)


render()
