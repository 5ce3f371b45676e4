"""Overview: who is ahead and why (compact leaderboard, largest loss reasons), what the
workspace holds and what can run next, modality and category shares."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from arenalens.next_steps import next_steps
from dashboard import data, sections, ui

TOP_MODELS = 8
TOP_REASONS = 3
STEP_STATES = {"done": "✓ done", "ready": "→ can run", "blocked": "✗ cannot run"}


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
            ("Benchmark scores", "benchmark_scores"),
            ("Model outputs", "model_outputs"),
        ],
        strict=True,
    ):
        column.metric(ui.safe(label), f"{int(status.get(key, 0)):,}")


def compact_leaderboard(app) -> None:
    """The top models of the latest ranking run: rank, rating with its 95% CI, votes."""
    st.subheader("Who is ahead")
    board = data.latest_ratings(app)
    if board is None:
        ui.show("info", data.step_message(app, "Rank models"))
        return
    top = board.sort_values(["rank", "rating"], ascending=[True, False]).head(TOP_MODELS)
    table = pd.DataFrame(
        {
            "rank": top["rank"],
            "model": top["model"],
            "rating": top["rating"].round(0),
            "95% CI": [
                f"{lo:.0f} – {hi:.0f}" for lo, hi in zip(top["ci_low"], top["ci_high"], strict=True)
            ],
            "votes": top["votes"],
        }
    )
    ui.dataframe(table, width="stretch", column_config=ui.fit_columns(table))
    more = len(board) - len(top)
    ui.say(
        "caption",
        "Rank = 1 + models whose CI lies entirely above. {}Full table and per-category "
        "leaderboards on the Leaderboard page.",
        f"{more} more models. " if more > 0 else "",
    )


def loss_reasons(app) -> None:
    """The three most frequent loss reasons (bias-corrected when human labels exist)."""
    st.subheader("Why models lose")
    missing = data.coding_ready(app)
    if missing:
        ui.show("info", missing)
        return
    table = data.top_loss_reasons(app, TOP_REASONS)
    if table.empty:
        st.info("No loss reason was coded in this workspace's feedback.")
        return
    for row in table.itertuples():
        st.metric(
            ui.safe(row.code),
            ui.percent(row.rate),
            help=ui.fmt(
                "{} of feedback items; 95% CI {}–{}",
                row.estimate,
                ui.percent(row.low),
                ui.percent(row.high),
            ),
        )
        ui.say(
            "caption", "95% CI {}–{} ({})", ui.percent(row.low), ui.percent(row.high), row.estimate
        )
    st.caption("Per model and per category on the Feedback page.")


def checklist(status: dict) -> None:
    """What this workspace can compute, from what it holds (done / can run / cannot run, why)."""
    st.subheader("Next steps")
    steps = next_steps(status)
    table = pd.DataFrame(
        {
            "step": [s.name for s in steps],
            "state": [STEP_STATES[s.state] for s in steps],
            "why": [s.why for s in steps],
            "command": [s.command if s.state != "done" else "" for s in steps],
        }
    )
    ui.dataframe(table, width="stretch", column_config=ui.fit_columns(table))


def stages_table(app) -> None:
    """Which stages have run, when, with which model and code version."""
    runs = data.runs(app)
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
    ui.dataframe(table, width="stretch", column_config=ui.fit_columns(table))


def render() -> None:
    st.title("Overview")
    app = data.app_context()
    with ui.error_boundary():
        status = data.status(app)
        if status["interactions"] == 0:
            ui.empty_workspace()
        elif data.synthetic_share(app) > 0.5:
            st.warning("This workspace holds the SYNTHETIC sample arena, not real votes.")
        counts_row(status)
        left, right = st.columns([3, 2])
        with left:
            compact_leaderboard(app)
        with right:
            loss_reasons(app)
        checklist(status)
        left, right = st.columns(2)
        with left:
            sections.modality_share(app)
        with right:
            sections.category_shares(app)
        sections.modality_by_model(app)
        with st.expander("What has been computed (runs)"):
            stages_table(app)


render()
