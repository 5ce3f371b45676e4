"""Feedback (placeholder until the coding stage's public functions land)."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui


def render() -> None:
    st.title("Feedback")
    if data.stage_module("coding") is None:
        ui.stage_not_installed("coding")
        return
    ui.stage_missing("Feedback", "arenalens code")


render()
