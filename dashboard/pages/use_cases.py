"""Use cases (placeholder until the taxonomy stage's public functions land)."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui


def render() -> None:
    st.title("Use cases")
    if data.stage_module("taxonomy") is None:
        ui.stage_not_installed("taxonomy")
        return
    ui.stage_missing("Use cases", "arenalens taxonomy build")


render()
