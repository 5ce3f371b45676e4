"""System responses: a good answer in the system's style, or one with a named flaw."""

from __future__ import annotations

import re
import string

import numpy as np

from arenalens.sample.banks import LANGUAGE_NAMES, Subtopic
from arenalens.sample.systems import System

# Flaw -> the loss-reason code whose feedback describes it.
FLAW_CODE = {
    "detail_long": "detail",
    "detail_short": "detail",
    "unhelpful": "helpfulness",
    "wrong_language": "language",
    "rude": "language",
    "too_formal": "language",
    "inaccurate": "accuracy",
    "robotic": "human_likeness",
    "slow": "other",
    "audio_glitch": "other",
    "whim": "other",
}
FLAWS_BY_CODE: dict[str, tuple[str, ...]] = {}
for _flaw, _code in FLAW_CODE.items():
    FLAWS_BY_CODE[_code] = (*FLAWS_BY_CODE.get(_code, ()), _flaw)

PADDING = (
    "There are a few things worth keeping in mind here.",
    "It's also worth noting that the context matters quite a bit.",
    "To give you the full picture, let me walk through some background first.",
    "People have looked at this from many different angles over the years.",
    "Of course, everyone's situation is a little different.",
    "One more consideration is how this applies to your own circumstances.",
    "In addition, there are several related points that may interest you.",
    "Let me also mention a few exceptions and edge cases.",
    "Another angle to consider is the historical perspective.",
    "Finally, it may help to think about the bigger picture.",
    "Many sources describe this in slightly different ways.",
    "It is important to understand the underlying details as well.",
)
UNHELPFUL = (
    "I'm sorry, I can't help with that.",
    "I'm not sure what you mean. Could you rephrase?",
    "That's an interesting question. There are many possible answers.",
    "You might want to search online for that.",
    "I don't have enough information to answer.",
    "Could you repeat the question?",
    "It depends on many factors.",
    "I'm just an assistant, so I can't really say.",
)
AUDIO_BLIND = (
    "I can only read the transcript of what you said, so I can't hear your voice.",
    "Sorry, I can't hear audio; I only get the text of what you say.",
    "I'm unable to analyse sound. Please type your question instead.",
)
FOREIGN_REPLIES = {
    "es": ("Claro, te ayudo con eso.", "Lo siento, aquí tienes la respuesta.", "¡Buena pregunta!"),
    "fr": ("Bien sûr, je vais t'aider.", "Voici la réponse.", "Bonne question !"),
    "de": ("Natürlich, ich helfe dir gern.", "Hier ist die Antwort.", "Gute Frage!"),
    "zh": ("好的，我来回答你的问题。", "这是我的回答。", "这个问题很好。"),
    "th": ("ได้เลยครับ นี่คือคำตอบ", "ขอบคุณสำหรับคำถามครับ", "คำถามที่ดีมากครับ"),
}
RUDE = (
    "Ugh, obviously. {base}",
    "Dude, seriously? {base} Everyone knows that.",
    "lol ok. {base} Duh.",
    "Fine, whatever. {base}",
)
FORMAL = (
    "Dear user, pursuant to your enquiry, please be advised as follows: {base} Kind regards.",
    "Esteemed interlocutor, I hereby respectfully submit the following response: {base}",
    "Greetings. With reference to your request, kindly note: {base} Yours faithfully.",
)
ROBOTIC = (
    "As an AI language model, I do not have personal experiences. {base}",
    "Query received. Processing. Result: {base} End of response.",
    "RESPONSE: 1. {base} 2. No further information available.",
    "I am a virtual assistant. The answer to your query is as follows. {base}",
)


def slot_names(templates: tuple[str, ...]) -> set[str]:
    """Slot names used by templates, lower-cased ({X} and {x} are the same slot)."""
    names = set()
    for template in templates:
        for _, name, _, _ in string.Formatter().parse(template):
            if name:
                names.add(name.lower())
    return names


def fill(template: str, item: dict[str, str]) -> str:
    """Fill `{x}` with the item's value and `{X}` with it capitalised."""
    values = dict(item)
    values.update({key.upper(): value[:1].upper() + value[1:] for key, value in item.items()})
    return re.sub(r"\s+", " ", template.format(**values)).strip()


def wrong_item(
    subtopic: Subtopic, item: dict[str, str], rng: np.random.Generator
) -> dict[str, str]:
    """The same question answered with another item's facts (an inaccurate answer)."""
    others = [other for other in subtopic.items if other != item]
    other = others[int(rng.integers(len(others)))]
    fact_keys = slot_names(subtopic.answers) - slot_names(subtopic.queries)
    if not fact_keys:
        return other
    return {**item, **{key: other[key] for key in fact_keys if key in other}}


def pick(options: tuple[str, ...], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


CONTENT_FLAWS = ("unhelpful", "inaccurate", "wrong_language", "detail_short")
STYLE_FLAWS = ("robotic", "rude", "too_formal")


def compatible(flaws: list[str]) -> bool:
    """Whether one response can show all these flaws at once."""
    content = [f for f in flaws if f in CONTENT_FLAWS]
    style = [f for f in flaws if f in STYLE_FLAWS]
    if len(content) > 1 or len(style) > 1:
        return False
    if "detail_short" in flaws and "detail_long" in flaws:
        return False
    return "wrong_language" not in flaws or all(
        f == "wrong_language" or FLAW_CODE[f] == "other" for f in flaws
    )


def render_response(
    system: System,
    subtopic: Subtopic,
    item: dict[str, str],
    language: str,
    flaws: list[str],
    rng: np.random.Generator,
) -> tuple[str, str]:
    """(response text, language it is written in) for this system and item, showing `flaws`."""
    base = fill(pick(subtopic.answers, rng), item)
    opener, closer = pick(system.openers, rng), pick(system.closers, rng)
    # systems keep their English small talk out of answers in other languages
    styled = language == "en" and not any(flaw in STYLE_FLAWS for flaw in flaws)
    body = f"{opener}{base}{closer}".strip() if styled else base
    written_in = language
    if "detail_short" in flaws:
        short = item.get("a") or base.split(".")[0]
        body = short[:1].upper() + short[1:].rstrip(".") + "."
    elif "unhelpful" in flaws:
        blind = subtopic.modality == "audio_primary" and system.name.startswith("Whisper")
        body = pick(AUDIO_BLIND if blind else UNHELPFUL, rng)
    elif "inaccurate" in flaws:
        base = fill(pick(subtopic.answers, rng), wrong_item(subtopic, item, rng))
        body = base
    elif "wrong_language" in flaws:
        if language != "en":
            body, written_in = item.get("en", base), "en"
        else:
            body = pick(FOREIGN_REPLIES[system.foreign_language], rng)
            written_in = system.foreign_language
    if "detail_long" in flaws:
        count = int(rng.integers(3, 6))
        extra = [PADDING[i] for i in rng.choice(len(PADDING), size=count, replace=False)]
        summary = body if "unhelpful" in flaws else base
        body = f"{body} {' '.join(extra)} To sum up: {summary}"
    for flaw, templates in (("robotic", ROBOTIC), ("rude", RUDE), ("too_formal", FORMAL)):
        if flaw in flaws:
            body = pick(templates, rng).format(base=body)
    return body, written_in


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)
