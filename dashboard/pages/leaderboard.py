"""Leaderboard (placeholder until the ranking stage's public functions land)."""

from __future__ import annotations

import streamlit as st

from dashboard import data, ui


def render() -> None:
    st.title("Leaderboard")
    if data.stage_module("ranking") is None:
        ui.stage_not_installed("ranking")
        return
    ui.stage_missing("Leaderboard", "arenalens rank")


render()
