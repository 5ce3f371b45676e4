"""Sections shared by several pages that show one stage's results (taxonomy shares, ...)."""

from __future__ import annotations

import streamlit as st

from arenalens.context import AppContext
from dashboard import data, ui


def modality_share(app: AppContext) -> None:
    """Text-primary vs audio-primary share of queries, with its 95% CI."""
    st.subheader("Text- vs audio-primary")
    if data.stage_module("taxonomy") is None:
        ui.stage_not_installed("taxonomy")
        return
    ui.stage_missing("Modality shares", "arenalens taxonomy build")


def category_shares(app: AppContext) -> None:
    """Share of queries per top-level use-case category, with 95% CIs."""
    st.subheader("Use-case categories")
    if data.stage_module("taxonomy") is None:
        ui.stage_not_installed("taxonomy")
        return
    ui.stage_missing("Category shares", "arenalens taxonomy build")
