"""Small rendering helpers shared by the pages: safe text, 'stage not run' notes, errors.

The one place where user-controlled text (model, cluster, category and annotator names,
queries, feedback, notes, error messages, file names) is made safe for Streamlit's markdown:
pages pass such values through `fmt` (a trusted template, escaped values) or show them with
`show_user_text` / `st.text` / `dataframe`. A test checks that no page hands Streamlit's
markdown-rendering calls an f-string or a bare variable.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.csv_safe import csv_text

# What can start markup in Streamlit's markdown (CommonMark + GFM, LaTeX, :colour[...]/:icon:
# directives, HTML): escaped with a backslash. Characters that only matter in some positions
# (list/heading marks at a line start, `_` at a word boundary, `:` before a letter or `/`,
# the dot of `www.`) are escaped only there, so ordinary names (`too_long`, `Text-primary`)
# are shown unchanged.
_ALWAYS = re.compile(r"([\\`*\[\]<>$~|{}])")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # not between two letters/digits
_COLON = re.compile(r":(?=[A-Za-z/])")
_WWW_DOT = re.compile(r"(?<=www)\.", re.IGNORECASE)
_LINE_MARK = re.compile(r"^(\s*)([-+=#>])", re.MULTILINE)
_LIST_NUMBER = re.compile(r"^(\s*\d+)([.)])", re.MULTILINE)


def escape_markdown(text: object) -> str:
    """`text` with every markdown-active character backslash-escaped, so it renders literally
    (no emphasis, link, image, HTML, code, maths, heading, list or Streamlit directive)."""
    out = _ALWAYS.sub(r"\\\1", str(text))
    out = _UNDERSCORE.sub(r"\\_", out)
    out = _COLON.sub(r"\\:", out)
    out = _WWW_DOT.sub(r"\\.", out)
    out = _LINE_MARK.sub(r"\1\\\2", out)
    return _LIST_NUMBER.sub(r"\1\\\2", out)


class _EscapingFormatter(string.Formatter):
    """str.format whose replacement fields are escaped after formatting."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Markdown) and not format_spec:
            return value  # already safe (built by fmt/safe): not escaped twice
        return escape_markdown(super().format_field(value, format_spec))


_FORMATTER = _EscapingFormatter()


class Markdown(str):
    """Text already safe for Streamlit's markdown (built by `fmt` or `safe`)."""


def safe(text: object) -> Markdown:
    """`text` made safe for markdown: kept when already `Markdown`, else escaped."""
    return text if isinstance(text, Markdown) else Markdown(escape_markdown(text))


def fmt(template: str, /, *args: Any, **kwargs: Any) -> Markdown:
    """`template.format(...)` with every value escaped: the template (ours) may use markdown,
    the values (user text, exception messages) render literally. Never put a value inside
    backticks: a code span shows the escapes."""
    return Markdown(_FORMATTER.format(template, *args, **kwargs))


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def with_code(text: object) -> Markdown:
    """A message from the core (a warning, a summary line) safe for markdown, its `command`
    spans shown as code instead of as literal backticks; everything else escaped."""
    raw = str(text)
    parts, last = [], 0
    for match in _CODE_SPAN.finditer(raw):
        parts.append(escape_markdown(raw[last : match.start()]))
        parts.append(f"`{match.group(1)}`")  # a code span renders its content literally
        last = match.end()
    parts.append(escape_markdown(raw[last:]))
    return Markdown("".join(parts))


def show(kind: str, text: object) -> None:
    """`st.<kind>(text)` (info, warning, error, success, caption, markdown, subheader, ...),
    escaping `text` unless it is already `Markdown`."""
    getattr(st, kind)(safe(text))


def say(kind: str, template: str, /, *args: Any, **kwargs: Any) -> None:
    """`st.<kind>(fmt(template, ...))`: a message with user values shown literally."""
    show(kind, fmt(template, *args, **kwargs))


def show_user_text(label: str, text: object, *, empty: str = "(none)") -> None:
    """Show user-supplied text literally (never parsed as markdown or HTML)."""
    st.caption(safe(label))
    if text is None or (isinstance(text, float) and pd.isna(text)) or str(text).strip() == "":
        st.text(empty)
    else:
        st.text(str(text))


@contextmanager
def error_boundary() -> Iterator[None]:
    """Show a known arenalens error as one line instead of a traceback (the dashboard edge)."""
    from arenalens.errors import ArenalensError

    try:
        yield
    except ArenalensError as exc:
        say("error", "{}: {}", type(exc).__name__, exc)


def dataframe(
    frame: pd.DataFrame,
    *,
    budget_px: int | None = None,
    download: str | None = None,
    **kwargs: Any,
) -> Any:
    """`st.dataframe` without the index, every column on screen within `budget_px` (default:
    the page width at 1280 px; pass HALF_WIDTH_PX in a two-column layout), and with
    `download="name.csv"` a button saving the table as CSV. Cells are plain text, never HTML."""
    budget = (budget_px or PAGE_WIDTH_PX) - (
        40 if kwargs.get("selection_mode") else 0
    )  # tick boxes
    config = fit_columns(frame, budget, kwargs.pop("column_config", None))
    kwargs.setdefault("width", "stretch")
    event = st.dataframe(frame, hide_index=True, column_config=config, **kwargs)
    if download:
        download_csv(frame, download)
    return event


def table(frame: pd.DataFrame, *, height: int | None = None) -> None:
    """A small table every character of which must be read (names, codes, statistics): an
    HTML table whose cells wrap instead of clipping, without the index. `st.table` renders
    Markdown in cells and headings, so text is escaped and shows literally."""
    shown = frame.copy()
    for column in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[column]):  # object and string dtypes
            shown[column] = (
                shown[column].astype(object).map(lambda v: escape_markdown(display.or_dash(v)))
            )
    shown.columns = [escape_markdown(str(c)) for c in shown.columns]
    kwargs: dict[str, Any] = {"height": height} if height else {}
    st.table(shown, hide_index=True, **kwargs)


def download_csv(frame: pd.DataFrame, file_name: str, label: str = "Download CSV") -> None:
    """A button saving `frame` as a CSV file (UTF-8, no index, formula-leading text escaped)."""
    st.download_button(
        label,
        csv_text(frame).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=f"download|{file_name}",
        icon=":material/download:",
    )


def percent(value: float | None) -> str:
    """0.1234 -> '12.3%' (blank for missing)."""
    if value is None or pd.isna(value):
        return "—"
    return f"{100 * float(value):.1f}%"


# Page body width at a 1280 px window with the sidebar open (Streamlit's wide layout: 818 px
# measured in Chromium); half a page in two columns is ~400 px.
PAGE_WIDTH_PX = 816
HALF_WIDTH_PX = 400
_CHAR_PX = 8.0  # width of a table character in Streamlit's font (generous: no ellipsis)
_MIN_COLUMN_PX, _MAX_COLUMN_PX = 56, 420


SHORT_TEXT_CHARS = 32  # values up to this long are names or codes, never cut


def _is_short_text(values: pd.Series) -> bool:
    """Text (not numbers) whose values are all short: names, codes, dates."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    lengths = values.head(200).map(lambda v: len(str(v)) if v is not None else 0)
    if len(lengths) == 0:
        return True
    if (
        lengths.max() <= 2 * SHORT_TEXT_CHARS
        and not values.head(200).astype(str).str.contains(r"\s").any()
    ):
        return True  # identifiers (ids, file names): no spaces, cut ones read alike
    # a name column may hold a few longer names; free text is long throughout
    return bool(lengths.quantile(0.9) <= SHORT_TEXT_CHARS and lengths.max() <= 2 * SHORT_TEXT_CHARS)


def _natural_px(values: pd.Series, column: object) -> int:
    """Width showing the header and the longest value whole."""
    lengths = values.head(200).map(lambda v: len(str(v)) if v is not None else 0)
    longest = int(lengths.max()) if len(lengths) else 0
    return int(max(len(str(column)) + 2, longest) * _CHAR_PX) + 24


def _distinguishing_chars(texts: list[str]) -> int:
    """Characters needed so no two of `texts` show the same beginning."""
    ordered = sorted(set(texts))
    need = 1
    for left, right in zip(ordered, ordered[1:], strict=False):
        common = next(
            (i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b),
            min(len(left), len(right)),
        )
        need = max(need, min(common + 1, max(len(left), len(right))))
    return need


def _distinct_px(values: pd.Series, column: object, columns: pd.Index) -> int:
    """Width at which the column's values, and its header among the table's headers, can
    still be told apart (cut text shows an ellipsis after them)."""
    texts = [str(v) for v in values.head(200) if v is not None]
    chars = max(
        _distinguishing_chars(texts) if texts else 1,
        min(_distinguishing_chars([str(c) for c in columns]), len(str(column))),
    )
    return int((chars + 2) * _CHAR_PX) + 24


#: columns shown whole even when a table must shrink to fit
WHOLE_COLUMNS = frozenset(
    {"model", "model_a", "model_b", "system", "cluster", "category", "status", "name"}
)


def fit_columns(
    frame: pd.DataFrame, budget_px: int = PAGE_WIDTH_PX, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Column widths for `st.dataframe` so every column is on screen within `budget_px`
    (long text is cut with an ellipsis inside its cell, shown whole on hover), merged into
    `config` (e.g. number formats). Without it wide tables hide their last columns."""
    widths = {}
    for column in frame.columns:
        values = frame[column].head(200).map(lambda v: len(str(v)) if v is not None else 0)
        longest = (
            int(values.quantile(0.9) if len(values) > 20 else values.max()) if len(values) else 0
        )
        natural = max(len(str(column)) + 2, longest)
        widths[column] = min(_MAX_COLUMN_PX, max(_MIN_COLUMN_PX, int(natural * _CHAR_PX) + 24))
    budget = int(budget_px * 0.985)  # borders
    # short values (names, codes, dates, numbers) keep their whole width: two annotators cut
    # to "demo-annotator-" read alike; only free text (queries, feedback) gives way, and it
    # can be read whole in the page's detail view
    names = {c for c in frame.columns if str(c) in WHOLE_COLUMNS or _is_short_text(frame[c])}
    if sum(widths.values()) > budget:
        fixed = {c: w for c, w in widths.items() if w <= 110 or c in names}
        flexible = {c: w for c, w in widths.items() if c not in fixed}
        room = max(budget - sum(fixed.values()), 0)
        scale = room / max(1, sum(flexible.values()))
        widths.update({c: max(80, int(w * scale)) for c, w in flexible.items()})
    total = sum(widths.values())
    if total > budget:  # still too wide (many columns): shrink the other columns alike
        floor = _MIN_COLUMN_PX - 8
        others = [c for c in widths if c not in names]
        room = budget - sum(w for c, w in widths.items() if c not in others)
        if others and room >= floor * len(others):
            scale = room / sum(widths[c] for c in others)
            widths.update({c: max(floor, int(widths[c] * scale)) for c in others})
        else:  # even the names do not fit: shrink every column alike
            widths = {c: max(floor, int(w * budget / total)) for c, w in widths.items()}
    out = dict(config or {})
    for column, width in widths.items():
        if column in names:  # never so narrow that two values (or headers) read alike
            width = max(width, _distinct_px(frame[column], column, frame.columns))
        given = out.get(column) or {}
        if given.get("width") is None:  # a width the page chose itself is kept
            out[column] = {**given, "width": width}
    return out
