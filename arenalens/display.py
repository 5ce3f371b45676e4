"""Plain words for what people read: one mapping from the codes, categories, modalities and
statistics the stages store to display names (with a one-line definition for hover), plus the
small formatters every page, CLI table and export shares (plurals, dates, empty values).

The words themselves are data (data/display.yaml, read once per process); the rest are pure
functions. The dashboard, the CLI and CSV exports call these so a name reads the same
everywhere ("Task execution", not "task_execution"; "bias-corrected share", not "ppi_rate")."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

EMPTY = "—"

# Words kept in their own casing when a snake_case name is turned into words.
_ACRONYMS = {"llm": "LLM", "asr": "ASR", "id": "id", "ci": "CI", "sd": "SD", "vif": "VIF"}

DATA_FILE = Path(__file__).resolve().parents[1] / "data" / "display.yaml"


@cache
def _mapping() -> tuple[
    dict[str, str], dict[str, tuple[str, str]], dict[str, str], dict[str, dict[str, str]]
]:
    """(names, statistics, stages, value names) from the shipped data file, read once per
    process."""
    from arenalens.datafiles import read_yaml
    from arenalens.errors import ArenalensError

    data = read_yaml(DATA_FILE, ArenalensError, "display names file") or {}
    names = {str(k): str(v) for k, v in (data.get("names") or {}).items()}
    statistics = {
        str(column): (str(entry["heading"]), " ".join(str(entry["definition"]).split()))
        for column, entry in (data.get("statistics") or {}).items()
    }
    stages = {str(k): str(v) for k, v in (data.get("stages") or {}).items()}
    values = {
        str(field): {str(k): str(v) for k, v in (entries or {}).items()}
        for field, entries in (data.get("values") or {}).items()
    }
    return names, statistics, stages, values


def display_value(field: str, value: object) -> str:
    """A stored value of `field` in words: ('output_modality', 'speech') -> 'Spoken answers
    (heard)'; a value without its own name reads as `display_name` gives it."""
    names = _mapping()[3].get(field, {})
    return names.get(str(value), display_name(value)) if not is_empty(value) else EMPTY


def display_name(value: object) -> str:
    """A stored code, category, modality or vote in plain words: 'task_execution' ->
    'Task execution', 'text_primary' -> 'Text-primary'; empty -> '—'."""
    if is_empty(value):
        return EMPTY
    text = str(value)
    names = _mapping()[0]
    if text in names:
        return names[text]
    if not re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+|[a-z][a-z0-9]*", text):
        return text  # already words (a model or cluster name): shown as given
    words = [_ACRONYMS.get(w, w) for w in text.split("_")]
    first = words[0]
    words[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


def stage_name(stage: object) -> str:
    """A stage's run name in words: 'coding.sample' -> 'Annotation sample'."""
    if is_empty(stage):
        return EMPTY
    return _mapping()[2].get(str(stage)) or display_name(str(stage).replace(".", "_"))


def benchmark_label(name: str) -> str:
    """A benchmark key in words: 'SLURP:Intent Detection' -> 'Intent Detection (SLURP)'."""
    dataset, sep, task = str(name).partition(":")
    if not sep or not task:
        return str(name).replace("_", " ")
    return f"{task} ({dataset.replace('_', ' ')})"


def join_words(values: Iterable[object]) -> str:
    """Names as one readable list, each as given: 'a, b and c' (not a Python list)."""
    names = [str(v) for v in values]
    if not names:
        return EMPTY
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def display_names(values: Iterable[object]) -> str:
    """Stored codes or categories as one readable list: 'Accuracy, Detail and Language'."""
    return join_words(display_name(v) for v in values)


# -- statistics: column name -> (heading, one-line definition for hover), from the data file
def statistic_label(column: str) -> str:
    """The heading for a stored column name ('ppi_rate' -> 'bias-corrected share'); other
    snake_case names become words."""
    statistics = _mapping()[1]
    if column in statistics:
        return statistics[column][0]
    return column.replace("_", " ") if "_" in column else column


def statistic_help(column: str) -> str | None:
    """The one-line definition of a stored column, or None."""
    entry = _mapping()[1].get(column)
    return entry[1] if entry else None


# -- numbers, counts, dates, empties ----------------------------------------------------
def plural(count: int | float, singular: str, plural_form: str | None = None) -> str:
    """'1 vote', '2 votes', '1,204 validated items' (thousands separated)."""
    number = int(count) if float(count).is_integer() else count
    word = singular if number == 1 else (plural_form or _plural_of(singular))
    return f"{number:,} {word}"


def _plural_of(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if re.search(r"(s|x|z|ch|sh)$", last):
        last += "es"
    elif re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def is_empty(value: object) -> bool:
    """None, NaN/NaT and blank strings are empty."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if not type(value).__module__.startswith(("pandas", "numpy")):
        return False  # plain values need no pandas (the status command starts without it)
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def or_dash(value: object, reason: str | None = None) -> str:
    """The value as text, or '—' (with the reason: '— (no validated items)') when empty."""
    if is_empty(value):
        return f"{EMPTY} ({reason})" if reason else EMPTY
    return str(value)


def human_date(value: object, *, seconds: bool = False) -> str:
    """'2026-12-06 23:02:13.315118' -> '6 Dec 2026, 23:02' (UTC as stored); empty -> '—'."""
    if is_empty(value):
        return EMPTY
    moment: datetime | date
    if isinstance(value, (datetime, date)):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if not isinstance(moment, datetime):
        return f"{moment.day} {moment:%b %Y}"
    clock = "%H:%M:%S" if seconds else "%H:%M"
    return f"{moment.day} {moment:%b %Y}, {moment.strftime(clock)}"


def human_number(value: object, spec: str = ".2f") -> str:
    """A number in `spec`, or '—' when missing."""
    if is_empty(value):
        return EMPTY
    return format(float(value), spec)  # type: ignore[arg-type]


def share_with_ci(rate: object, low: object, high: object, spec: str = ".0%") -> str:
    """A share with its 95% interval in one cell: '37% (34–40%)'; '—' when missing."""
    if is_empty(rate):
        return EMPTY
    if is_empty(low) or is_empty(high):
        return format(float(rate), spec)  # type: ignore[arg-type]
    return f"{float(rate):{spec}} ({float(low):{spec}}–{float(high):{spec}})"  # type: ignore[arg-type]


def readable_p(value: object) -> str:
    """A p-value as people read it: 'p < 0.001', '0.16', '0.042'; '—' when missing."""
    if is_empty(value):
        return EMPTY
    p = float(value)  # type: ignore[arg-type]
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def rename_columns(columns: Iterable[str], extra: Mapping[str, str] | None = None) -> dict:
    """column -> heading for a table shown to people (stored names -> plain words)."""
    extra = dict(extra or {})
    return {c: extra.get(c, statistic_label(c)) for c in columns}


def readable_frame(
    frame: Any, *, names: Iterable[str] = (), extra: Mapping[str, str] | None = None
):
    """A copy of a DataFrame for people: the `names` columns (codes, categories, modality,
    votes) in plain words, date columns human, headings in plain words."""
    out = frame.copy()
    for column in names:
        if column in out:
            out[column] = out[column].map(display_name)
    for column in out.columns:
        if str(column).endswith("_at"):
            out[column] = out[column].map(human_date)
    return out.rename(columns=rename_columns(out.columns, extra))
