"""Plain words for what people read: one mapping from the codes, categories, modalities and
statistics the stages store to display names (with a one-line definition for hover), plus the
small formatters every page, CLI table and export shares (plurals, dates, empty values).

Pure functions, no I/O: the dashboard, the CLI and CSV exports call these so a name reads the
same everywhere ("Task execution", not "task_execution"; "bias-corrected share", not
"ppi_rate")."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

EMPTY = "—"

# Words kept in their own casing when a snake_case name is turned into words.
_ACRONYMS = {"llm": "LLM", "asr": "ASR", "id": "id", "ci": "CI", "sd": "SD", "vif": "VIF"}

#: names whose generic "underscores to spaces" reading would be wrong or unclear
NAMES: dict[str, str] = {
    "text_primary": "Text-primary",
    "audio_primary": "Audio-primary",
    "chit_chat": "Chit-chat",
    "human_likeness": "Human-likeness",
    "model_a": "A preferred",
    "model_b": "B preferred",
    "tie": "Tie",
    "uncategorised": "Uncategorised",
    # fields of a vote (issue 26) as a slice or a control is named
    "output_modality": "Answer form",
    "turn_depth": "Turn",
    "answer_duration_s": "Answer duration (seconds)",
    "speaking_rate_wps": "Speaking rate (words per second)",
    "time_to_first_audio_s": "Time to first audio (seconds)",
}

#: a field's stored values in words, where the value alone would be unclear ('text')
VALUE_NAMES: dict[str, dict[str, str]] = {
    "output_modality": {"text": "Text answers (read)", "speech": "Spoken answers (heard)"},
}


def display_value(field: str, value: object) -> str:
    """A stored value of `field` in words: ('output_modality', 'speech') -> 'Spoken answers
    (heard)'; a value without its own name reads as `display_name` gives it."""
    names = VALUE_NAMES.get(field, {})
    return names.get(str(value), display_name(value)) if not is_empty(value) else EMPTY


def display_name(value: object) -> str:
    """A stored code, category, modality or vote in plain words: 'task_execution' ->
    'Task execution', 'text_primary' -> 'Text-primary'; empty -> '—'."""
    if is_empty(value):
        return EMPTY
    text = str(value)
    if text in NAMES:
        return NAMES[text]
    if not re.fullmatch(r"[a-z0-9]+(?:_[a-z0-9]+)+|[a-z][a-z0-9]*", text):
        return text  # already words (a model or cluster name): shown as given
    words = [_ACRONYMS.get(w, w) for w in text.split("_")]
    first = words[0]
    words[0] = first if first in _ACRONYMS.values() else first[:1].upper() + first[1:]
    return " ".join(words)


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


# -- statistics: column name -> (heading, one-line definition for hover) ----------------
STATISTICS: dict[str, tuple[str, str]] = {
    "machine_rate": (
        "machine share",
        "Share of feedback items the machine coder gave this reason.",
    ),
    "machine_low": ("machine CI low", "Lower end of the machine share's 95% Wilson interval."),
    "machine_high": ("machine CI high", "Upper end of the machine share's 95% Wilson interval."),
    "ppi_rate": (
        "bias-corrected share",
        "The machine share corrected by the items people validated (prediction-powered "
        "inference); empty until enough items are validated.",
    ),
    "ppi_low": ("bias-corrected CI low", "Lower end of the bias-corrected share's 95% interval."),
    "ppi_high": ("bias-corrected CI high", "Upper end of the bias-corrected share's 95% interval."),
    "n_items": ("feedback items", "Feedback items in this group."),
    "n_validated": (
        "validated by people",
        "Items in this group with a human label (annotated or adjudicated).",
    ),
    "odds_ratio_per_sd": (
        "odds ratio per SD",
        "How much the odds of winning multiply when this control's A-minus-B difference grows "
        "by one standard deviation (1 = no effect).",
    ),
    "coefficient": ("coefficient", "Log-odds of winning per SD of the A-minus-B difference."),
    "covariate": ("control", "What the rating is controlled for."),
    "ci_low": ("CI low", "Lower end of the 95% confidence interval."),
    "ci_high": ("CI high", "Upper end of the 95% confidence interval."),
    "kappa": (
        "Cohen's κ",
        "Agreement between the machine and people beyond chance: 1 perfect, 0 chance, below 0 "
        "worse than chance.",
    ),
    "kappa_low": ("κ CI low", "Lower end of κ's 95% bootstrap interval."),
    "kappa_high": ("κ CI high", "Upper end of κ's 95% bootstrap interval."),
    "human_alpha": (
        "people's agreement (α)",
        "Krippendorff's α among annotators on items two or more people coded: 1 perfect, 0 chance.",
    ),
    "n": ("items", "Items with both a machine code and a human label."),
    "percent_agreement": ("% agreement", "Share of items where the machine and people agree."),
    "precision": ("precision", "Of the items the machine coded, the share people coded too."),
    "recall": ("recall", "Of the items people coded, the share the machine coded too."),
    "human_rate": ("people's share", "Share of items people gave this reason."),
    "human_percent_agreement": (
        "people's % agreement",
        "Share of items two or more people coded on which they all agree.",
    ),
    "n_double_coded": ("items coded twice", "Items two or more annotators coded."),
    "side_agreement": (
        "side agreement",
        "Where both say present: share agreeing on which side of the vote it is about.",
    ),
    "polarity_agreement": (
        "polarity agreement",
        "Where both say present: share agreeing on whether it is praise or criticism.",
    ),
    "r2_strength": (
        "Held-out strength R²",
        "How well benchmarks predict a model's arena strength when that model is left out of "
        "the fit: 1 perfect, 0 no better than the average, below 0 worse than the average.",
    ),
    "r2_votes": (
        "Predictive R² (votes)",
        "Share of the uncertainty in held-out votes the benchmarks explain beyond which side a "
        "model was on.",
    ),
    "p_value": (
        "p-value",
        "Chance of a fit at least this good if benchmark scores had nothing to do with "
        "preference (small = unlikely to be luck).",
    ),
    "tau": (
        "Kendall τ",
        "Rank agreement between a benchmark's order of models and the arena's: 1 same order, "
        "0 unrelated, −1 reversed.",
    ),
    "win_rate": ("share won", "Share of battles won, ties counting half."),
    "rating": ("rating", "Bradley–Terry rating on the Elo scale (higher = preferred more often)."),
    "votes": ("votes", "Votes the model took part in."),
    "last_saved_at": ("last saved", "When this annotator last saved an answer."),
    "started_at": ("started", "When the run started."),
    "finished_at": ("finished", "When the run finished."),
    "slice_value": ("slice", "The category (or language, loss reason) of this board."),
    "parent_name": ("parent", "The parent cluster this cluster belongs to."),
    "cluster_id": ("cluster", "The cluster's number in this taxonomy run."),
    "interaction_id": ("interaction", "The vote's interaction id."),
    "feedback_id": ("feedback item", "The feedback item's id."),
    "model_a": ("model A", "The model on side A."),
    "model_b": ("model B", "The model on side B."),
    "rejected_model": ("model that lost", "The model the voter did not prefer."),
    "preferred_model": ("model that won", "The model the voter preferred."),
    "output_modality": (
        "answer form",
        "Spoken when both answers were heard as audio, else text (read).",
    ),
    "turn_depth": ("turn", "The vote's turn in its conversation (1 for a single-turn vote)."),
    "query_share": (
        "share of queries",
        "Every query counts, each turn of a conversation included.",
    ),
    "conversation_share": (
        "share of conversations",
        "Each conversation counts once, by the use case of its first turn (a single-turn query "
        "is a conversation of one turn).",
    ),
    "answer_duration_s": ("answer duration (s)", "Seconds the spoken answer lasts."),
    "speaking_rate_wps": (
        "speaking rate (words/s)",
        "Words of the spoken answer's transcript per second of audio.",
    ),
    "time_to_first_audio_s": (
        "time to first audio (s)",
        "Seconds from the end of the question to the first sound of the answer.",
    ),
}


def statistic_label(column: str) -> str:
    """The heading for a stored column name ('ppi_rate' -> 'bias-corrected share'); other
    snake_case names become words."""
    if column in STATISTICS:
        return STATISTICS[column][0]
    return column.replace("_", " ") if "_" in column else column


def statistic_help(column: str) -> str | None:
    """The one-line definition of a stored column, or None."""
    entry = STATISTICS.get(column)
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
