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
import unicodedata
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
    kwargs.setdefault("placeholder", display.EMPTY)  # an empty cell reads '—', never 'None'
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
_MIN_COLUMN_PX, _MAX_COLUMN_PX = 56, 420
# The grid's font (14 px Source Sans) measured in Chromium: lower-case letters 6.6 px, capitals
# 7.9, digits 7.0; a little more here so a width from these never cuts. A cell pads 8 px a side.
_LOWER_PX, _UPPER_PX, _DIGIT_PX, _SPACE_PX, _OTHER_PX, _WIDE_PX = 6.9, 8.3, 7.2, 3.6, 5.8, 14.5
_CELL_PADDING_PX = 16 + 6
FREE_TEXT_MIN_PX = 180  # a free-text column (queries, feedback) keeps at least this much


def text_px(text: str) -> float:
    """The width of `text` in a table cell's font, in pixels (a generous estimate)."""
    width = 0.0
    for char in text:
        if char.islower():
            width += _LOWER_PX
        elif char.isupper():
            width += _UPPER_PX
        elif char.isdigit():
            width += _DIGIT_PX
        elif char.isspace():
            width += _SPACE_PX
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += _WIDE_PX
        else:
            width += _OTHER_PX
    return width


def _shown(value: object, number_format: str | None = None) -> str:
    """A cell as the grid writes it: numbers in the column's format (else a few decimals),
    empty as the placeholder."""
    if display.is_empty(value):
        return display.EMPTY
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if number_format == "percent":
            return f"{float(value):.2%}"
        if number_format and number_format.startswith("%"):
            try:
                return number_format % value
            except (TypeError, ValueError):
                pass
        if isinstance(value, float) and not value.is_integer():
            return f"{value:,.3f}"
    return str(value)


def _number_format(config: dict[str, Any] | None, column: object) -> str | None:
    """The format a page gave a number column (`st.column_config.NumberColumn(format=...)`)."""
    given = (config or {}).get(column)
    if isinstance(given, dict):
        return (given.get("type_config") or {}).get("format")
    return None


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


def _is_whole(values: pd.Series, column: object) -> bool:
    """Columns shown whole: names, codes, ids, dates, numbers and flags (only free text such as
    a query or a feedback gives way, and each page shows it whole in a detail view)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return True
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    return str(column) in WHOLE_COLUMNS or _is_short_text(values)


def _content_px(
    values: pd.Series, column: object, whole: bool, number_format: str | None = None
) -> int:
    """Width showing the heading and the values whole (free text: 90% of its values)."""
    widths = values.head(200).map(lambda v: text_px(_shown(v, number_format)))
    if len(widths) == 0:
        longest = 0.0
    elif whole or len(widths) <= 20:
        longest = float(widths.max())
    else:
        longest = float(widths.quantile(0.9))
    return int(max(text_px(str(column)), longest) + _CELL_PADDING_PX + 0.5)


#: columns shown whole even when a table must shrink to fit
WHOLE_COLUMNS = frozenset(
    {"model", "model_a", "model_b", "system", "cluster", "category", "status", "name", "parent"}
)


def fit_columns(
    frame: pd.DataFrame, budget_px: int = PAGE_WIDTH_PX, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Column widths for `st.dataframe` from their content: names, codes, numbers and dates
    whole with their heading, within `budget_px` when they fit; free text (queries, feedback)
    gets the room that is left (at least FREE_TEXT_MIN_PX; cut inside its cell, each page
    shows it whole in a detail view), merged into `config` (e.g. number formats). Without it
    wide tables hide their last columns and names are cut."""
    whole = {c for c in frame.columns if _is_whole(frame[c], c)}
    widths = {
        c: min(
            _MAX_COLUMN_PX,
            max(_MIN_COLUMN_PX, _content_px(frame[c], c, c in whole, _number_format(config, c))),
        )
        for c in frame.columns
    }
    budget = int(budget_px * 0.985)  # borders
    flexible = [c for c in widths if c not in whole]
    if sum(widths.values()) > budget and flexible:
        room = budget - sum(w for c, w in widths.items() if c in whole)
        # free text takes what the whole columns leave, at least a stub; where even that does
        # not fit, the grid scrolls sideways rather than cut a name (a page to rethink)
        floor = FREE_TEXT_MIN_PX if room >= FREE_TEXT_MIN_PX * len(flexible) else _MIN_COLUMN_PX
        scale = max(room, 0) / max(1, sum(widths[c] for c in flexible))
        widths.update({c: max(floor, int(widths[c] * scale)) for c in flexible})
    out = dict(config or {})
    for column, width in widths.items():
        given = out.get(column) or {}
        if given.get("width") is None:  # a width the page chose itself is kept
            out[column] = {**given, "width": width}
    return out
