"""Small rendering helpers shared by the pages: safe text, 'stage not run' notes, errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

# Characters with a meaning in Streamlit's markdown (CommonMark, GFM, LaTeX, colours, emoji).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~=$:])")


def escape_markdown(text: object) -> str:
    """Backslash-escape every markdown-special character so `text` renders literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def show_user_text(label: str, text: object, *, empty: str = "(none)") -> None:
    """Show user-supplied text literally (never parsed as markdown or HTML)."""
    st.caption(label)
    if text is None or (isinstance(text, float) and pd.isna(text)) or str(text).strip() == "":
        st.text(empty)
    else:
        st.text(str(text))


def stage_missing(what: str, command: str) -> None:
    """Say that a page section needs a stage that has not run, and which command runs it."""
    st.info(f"{what} — nothing computed yet. Run `{command}` in a terminal, then reload.")


def stage_not_installed(stage: str) -> None:
    """Say that a stage (or its persist API) is not available in this environment."""
    from dashboard.data import unavailable_message

    st.warning(unavailable_message(stage))


def empty_workspace() -> None:
    """Say that the workspace holds no interactions and how to fill it."""
    st.info(
        "This workspace holds no interactions yet. Run `arenalens demo` for the synthetic "
        "sample arena, or `arenalens ingest FILE` for your own data."
    )


@contextmanager
def error_boundary() -> Iterator[None]:
    """Show a known arenalens error as one line instead of a traceback (the dashboard edge)."""
    from arenalens.errors import ArenalensError

    try:
        yield
    except ArenalensError as exc:
        st.error(f"{type(exc).__name__}: {exc}")


def dataframe(frame: pd.DataFrame, **kwargs: Any) -> Any:
    """`st.dataframe` without the index (cells are shown as plain text, never HTML)."""
    return st.dataframe(frame, hide_index=True, **kwargs)


def percent(value: float | None) -> str:
    """0.1234 -> '12.3%' (blank for missing)."""
    if value is None or pd.isna(value):
        return "—"
    return f"{100 * float(value):.1f}%"
