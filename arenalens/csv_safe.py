"""The one CSV writer for every export and download: no cell a spreadsheet would run as a formula.

OWASP's rule for CSV injection: a text cell starting with `=`, `+`, `-`, `@`, a tab or a
carriage return gets a leading apostrophe, which spreadsheets show as text. Numbers stay
numbers (-1.5 in a numeric column is written as -1.5); only text is escaped, so the text "-5"
becomes "'-5". A text that already looks escaped (an apostrophe before one of those, or before
another such apostrophe) gets one more, so `restore_cell` undoes exactly what `safe_cell` added
and our own exports import back unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def _looks_escaped(text: str) -> bool:
    """Whether `text` is what `safe_cell` makes of some text: an apostrophe before a formula
    lead or before another escaped-looking text."""
    depth = 0
    while text[depth : depth + 1] == "'":
        depth += 1
    return depth > 0 and text[depth : depth + 1] in FORMULA_LEADS


def safe_cell(value: Any) -> Any:
    """`value` with a leading apostrophe if it is text a spreadsheet would run as a formula
    (or text that would otherwise read back as escaped); anything else unchanged."""
    if isinstance(value, str) and (value[:1] in FORMULA_LEADS or _looks_escaped(value)):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """The original text of a cell `safe_cell` wrote (its one added apostrophe removed)."""
    if isinstance(value, str) and _looks_escaped(value):
        return value[1:]
    return value


def restore_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A row read back from one of our CSV files, each cell as it was before writing."""
    return {key: restore_cell(value) for key, value in record.items()}


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with its text cells (and text inside lists) made `safe_cell`."""
    out = frame.copy()
    for position in range(out.shape[1]):  # by position: column names may repeat
        values = out.iloc[:, position]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        out.isetitem(position, values.map(_safe_value).astype(object))
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def _safe_value(value: Any) -> Any:
    if isinstance(value, (list, tuple)):  # written as its text form, which starts with "["
        return safe_cell(", ".join(str(v) for v in value))
    return safe_cell(value)


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index), formula-leading text cells escaped."""
    return safe_frame(frame).to_csv(index=False)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write `frame` to `path` as UTF-8 CSV (no index), formula-leading text cells escaped."""
    Path(path).write_text(csv_text(frame), encoding="utf-8", newline="")


def write_rows(
    path: str | Path, fieldnames: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> int:
    """Write dict rows under `fieldnames` to `path` (UTF-8), every cell through `safe_cell`."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fieldnames))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: safe_cell(value) for key, value in row.items()})
            count += 1
    return count


def formula_cells(text: str) -> int:
    """How many cells of CSV `text` a spreadsheet would run as a formula (0 for our files)."""
    return sum(
        1
        for row in csv.reader(io.StringIO(text))
        for cell in row
        if cell[:1] in FORMULA_LEADS and not _is_number(cell)
    )


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
