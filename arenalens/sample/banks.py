"""Shared structure of the phrase banks: subtopics with slot-filled query and answer templates."""

from __future__ import annotations

from dataclasses import dataclass

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


def rows(keys: str, *values: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    """Items from a space-separated key list and value tuples (compact bank notation)."""
    names = keys.split()
    for value in values:
        if len(value) != len(names):
            raise ValueError(f"item {value!r} does not match keys {names}")
    return tuple(dict(zip(names, value, strict=True)) for value in values)


# Spoken openers and closers, per category; "" repeated to keep many queries unadorned.
LEADS = (
    "",
    "",
    "",
    "",
    "",
    "um ",
    "uh ",
    "hey ",
    "hey so ",
    "so ",
    "so like ",
    "okay so ",
    "okay um ",
    "alright ",
    "hmm ",
    "yo ",
    "hi ",
    "hey there ",
    "quick question, ",
    "oh and ",
    "wait ",
    "right so ",
    "um so ",
    "hey um ",
    "okay ",
    "so um ",
    "ok ",
    "hello ",
    "hi there, ",
)
TAILS: dict[str, tuple[str, ...]] = {
    "knowledge": (
        "",
        "",
        "",
        "?",
        "?",
        " if you know",
        " I always forget",
        " I'm curious",
        " my friend and I were arguing about it",
        " real quick",
        " thanks",
        " haha",
    ),
    "task_execution": (
        "",
        "",
        "",
        " please",
        " thanks",
        " real quick",
        ", thank you",
        " please and thanks",
    ),
    "advice": (
        "",
        "",
        "",
        "?",
        " any tips",
        " what do you think",
        " I'm kinda stuck",
        " thanks in advance",
        " be honest",
        " I really need help",
    ),
    "chit_chat": ("", "", "", "?", " haha", " lol", " hehe", " just curious"),
    "paralinguistic": ("", "", "", "?", " be honest", " haha", " please", " no pressure"),
    "other": ("", "", "", "?", "..."),
}
DISFLUENCIES = ("um", "uh", "like", "you know", "I mean")
