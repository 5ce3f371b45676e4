"""Raters: who voted in the rater app (`arenalens arena`), how fast, whether they lean to one
side, and how they did on the attention pairs (one answer known to be bad)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from arenalens.raters import PASS_SHARE
from dashboard import loaders, ui


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The rater table in words a reader scans: one row per rater."""

    def interval(row: pd.Series) -> str:
        if pd.isna(row["share_a"]):
            return "no A/B vote"
        return f"{row['share_a']:.0%} ({row['share_a_low']:.0%} to {row['share_a_high']:.0%})"

    return pd.DataFrame(
        {
            "Rater": table["rater"],
            "Votes": table["votes"],
            "Median seconds per vote": table["median_seconds"].round(1),
            "Share of A among A/B votes (95% CI)": table.apply(interval, axis=1),
            "Attention pairs": table["attention_pairs"],
            "Attention accuracy": table["attention_accuracy"].map(
                lambda v: "none yet" if pd.isna(v) else f"{v:.0%}"
            ),
            "Status": table["failing"].map({True: "failing", False: "ok"}),
        }
    )


def render() -> None:
    st.title("Raters")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        table = loaders.raters.rater_quality(app)
        if table.empty:
            st.caption("No votes from the rater app yet.")
            ui.show(
                "info",
                loaders.workspace.step_message(
                    app, "Collect votes from your own raters (optional)"
                ),
            )
            return
        failing = int(table["failing"].sum())
        a, b, c = st.columns(3)
        a.metric("Raters", f"{len(table):,}")
        b.metric("Votes", f"{int(table['votes'].sum()):,}")
        c.metric("Failing attention pairs", f"{failing:,}")
        ui.say(
            "caption",
            "One row per rater. A share of A far from 50% means the rater leans to one side "
            "(sides are shuffled). A rater is failing below {} on the attention pairs; "
            "`arenalens rank --exclude-raters failing` leaves their votes out.",
            f"{PASS_SHARE:.0%}",
        )
        ui.dataframe(display_table(table), download="raters.csv")


render()
