"""The sample arena's phrase banks: subtopics with slot-filled query and answer templates, read
from the data files in `data/sample_arena/phrases/` (strings are data, not code)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CATEGORIES = ("knowledge", "task_execution", "advice", "chit_chat", "paralinguistic", "other")
MODALITIES = ("text_primary", "audio_primary")


@dataclass(frozen=True)
class Subtopic:
    """One fine-grained query topic: templates whose `{slots}` are filled from paired items.

    `queries` and `answers` use the keys of each item; an item is one consistent fact
    (so the good answer matches the question), `wrong` items give inaccurate answers.
    """

    name: str
    category: str
    queries: tuple[str, ...]
    answers: tuple[str, ...]
    items: tuple[dict[str, str], ...]
    modality: str = "text_primary"
    weight: float = 1.0

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"subtopic {self.name!r}: unknown category {self.category!r}")
        if self.modality not in MODALITIES:
            raise ValueError(f"subtopic {self.name!r}: unknown modality {self.modality!r}")
        if not (self.queries and self.answers and self.items):
            raise ValueError(f"subtopic {self.name!r}: needs queries, answers and items")


PHRASE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample_arena" / "phrases"


def load_phrases(name: str) -> dict[str, Any]:
    """One phrase file of the sample arena (`data/sample_arena/phrases/<name>.yaml`)."""
    path = PHRASE_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def subtopics(entries: list[dict[str, Any]]) -> tuple[Subtopic, ...]:
    """Subtopics from their file form: templates, plus `items` as rows of `keys`."""
    return tuple(
        Subtopic(
            entry["name"],
            entry["category"],
            queries=tuple(entry["queries"]),
            answers=tuple(entry["answers"]),
            items=tuple(dict(zip(entry["keys"], row, strict=True)) for row in entry["items"]),
            modality=entry.get("modality", "text_primary"),
            weight=float(entry.get("weight", 1.0)),
        )
        for entry in entries
    )


_common = load_phrases("common")
LEADS: tuple[str, ...] = tuple(_common["leads"])
TAILS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _common["tails"].items()}
DISFLUENCIES: tuple[str, ...] = tuple(_common["disfluencies"])

KNOWLEDGE = subtopics(load_phrases("knowledge")["subtopics"])
ADVICE = subtopics(load_phrases("advice")["subtopics"])
TASKS = subtopics(load_phrases("tasks")["subtopics"])
_social = load_phrases("social")
CHIT_CHAT = subtopics(_social["chit_chat"])
PARALINGUISTIC = subtopics(_social["paralinguistic"])
OTHER = subtopics(_social["other"])
_foreign = load_phrases("foreign")
LANGUAGE_NAMES: dict[str, str] = dict(_foreign["language_names"])
FOREIGN_LEADS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _foreign["leads"].items()}
FOREIGN: dict[str, tuple[Subtopic, ...]] = {
    language: subtopics(entries) for language, entries in _foreign["subtopics"].items()
}
