"""Sections shared by pages that show the taxonomy's shares (Overview, Use cases)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from dashboard import data, ui

MODALITY_LABELS = {"text_primary": "Text-primary", "audio_primary": "Audio-primary"}


def share_chart(table: pd.DataFrame, label_title: str) -> alt.Chart:
    """Horizontal bars of shares with 95% CI rules (and bias-corrected points when present)."""
    frame = table.copy()
    base = alt.Chart(frame).encode(y=alt.Y("label:N", sort="-x", title=label_title))
    bars = base.mark_bar(opacity=0.75).encode(
        x=alt.X("share:Q", title="share of queries (95% CI)", axis=alt.Axis(format="%")),
        tooltip=[
            "label",
            "count",
            alt.Tooltip("share:Q", format=".1%"),
            alt.Tooltip("ci_low:Q", format=".1%"),
            alt.Tooltip("ci_high:Q", format=".1%"),
            "method",
        ],
    )
    rules = base.mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q")
    layers = bars + rules
    if "ppi_share" in frame and frame["ppi_share"].notna().any():
        layers += base.mark_point(shape="diamond", color="firebrick", size=70, filled=True).encode(
            x="ppi_share:Q",
            tooltip=[alt.Tooltip("ppi_share:Q", format=".1%", title="bias-corrected")],
        )
    return layers.properties(height=alt.Step(24))


def _shares_table(table: pd.DataFrame) -> None:
    columns = {
        c: st.column_config.NumberColumn(format="percent")
        for c in table.columns
        if "share" in c or c.startswith(("ci_", "ppi_ci"))
    }
    ui.dataframe(table, width="stretch", column_config=columns)


def modality_share(app: AppContext) -> None:
    """Text-primary vs audio-primary share of queries, with its 95% CI."""
    st.subheader("Text- vs audio-primary")
    missing = data.taxonomy_ready(app)
    if missing:
        st.info(missing)
        return
    table = data.modality_shares(app)
    if table.empty:
        st.info("The latest taxonomy run assigned no modality.")
        return
    columns = st.columns(max(1, len(table)))
    for column, row in zip(columns, table.itertuples(), strict=False):
        column.metric(
            MODALITY_LABELS.get(row.label, row.label),
            ui.percent(row.share),
            help=f"95% CI {ui.percent(row.ci_low)}–{ui.percent(row.ci_high)} ({row.method}); {row.count:,} queries",
        )
        column.caption(f"95% CI {ui.percent(row.ci_low)}–{ui.percent(row.ci_high)}")
    if "ppi_share" in table and table["ppi_share"].notna().any():
        st.caption(
            "Bias-corrected (with human labels): "
            + ", ".join(
                f"{MODALITY_LABELS.get(r.label, r.label)} {ui.percent(r.ppi_share)}"
                for r in table.itertuples()
            )
        )


def category_shares(app: AppContext, with_table: bool = False) -> None:
    """Share of queries per top-level use-case category, with 95% CIs."""
    st.subheader("Use-case categories")
    missing = data.taxonomy_ready(app)
    if missing:
        st.info(missing)
        return
    table = data.category_shares(app)
    if table.empty:
        st.info("The latest taxonomy run assigned no category.")
        return
    st.altair_chart(share_chart(table, "category"), width="stretch")
    if with_table:
        _shares_table(table)
