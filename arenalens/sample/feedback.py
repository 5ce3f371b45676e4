"""Voter feedback: varied wording for each flaw, about the rejected or preferred side, or both."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arenalens.sample.responses import FLAW_CODE, pick

# neg: predicate about the rejected side ("A ..."); pos: about the preferred side;
# bare: no side named (about the rejected one); tie: about both answers of a tie.
PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "detail_long": {
        "neg": (
            "was way too long",
            "rambled on forever",
            "went on and on",
            "talked way too much",
            "gave me a whole essay when I just wanted the answer",
            "was so long-winded",
            "had too much filler",
            "buried the answer in a wall of text",
            "over-explained everything",
            "took a paragraph to say one thing",
            "kept going after it answered",
        ),
        "pos": (
            "got straight to the point",
            "was short and sweet",
            "kept it brief",
            "didn't waste my time",
            "was concise",
            "gave just the answer without the fluff",
        ),
        "bare": (
            "too long",
            "way too wordy",
            "too much info, I just wanted the answer",
            "tl;dr",
            "too long, didn't need all that",
            "so much rambling",
        ),
        "tie": ("both were way too long", "they both rambled", "both answers were super wordy"),
    },
    "detail_short": {
        "neg": (
            "was way too short",
            "barely said anything",
            "gave me like one word",
            "didn't explain why",
            "needed more detail",
            "was too brief",
            "was so bare bones",
            "gave a one-liner with no context",
            "was too vague and thin",
            "left out all the details",
        ),
        "pos": (
            "actually explained it",
            "gave more detail",
            "went into more depth",
            "had way more info",
            "explained the reasoning",
            "was more thorough",
        ),
        "bare": (
            "not enough detail",
            "too short",
            "needed more explanation",
            "wanted more than one line",
        ),
        "tie": (
            "both were too short",
            "neither gave enough detail",
            "both answers were pretty thin",
        ),
    },
    "unhelpful": {
        "neg": (
            "didn't actually answer my question",
            "just said it couldn't help",
            "dodged the question",
            "was useless",
            "didn't help at all",
            "just told me to google it",
            "ignored what I asked",
            "gave a non-answer",
            "went off on something unrelated",
            "missed the point of my question",
            "asked me to repeat myself instead of answering",
        ),
        "pos": (
            "actually helped",
            "answered what I asked",
            "was actually useful",
            "gave me something I can use",
            "actually did the thing",
            "solved my problem",
        ),
        "bare": (
            "useless answer",
            "didn't answer the question",
            "not helpful",
            "that's not what I asked",
        ),
        "tie": ("neither one actually helped", "both dodged the question", "both were useless"),
    },
    "wrong_language": {
        "neg": (
            "answered in {rl} for some reason",
            "switched to {rl}",
            "responded in the wrong language",
            "replied in {rl} and I can't read that",
            "didn't use my language",
            "spoke {rl} to me??",
        ),
        "pos": (
            "answered in my language",
            "used the right language",
            "replied in the language I spoke",
            "stayed in my language",
        ),
        "bare": (
            "wrong language",
            "why is it in {rl}",
            "I asked in one language and got another back",
        ),
        "tie": ("both answered in the wrong language", "neither replied in my language"),
    },
    "rude": {
        "neg": (
            "was kinda rude",
            "was condescending",
            "had a snarky tone",
            "talked down to me",
            "was really disrespectful",
            "was kind of mean about it",
            "had an attitude",
        ),
        "pos": (
            "was polite",
            "had a nicer tone",
            "was respectful",
            "was friendlier in how it talked",
        ),
        "bare": ("rude tone", "so condescending", "the attitude was uncalled for"),
        "tie": ("both were a bit rude", "they both had an attitude"),
    },
    "too_formal": {
        "neg": (
            "was weirdly formal",
            "sounded like a legal letter",
            "used way too fancy words",
            "was stiff and overly formal",
            "talked like a government form",
        ),
        "pos": (
            "talked normally",
            "used casual everyday words",
            "had the right level of formality",
        ),
        "bare": (
            "too formal for a simple question",
            "way too stiff wording",
            "who talks like that, so formal",
        ),
        "tie": ("both were way too formal", "both used really stiff wording"),
    },
    "inaccurate": {
        "neg": (
            "got the facts wrong",
            "was just wrong",
            "made stuff up",
            "gave the wrong answer",
            "was incorrect",
            "had it wrong, I looked it up",
            "said something that isn't true",
            "got the numbers wrong",
            "mixed up the facts",
            "confidently said the wrong thing",
            "was off, that's not the right year",
        ),
        "pos": (
            "was actually correct",
            "got it right",
            "gave the right answer",
            "was accurate",
            "had the correct facts",
        ),
        "bare": ("that's wrong", "not correct", "pretty sure that's made up", "wrong answer"),
        "tie": ("both got it wrong", "neither was correct", "both made stuff up"),
    },
    "robotic": {
        "neg": (
            "sounded like a robot",
            "was so robotic",
            "had zero personality",
            "felt like talking to a machine",
            "kept saying it's an AI language model",
            "read like an instruction manual",
            "was stiff and unnatural",
            "had a flat monotone delivery",
            "sounded scripted",
            "talked like a customer service bot",
        ),
        "pos": (
            "sounded more natural",
            "felt like talking to a real person",
            "was more human",
            "had personality",
            "sounded like a friend",
        ),
        "bare": ("so robotic", "no personality", "felt fake and unnatural", "very bot-like"),
        "tie": ("both sounded like robots", "neither felt natural"),
    },
    "slow": {
        "neg": ("took forever to respond", "was super slow", "made me wait ages", "lagged a lot"),
        "pos": ("answered way faster", "was quicker", "responded right away"),
        "bare": ("too slow", "the wait was too long"),
        "tie": ("both took forever", "both were slow to respond"),
    },
    "audio_glitch": {
        "neg": (
            "cut out halfway",
            "had a glitch in the audio",
            "had crackly audio",
            "was too quiet to hear",
        ),
        "pos": ("played without glitches", "had clearer audio playback"),
        "bare": ("audio cut out", "the sound glitched", "couldn't hear it properly"),
        "tie": ("both had audio glitches", "the sound cut out on both"),
    },
    "whim": {
        "neg": ("just didn't do it for me", "was fine but meh"),
        "pos": ("just felt better", "was my gut pick"),
        "bare": ("no real reason", "just a gut feeling", "honestly a coin toss", "idk just vibes"),
        "tie": (
            "couldn't decide",
            "honestly a coin flip between them",
            "hard to pick between the two",
        ),
    },
}
SIDE_NAMES = {
    "a": (
        "A",
        "A",
        "a",
        "model A",
        "the first one",
        "the first answer",
        "response A",
        "option A",
        "the left one",
    ),
    "b": (
        "B",
        "B",
        "b",
        "model B",
        "the second one",
        "the second answer",
        "response B",
        "option B",
        "the right one",
    ),
}
OTHER_SIDE = ("the other one", "the other model", "the other answer")
PREFIXES = ("", "", "", "", "honestly ", "tbh ", "ok so ", "meh ", "well ", "I mean ", "hmm ")
PICK_PREFIXES = ("I picked {W} because ", "went with {W} since ", "chose {W}, ", "{W} wins, ")
CONNECTORS = (" and ", ". also ", ", plus ", ". ", " and also ", " + ", ", and ")
ENDINGS = ("", "", "", ".", ".", "!", " lol", " imo", "...", " smh")


@dataclass(frozen=True)
class CodeTarget:
    """One loss reason the feedback expresses: which side it is about and how."""

    code: str
    about: str  # "rejected" | "preferred" | "both"
    polarity: str  # "negative" | "positive"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "about": self.about, "polarity": self.polarity}


def _clause(
    flaw: str, winner_side: str | None, rng: np.random.Generator, slots: dict[str, str], first: bool
) -> tuple[str, list[CodeTarget]]:
    """One clause expressing `flaw`, with the targets it expresses."""
    phrases = PHRASES[flaw]
    code = FLAW_CODE[flaw]
    if winner_side is None:
        return pick(phrases["tie"], rng).format(**slots), [CodeTarget(code, "both", "negative")]
    loser_side = "b" if winner_side == "a" else "a"
    loser, winner = pick(SIDE_NAMES[loser_side], rng), pick(SIDE_NAMES[winner_side], rng)
    form = int(rng.choice(4, p=(0.45, 0.2, 0.2, 0.15)))
    if form == 0:
        text = f"{loser} {pick(phrases['neg'], rng)}"
        targets = [CodeTarget(code, "rejected", "negative")]
    elif form == 1:
        text = f"{winner} {pick(phrases['pos'], rng)}"
        targets = [CodeTarget(code, "preferred", "positive")]
    elif form == 2:
        text = f"{winner} {pick(phrases['pos'], rng)} but {pick(OTHER_SIDE, rng)} {pick(phrases['neg'], rng)}"
        targets = [
            CodeTarget(code, "preferred", "positive"),
            CodeTarget(code, "rejected", "negative"),
        ]
    else:
        text = pick(phrases["bare"], rng)
        targets = [CodeTarget(code, "rejected", "negative")]
    if first and form in (0, 2) and rng.random() < 0.25:
        text = pick(PICK_PREFIXES, rng).format(W=winner) + text
    return text.format(**slots), targets


def _typo(text: str, rng: np.random.Generator) -> str:
    """Swap or drop one letter inside a longer word (voters type fast)."""
    words = text.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word) >= 5 and word.isalpha()]
    if not candidates:
        return text
    index = candidates[int(rng.integers(len(candidates)))]
    word = words[index]
    pos = int(rng.integers(1, len(word) - 2))
    if rng.random() < 0.5:
        word = word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    else:
        word = word[:pos] + word[pos + 1 :]
    words[index] = word
    return " ".join(words)


def write_feedback(
    flaws: list[str], winner_side: str | None, rng: np.random.Generator, slots: dict[str, str]
) -> tuple[str, list[CodeTarget]]:
    """Feedback text expressing exactly these flaws (winner_side None for a tie)."""
    clauses, targets = [], []
    for index, flaw in enumerate(flaws):
        text, clause_targets = _clause(flaw, winner_side, rng, slots, first=index == 0)
        clauses.append(text)
        targets.extend(clause_targets)
    text = clauses[0]
    for clause in clauses[1:]:
        text += pick(CONNECTORS, rng) + clause
    text = pick(PREFIXES, rng) + text + pick(ENDINGS, rng)
    if rng.random() < 0.1:
        text = _typo(text, rng)
    if rng.random() < 0.35:
        text = text[:1].upper() + text[1:]
    return text, targets
