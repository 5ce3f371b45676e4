"""Command output shared by every command: JSON for machines (`--json` flags keep the stored
names), aligned plain-text tables for people (the display mapping's words, never
`snake_case`, `None` or a Python list)."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import click

from arenalens import display

NOTHING = "(none)"


def echo_json(payload: object) -> None:
    """Print one JSON object (the machine-readable contract of --json flags)."""
    click.echo(json.dumps(payload, indent=2, default=str))


def cell_text(value: Any, *, name: bool = False, percent: bool = False, digits: int = 3) -> str:
    """One value as people read it: '—' when empty, yes/no, thousands separated counts,
    `digits` decimals (or a percentage), dates human, lists as words; `name`: a stored code,
    category or modality in plain words."""
    if isinstance(value, (list, tuple, set)):
        return display.join_words(cell_text(v, name=name) for v in value) if value else "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{cell_text(k, name=name)} {cell_text(v)}" for k, v in value.items())
    if display.is_empty(value):
        return display.EMPTY
    if type(value).__name__ in ("bool", "bool_"):  # numpy's too
        return "yes" if value else "no"
    if isinstance(value, (datetime, date)) or type(value).__name__ == "Timestamp":
        return display.human_date(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isinf(number):
            return "∞" if number > 0 else "−∞"
        return f"{number:.1%}" if percent else f"{number:.{digits}f}"
    return display.display_name(value) if name else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and type(value).__name__ not in ("bool", "bool_")


def text_table(
    frame: Any,
    *,
    names: Iterable[str] = (),
    percent: Iterable[str] = (),
    digits: Mapping[str, int] | int = 3,
    headings: Mapping[str, str] | None = None,
    empty: str = NOTHING,
) -> str:
    """A DataFrame as an aligned table for a terminal: headings in plain words (the display
    mapping), the `names` columns (codes, categories, modality, stage) in words, `percent`
    columns as percentages, other numbers with `digits` decimals, dates human and '—' for
    empty cells; numbers right-aligned. `empty` when the frame has no rows."""
    if frame is None or len(frame) == 0:
        return empty
    names, percent = set(names), set(percent)
    columns = [str(c) for c in frame.columns]
    titles = display.rename_columns(columns, headings)
    rows: list[list[str]] = []
    numeric = dict.fromkeys(columns, True)
    for record in frame.itertuples(index=False, name=None):
        row = []
        for column, value in zip(columns, record, strict=True):
            places = digits.get(column, 3) if isinstance(digits, Mapping) else digits
            if column.endswith("_at") and not display.is_empty(value):
                text = display.human_date(value)
            else:
                text = cell_text(
                    value, name=column in names, percent=column in percent, digits=places
                )
            if not display.is_empty(value) and not _is_number(value):
                numeric[column] = False
            row.append(text)
        rows.append(row)
    widths = [max(len(titles[c]), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(width) if numeric[column] else cell.ljust(width)
            for cell, width, column in zip(cells, widths, columns, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line([titles[c] for c in columns]), *(line(r) for r in rows)])


def with_intervals(frame: Any, columns: Mapping[str, tuple[str, str]], digits: int = 2) -> Any:
    """A copy of `frame` where each estimate column holds 'estimate (low to high)' as text and
    its interval columns are gone (`columns`: estimate -> (low column, high column))."""
    out = frame.copy()
    for estimate, (low, high) in columns.items():
        if estimate not in out or low not in out or high not in out:
            continue
        out[estimate] = [
            display.EMPTY
            if display.is_empty(value)
            else (
                f"{value:.{digits}f}"
                if display.is_empty(lo) or display.is_empty(hi)
                else f"{value:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})"
            )
            for value, lo, hi in zip(out[estimate], out[low], out[high], strict=True)
        ]
        out = out.drop(columns=[low, high])
    return out


def echo_table(frame: Any, **options: Any) -> None:
    """Print `text_table(frame, **options)`."""
    click.echo(text_table(frame, **options))
