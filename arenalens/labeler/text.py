"""Text helpers shared by the labelers: clause spans and verbatim evidence quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sentence ends, then clause breaks inside a sentence (commas, semicolons, contrastive joins).
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CLAUSE_BREAK = re.compile(
    r",\s+|\s+-+\s+|\s+(?=(?:but|although|though|while|whereas|however|and(?=\s+(?:also|then|it|they|he|she|this|that|the|its|[A-Z])\b)|plus)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
#: Labelers read at most this many characters of a text (its start): a 50 MB feedback text is
#: coded from its first pages, in bounded time and memory, like any other.
MAX_LABELLED_CHARS = 4000
_MIN_CLAUSE_WORDS = 2


@dataclass(frozen=True)
class Span:
    """A verbatim piece of a text: `text[start:end]`."""

    start: int
    end: int
    text: str


def _strip_span(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    left = len(piece) - len(piece.lstrip(" \t\n\r,;:-"))
    right = len(piece.rstrip(" \t\n\r,;:-"))
    if right <= left:
        return None
    return Span(start + left, start + right, piece[left:right])


def _split(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[Span]:
    spans: list[Span] = []
    cursor = start
    for match in pattern.finditer(text, start, end):
        span = _strip_span(text, cursor, match.start())
        if span:
            spans.append(span)
        cursor = match.end()
    span = _strip_span(text, cursor, end)
    if span:
        spans.append(span)
    return spans


def clause_spans(text: str, with_sentences: bool = True) -> list[Span]:
    """Sentences and the clauses inside them, each a verbatim substring of `text`.

    Sentences come first; clauses of two or more words follow when a sentence has several.
    A text with no sentence break yields itself (stripped).
    """
    spans: list[Span] = []
    seen: set[tuple[int, int]] = set()
    for sentence in _split(text, 0, len(text), _SENTENCE_END):
        clauses = _split(text, sentence.start, sentence.end, _CLAUSE_BREAK)
        if (sentence.start, sentence.end) not in seen and (with_sentences or len(clauses) < 2):
            spans.append(sentence)
            seen.add((sentence.start, sentence.end))
        if len(clauses) < 2:
            continue
        for clause in clauses:
            if len(_WORD.findall(clause.text)) < _MIN_CLAUSE_WORDS:
                continue
            if (clause.start, clause.end) not in seen:
                spans.append(clause)
                seen.add((clause.start, clause.end))
    return spans


def _normalise(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def verbatim_evidence(quote: str, text: str, *, snap_paraphrase: bool = True) -> str:
    """`quote` as it appears in `text` (ignoring surrounding quotes and case).

    A paraphrase is snapped to the clause of `text` sharing most words with it when
    `snap_paraphrase`, else returned unchanged so the caller's verbatim check rejects it.
    """
    quote = quote.strip().strip("\"“”'")
    if quote and quote in text:
        return quote
    if quote:
        lowered = text.lower().find(quote.lower())
        if lowered >= 0:
            return text[lowered : lowered + len(quote)]
    if not snap_paraphrase:
        return quote
    spans = clause_spans(text)
    if not spans:
        return text.strip()
    wanted = set(_normalise(quote).split())
    if not wanted:
        return spans[0].text

    def overlap(span: Span) -> tuple[float, int]:
        words = set(_normalise(span.text).split())
        return (len(words & wanted) / (len(words | wanted) or 1), -len(span.text))

    return max(spans, key=overlap).text
