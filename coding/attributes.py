"""Documented rules that derive a code's side and polarity when the labeler gives none.

The offline embedding labeler only says which codes apply; these rules fill in the rest:

1. Side from an explicit mention, looked up first in the evidence quote and then in the
   sentence around it: "A"/"B", "response/model/answer/option A", "the first/second/left/right one"
   name a response, mapped to preferred/rejected through the vote; "the winner",
   "this one" mean the preferred one; "the loser", "the other one" the rejected one.
2. Polarity from cue words in the evidence: praise ("better", "clear", "natural") counts
   positive, criticism ("too", "wrong", "robotic", negations) negative; the larger count wins.
3. What is still missing follows the vote: an explanation praises the winner or faults the
   loser, so positive -> preferred and negative -> rejected, preferred -> positive and
   rejected -> negative; with nothing at all to go on, a loss reason is a criticism of the
   rejected response. On a tie there is no preferred or rejected response: side is "both".
"""

from __future__ import annotations

import re

_NOUNS = r"(?:one|response|answer|model|reply|voice|assistant)"
MENTION_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"\b(?:response|model|answer|option|assistant|voice|system|reply)\s+(A|1)\b", re.I
        ),
        "a",
    ),
    (
        re.compile(
            r"\b(?:response|model|answer|option|assistant|voice|system|reply)\s+(B|2)\b", re.I
        ),
        "b",
    ),
    (re.compile(rf"\b(?:the\s+)?first\s+{_NOUNS}\b", re.I), "a"),
    (re.compile(rf"\b(?:the\s+)?second\s+{_NOUNS}\b", re.I), "b"),
    (re.compile(rf"\bthe\s+left\s+{_NOUNS}\b", re.I), "a"),
    (re.compile(r"\bthe\s+right\s+one\b", re.I), "b"),
    (re.compile(r"\bB\b"), "b"),
    (
        re.compile(
            r"(?:^|[.!?,;]\s*|\band\s+|\bbut\s+|\bbecause\s+|\bsince\s+)b\b(?=\s+(?:was|is|had|has|gave|sounded|got|did|didn|felt|just|said|answered|seemed|kept|actually|also|could|would|never|really|only))"
        ),
        "b",
    ),
    (
        re.compile(
            r"\bA\b(?=\s+(?:was|is|had|has|gave|sounded|sounds|got|did|didn|felt|feels|just|said|answered|seemed|seems|made|kept|went|missed|used|actually|also|wins|won|understood|explained|talked|spoke|responded|could|would|couldn|wouldn|doesn|does|isn|wasn|never|really|clearly|only)\b|\s*[,.!?;:)]|\s*$)"
        ),
        "a",
    ),
    (
        re.compile(
            r"(?:\bthan|\band|\bbut|\bwhile|\bwhereas|\blike|\bprefer|\bpreferred|\bchose|\bpicked|\bwith|,)\s+A\b"
        ),
        "a",
    ),
    (
        re.compile(
            r"\b(?:chose|picked|preferred|prefer|went with)\s+a\b(?=\s*(?:because|since|as\b|,|\.|!|$))",
            re.I,
        ),
        "a",
    ),
    (
        re.compile(
            r"\b(?:the\s+)?winner\b|\bthis\s+one\b|\bthe\s+one\s+i\s+(?:chose|picked|voted)", re.I
        ),
        "preferred",
    ),
    (
        re.compile(r"\b(?:the\s+)?loser\b|\bthe\s+other\s+(?:one|response|answer|model)?", re.I),
        "rejected",
    ),
    (re.compile(r"\b(?:both|neither|they\s+both|either\s+of\s+them)\b", re.I), "both"),
)

POSITIVE_CUES = (
    "better",
    "best",
    "good",
    "great",
    "clear",
    "clearer",
    "natural",
    "helpful",
    "useful",
    "correct",
    "accurate",
    "right",
    "detailed",
    "thorough",
    "complete",
    "friendly",
    "warm",
    "liked",
    "love",
    "loved",
    "nice",
    "polite",
    "engaging",
    "human",
    "concise",
    "relevant",
    "actually answered",
    "spot on",
    "perfect",
    "more",
    "well",
    "easy",
    "smooth",
    "personable",
    "conversational",
)
NEGATIVE_CUES = (
    "not",
    "n't",
    "no ",
    "never",
    "too ",
    "wrong",
    "lack",
    "lacked",
    "missing",
    "missed",
    "failed",
    "robotic",
    "rude",
    "boring",
    "worse",
    "worst",
    "less",
    "hard",
    "confus",
    "bad",
    "poor",
    "useless",
    "irrelevant",
    "incorrect",
    "vague",
    "generic",
    "awkward",
    "monotone",
    "stiff",
    "unnatural",
    "cold",
    "off",
    "mistake",
    "error",
    "made up",
    "hallucinat",
    "rambl",
    "short",
    "brief",
    "shallow",
    "condescending",
    "weird",
    "strange",
    "scripted",
    "flat",
    "ignored",
    "dodged",
    "refused",
    "misheard",
    "misunderstood",
    "barely",
    "only",
)


def _sentence_around(text: str, quote: str) -> str:
    start = text.find(quote)
    if start < 0:
        return quote
    left = max(text.rfind(p, 0, start) for p in ".!?\n")
    ends = [i for i in (text.find(p, start + len(quote)) for p in ".!?\n") if i >= 0]
    return text[left + 1 : (min(ends) + 1) if ends else len(text)]


def find_mention(text: str) -> str | None:
    """The first response mentioned in `text`: 'a', 'b', 'preferred', 'rejected' or None."""
    best: tuple[int, str] | None = None
    for pattern, target in MENTION_PATTERNS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), target)
    return best[1] if best else None


def cue_polarity(text: str) -> str | None:
    """'positive' or 'negative' by counting cue words, None on a draw."""
    lowered = f" {text.lower()} "
    positive = sum(lowered.count(cue) for cue in POSITIVE_CUES)
    negative = sum(lowered.count(cue) for cue in NEGATIVE_CUES)
    if positive == negative:
        return None
    return "positive" if positive > negative else "negative"


def mention_to_side(mention: str | None, winner: str | None) -> str | None:
    """Map a mention ('a'/'b'/'preferred'/'rejected') to preferred/rejected through the vote."""
    if mention in ("preferred", "rejected", "both"):
        return mention
    if mention is None or winner not in ("model_a", "model_b"):
        return None
    return "preferred" if (mention == "a") == (winner == "model_a") else "rejected"


def derive_side_polarity(
    feedback: str,
    evidence: str,
    winner: str | None,
    side: str | None = None,
    polarity: str | None = None,
) -> tuple[str, str]:
    """Fill in side and polarity (keeping any the labeler gave) by the rules of this module."""
    is_tie = winner not in ("model_a", "model_b")
    if side is None:
        if is_tie:
            side = "both"
        else:
            mention = find_mention(evidence) or find_mention(_sentence_around(feedback, evidence))
            side = mention_to_side(mention, winner)
    if polarity is None:
        polarity = cue_polarity(evidence) or cue_polarity(_sentence_around(feedback, evidence))
    if side is None:
        side = "preferred" if polarity == "positive" else "rejected"
    if polarity is None:
        polarity = "positive" if side == "preferred" else "negative"
    return side, polarity
