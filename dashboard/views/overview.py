"""Overview: who is ahead and why (compact leaderboard, largest loss reasons), what the
workspace holds and what can run next, modality and category shares."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from dashboard import loaders, sections, ui
from dashboard.charts import RATING_AXIS, RATING_TOOLTIP, interval_chart

TOP_MODELS = 8
TOP_REASONS = 3


def counts_row(status: dict) -> None:
    """Headline counts, as `arenalens status` reports them."""
    columns = st.columns(7)
    for column, (label, key) in zip(
        columns,
        [
            ("Interactions", "interactions"),
            ("Votes", "votes"),
            ("Feedback", "feedback"),
            ("Systems", "systems"),
            ("Audio queries", "audio"),
            ("Benchmarks", "benchmark_scores"),
            ("Model outputs", "model_outputs"),
        ],
        strict=True,
    ):
        column.metric(ui.safe(label), f"{int(status.get(key, 0)):,}")


def leaderboard_chart(top: pd.DataFrame) -> alt.Chart:
    """Top models as rows ("1 · GPT-4o · 831 votes"): rating point and 95% CI bar."""
    frame = top.assign(
        label=[
            f"{int(r)} · {m} · {display.plural(v, 'vote')}"
            for r, m, v in zip(top["rank"], top["model"], top["votes"], strict=True)
        ]
    )
    return interval_chart(
        frame,
        label="label",
        estimate="rating",
        x_title=RATING_AXIS,
        order=list(frame["label"]),
        x_scale=alt.Scale(zero=False),
        tooltip=RATING_TOOLTIP,
        point_size=70,
    )


def compact_leaderboard(app) -> None:
    """The top models of the latest ranking run: rank, rating with its 95% CI, votes."""
    st.subheader("Who is ahead")
    board = loaders.ranking.latest_ratings(app)
    if board is None:
        ui.show("info", loaders.workspace.step_message(app, "Rank models"))
        return
    ranked, apart = sections.split_by_evidence(app, board)
    ui.show("markdown", sections.leader_headline(ranked))
    top = ranked.sort_values(["rank", "rating"], ascending=[True, False]).head(TOP_MODELS)
    if len(top):
        st.altair_chart(leaderboard_chart(top), width="stretch")
    sections.too_few_votes_caption(app, apart)
    more = len(ranked) - len(top)
    ui.say(
        "caption",
        "Rank = 1 + models whose CI lies entirely above. {}Full table and per-category "
        "leaderboards on the Leaderboard page.",
        f"{more} more models. " if more > 0 else "",
    )


def reasons_chart(table: pd.DataFrame) -> alt.Chart:
    """The largest loss reasons: share of coded feedback with its 95% CI."""
    table = table.assign(reason=table["code"].map(display.display_name))
    base = alt.Chart(table).encode(
        y=alt.Y(
            "reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200, labelOverlap=False)
        )
    )
    bars = base.mark_bar(opacity=0.75, color="#e45756").encode(
        x=alt.X("rate:Q", title="share of feedback (95% CI)", axis=alt.Axis(format="%")),
        tooltip=[
            alt.Tooltip("reason:N", title="loss reason"),
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("low:Q", format=".1%"),
            alt.Tooltip("high:Q", format=".1%"),
            "estimate",
        ],
    )
    rules = base.mark_rule(color="black").encode(x="low:Q", x2="high:Q")
    return (bars + rules).properties(height=alt.Step(30))


def loss_reasons(app) -> None:
    """The three most frequent loss reasons (bias-corrected when human labels exist)."""
    st.subheader("Why models lose")
    missing = loaders.coding.coding_ready(app)
    if missing:
        ui.show("info", missing)
        return
    table = loaders.coding.top_loss_reasons(app, TOP_REASONS)
    if table.empty:
        st.info("No loss reason was coded in this workspace's feedback.")
        return
    st.altair_chart(reasons_chart(table), width="stretch")
    ui.say(
        "caption",
        "Share of coded feedback items giving each reason ({}). Per model and per category "
        "on the Feedback page.",
        table["estimate"].iloc[0],
    )


def who_wins_where(app) -> None:
    """Compact: the leader of each use-case category, and what sets each model's losses apart."""
    board = loaders.ranking.latest_ratings(app)
    if board is None:
        return  # "Who is ahead" already says how to rank
    order = list(board.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    models = sections.who_wins_where(app, order, compact=True)
    sections.distinctive_loss_reasons(app, models or order)


STEP_MARKS = {"done": "✓", "ready": "→", "blocked": "✗"}


def checklist(app) -> None:
    """What this workspace can compute, from what it holds (done / can run / cannot run, why)."""
    st.subheader("Next steps")
    lines = []
    for step in loaders.workspace.workspace_steps(app):
        if step.state == "ready":
            line = ui.fmt("{} **{}** — {}: ", STEP_MARKS[step.state], step.name, step.why)
            line += f"`{step.command}`"  # our own command lines, shown as code
            if step.fix:
                line += f" (or `{step.fix}`)"
        elif step.state == "blocked":
            line = ui.fmt("{} {} — cannot run: {}", STEP_MARKS[step.state], step.name, step.why)
            if step.fix:
                line += f" (first: `{step.fix}`)"  # our own command line, shown as code
        else:
            line = ui.fmt("{} {} — {}", STEP_MARKS[step.state], step.name, step.why)
        lines.append(line)
    ui.show("markdown", ui.Markdown("  \n".join(lines)))  # each line built by ui.fmt


def stages_table(app) -> None:
    """Which stages have run, when, with which model and code version."""
    runs = loaders.workspace.runs(app)
    if runs.empty:
        st.caption("No stage has run on this workspace yet.")
        return
    last = runs.sort_values("id").groupby("stage", as_index=False).tail(1)
    done = runs[runs["status"] == "done"].groupby("stage").size().rename("completed runs")
    table = last.set_index("stage").join(done).reset_index()
    table["completed runs"] = table["completed runs"].fillna(0).astype(int)
    table = (
        table[["stage", "status", "completed runs", "id", "model", "started_at", "finished_at"]]
        .rename(columns={"id": "last run"})
        .sort_values("stage")
    )
    table = table.assign(
        started_at=table["started_at"].map(display.human_date),
        finished_at=table["finished_at"].map(display.human_date),
    )
    ui.table(table.rename(columns=display.rename_columns(table.columns)))


def render() -> None:
    st.title("Overview")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        status = loaders.workspace.status(app)
        if status["interactions"] == 0:
            ui.show("info", loaders.workspace.step_message(app, "Load data"))
        elif loaders.workspace.synthetic_share(app) > 0.5:
            st.warning("This workspace holds the SYNTHETIC sample arena, not real votes.")
        counts_row(status)
        left, right = st.columns([3, 2])
        with left:
            compact_leaderboard(app)
        with right:
            loss_reasons(app)
        who_wins_where(app)
        checklist(app)
        left, right = st.columns(2)
        with left:
            sections.modality_share(app)
        with right:
            sections.category_shares(app)
        sections.modality_by_model(app)
        with st.expander("What has been computed (runs)"):
            stages_table(app)


render()
