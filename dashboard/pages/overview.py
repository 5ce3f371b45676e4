"""Overview: what the workspace holds, modality and category shares, what has been computed."""

from __future__ import annotations

import streamlit as st

from dashboard import data, sections, ui


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
        column.metric(label, f"{int(status.get(key, 0)):,}")


def stages_table(app) -> None:
    """Which stages have run, when, with which model and code version."""
    st.subheader("What has been computed")
    runs = data.runs(app)
    if runs.empty:
        st.info(
            "No stage has run on this workspace yet. `arenalens demo` runs every stage on the "
            "sample arena; see `arenalens --help` for each stage's command."
        )
        return
    last = runs.sort_values("id").groupby("stage", as_index=False).tail(1)
    done = runs[runs["status"] == "done"].groupby("stage").size().rename("completed runs")
    table = last.set_index("stage").join(done).reset_index()
    table["completed runs"] = table["completed runs"].fillna(0).astype(int)
    ui.dataframe(
        table[
            [
                "stage",
                "status",
                "completed runs",
                "id",
                "model",
                "code_version",
                "started_at",
                "finished_at",
            ]
        ]
        .rename(columns={"id": "last run"})
        .sort_values("stage"),
        width="stretch",
    )


def render() -> None:
    st.title("Overview")
    app = data.app_context()
    with ui.error_boundary():
        status = data.status(app)
        if status["interactions"] == 0:
            ui.empty_workspace()
        else:
            if data.synthetic_share(app) > 0.5:
                st.warning("This workspace holds the SYNTHETIC sample arena, not real votes.")
        counts_row(status)
        left, right = st.columns(2)
        with left:
            sections.modality_share(app)
        with right:
            sections.category_shares(app)
        stages_table(app)


render()
