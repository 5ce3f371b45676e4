"""Conversations of the synthetic sample arena: multi-turn battles between two systems, half of
them answered aloud (speech out), written in the nested `turns` shape of the canonical record.

Each system speaks with its own espeak-ng voice, pace and delay (`SPEECH_PROFILES`): the demo
speaks the answers into WAVs (`audio_clips` says which) before it ingests the file. Heard
answers shift the true strengths (`speech_strength`): the cascaded pipeline's flat, late voice
costs it, GPT-4o's natural one helps; a loser's spoken-answer feedback names a voice reason
(unnatural prosody, too fast, too slow, slow to start, wrong voice) its profile explains.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from arenalens.sample.banks import load_phrases
from arenalens.sample.feedback import write_feedback
from arenalens.sample.generate import (
    CATEGORY_SHARES,
    N_USERS,
    SPAN_SECONDS,
    START,
    _weighted,
    compose_query,
    draw_flaws,
    pick_subtopic,
)
from arenalens.sample.responses import FLAW_CODE, language_name, pick, render_response
from arenalens.sample.systems import (
    CODES,
    PIPELINE,
    SYSTEMS,
    System,
    davidson_probabilities,
    strength,
)

N_CONVERSATIONS = 240  # about 120 heard: enough votes for every model on the spoken board
SPEECH_SHARE = 0.6
TURN_COUNTS = {1: 0.2, 2: 0.45, 3: 0.35}
PER_TURN_VOTE_SHARE = 0.25  # conversations voted turn by turn; the rest once, after the last turn
TOPIC_CHANGE_SHARE = 0.3  # later turns that change the topic
FEEDBACK_SHARE = 0.6
VOICE_REASON_SHARE = 0.75  # of feedback on spoken answers: a voice reason (else a content one)
SPOKEN_QUERY_SHARE = 0.15  # speech-out conversations whose first query is spoken too
FIRST_AUDIO_SPREAD = 0.25  # log-normal spread of each answer's delay around its system's
CONVERSATION_STREAM = 6  # seed stream: after the six `generate_sample_arena` uses
VOICE_CODES = ("unnatural_prosody", "too_fast", "too_slow", "slow_to_start", "wrong_voice")
FAST_WPM, SLOW_WPM, LATE_S = 210, 150, 2.0


@dataclass(frozen=True)
class SpeechProfile:
    """How a system sounds: espeak-ng voice, pace, delay before its first audio, and the change
    in its log-strength when its answers are heard rather than read."""

    voice: str
    words_per_minute: int
    first_audio_s: float
    speech_offset: float


SPEECH_PROFILES = {
    PIPELINE: SpeechProfile("en-us", 175, 2.6, -0.70),
    "GPT-4o": SpeechProfile("en-us+f3", 180, 0.8, 0.35),
    "Gemini-1.5-Pro": SpeechProfile("en-gb", 195, 1.5, 0.0),
    "DiVA-8B": SpeechProfile("en-us+m3", 165, 1.1, 0.10),
    "Typhoon-1.5": SpeechProfile("en-gb-x-rp", 140, 1.9, -0.15),
    "Qwen2-Audio": SpeechProfile("en-us+f2", 235, 1.3, -0.20),
}


def speech_strength(system: System, modality: str) -> float:
    """A system's log-strength when raters hear its answers."""
    return strength(system, modality) + SPEECH_PROFILES[system.name].speech_offset


def voice_flaws(system: System) -> tuple[str, ...]:
    """The voice reasons a rater may give against this system (its profile explains them)."""
    profile = SPEECH_PROFILES[system.name]
    flaws = ["unnatural_prosody"] if system.name == PIPELINE else []
    if profile.words_per_minute >= FAST_WPM:
        flaws.append("too_fast")
    if profile.words_per_minute <= SLOW_WPM:
        flaws.append("too_slow")
    if profile.first_audio_s >= LATE_S:
        flaws.append("slow_to_start")
    return tuple(flaws) or ("wrong_voice",)


def generate_conversations(seed: int, n: int = N_CONVERSATIONS) -> list[dict[str, Any]]:
    """`n` nested conversation records (ids `sc-0001`...), the same for the same seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CONVERSATION_STREAM,)))
    phrases = load_phrases("conversations")
    offsets = np.sort(rng.integers(0, SPAN_SECONDS, size=n))
    records = []
    for index in range(n):
        cid = f"sc-{index + 1:04d}"
        pair = rng.choice(len(SYSTEMS), size=2, replace=False)
        systems = (SYSTEMS[int(pair[0])], SYSTEMS[int(pair[1])])
        speech = bool(rng.random() < SPEECH_SHARE)
        n_turns = int(_weighted(list(TURN_COUNTS), list(TURN_COUNTS.values()), rng))
        per_turn = n_turns > 1 and bool(rng.random() < PER_TURN_VOTE_SHARE)
        turns = _turns(cid, n_turns, systems, speech, rng, phrases)
        record: dict[str, Any] = {
            "conversation_id": cid,
            "timestamp": (START + timedelta(seconds=int(offsets[index]))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "user_id": f"user-{int(rng.integers(1, N_USERS + 1)):04d}",
            "language": "en",
            "model_a": systems[0].name,
            "model_b": systems[1].name,
        }
        voted = turns if per_turn else [turns[-1]]
        for turn in voted:
            modality = turns[0]["gold_modality"] if not per_turn else turn["gold_modality"]
            _vote(turn, systems, modality, speech, rng, phrases)
        for turn in turns:
            del turn["_subtopic"], turn["_item"]
        if not per_turn:  # the vote after the conversation goes on the record itself
            record.update({k: turns[-1].pop(k) for k in ("winner", "feedback") if k in turns[-1]})
        record.update(
            {"gold_output": "speech" if speech else "text", "gold_vote": "turn" if per_turn
             else "conversation", "synthetic": True, "turns": turns}
        )  # fmt: skip
        records.append(record)
    return records


def _turns(
    cid: str,
    n_turns: int,
    systems: tuple[System, System],
    speech: bool,
    rng: np.random.Generator,
    phrases: dict[str, Any],
) -> list[dict[str, Any]]:
    """The turns of one conversation: queries and both answers (audio paths when spoken); each
    keeps its `_subtopic` and `_item` until the votes are drawn."""
    turns = []
    subtopic = item = None
    for number in range(1, n_turns + 1):
        changed = number > 1 and bool(rng.random() < TOPIC_CHANGE_SHARE)
        if subtopic is None or changed:
            category = _weighted(list(CATEGORY_SHARES), list(CATEGORY_SHARES.values()), rng)
            subtopic, _ = pick_subtopic(category, "en", rng)
            item = pick(subtopic.items, rng)
            query = compose_query(subtopic, item, "en", rng)
            if changed:
                query = pick(phrases["topic_change_leads"], rng) + query
        else:
            query = pick(phrases["follow_ups"], rng)
        assert item is not None
        turn: dict[str, Any] = {"query_text": query}
        for side, system in zip("ab", systems, strict=True):
            turn[f"response_{side}"] = render_response(system, subtopic, item, "en", [], rng)[0]
        if speech:
            if number == 1 and rng.random() < SPOKEN_QUERY_SHARE:
                turn["query_audio"] = f"audio/{cid}-{number}-q.wav"
            for side, system in zip("ab", systems, strict=True):
                profile = SPEECH_PROFILES[system.name]
                delay = profile.first_audio_s * float(np.exp(rng.normal(0, FIRST_AUDIO_SPREAD)))
                turn[f"response_audio_{side}"] = f"audio/{cid}-{number}-{side}.wav"
                turn[f"time_to_first_audio_s_{side}"] = round(delay, 2)
        turn.update(
            {"gold_category": subtopic.category, "gold_modality": subtopic.modality,
             "gold_subtopic": subtopic.name, "gold_topic_change": changed,
             "_subtopic": subtopic, "_item": item}
        )  # fmt: skip
        turns.append(turn)
    return turns


def _vote(
    turn: dict[str, Any],
    systems: tuple[System, System],
    modality: str,
    speech: bool,
    rng: np.random.Generator,
    phrases: dict[str, Any],
) -> None:
    """Draw the vote on `turn` (Davidson, heard strengths when spoken) and maybe feedback: a
    voice reason against a spoken loser, else a content reason its answer then shows."""
    rate = speech_strength if speech else strength
    p_a, p_b, p_tie = davidson_probabilities(rate(systems[0], modality), rate(systems[1], modality))
    winner = _weighted(["model_a", "model_b", "tie"], [p_a, p_b, p_tie], rng)
    turn["winner"] = winner
    turn["gold_codes"], turn["gold_voice_codes"] = [], []
    if rng.random() >= FEEDBACK_SHARE:
        return
    loser_side = None if winner == "tie" else ("b" if winner == "model_a" else "a")
    if speech and loser_side is not None and rng.random() < VOICE_REASON_SHARE:
        loser = systems["ab".index(loser_side)]
        code = pick(voice_flaws(loser), rng)
        sides = {name: pick(phrases["sides"][s], rng) for name, s in
                 (("loser", loser_side), ("winner", "ab"["ba".index(loser_side)]))}  # fmt: skip
        text = pick(phrases["praise"], rng) + pick(phrases["voice_feedback"][code], rng)
        turn["feedback"] = text.format(**sides)
        turn["gold_voice_codes"] = [code]
        return
    loser = None if loser_side is None else systems["ab".index(loser_side)]
    flaws = draw_flaws(loser, modality, "en", 1, rng)
    text, targets = write_feedback(
        flaws, None if winner == "tie" else winner[-1], rng, {"rl": language_name("en")}
    )
    turn["feedback"] = text
    turn["gold_codes"] = sorted({t.code for t in targets}, key=CODES.index)
    shown = [f for f in flaws if FLAW_CODE[f] != "other"]
    for side in [loser_side] if loser_side else ["a", "b"]:  # the answer shows what was said
        system = systems["ab".index(side)]
        answer = render_response(system, turn["_subtopic"], turn["_item"], "en", shown, rng)
        turn[f"response_{side}"] = answer[0]


def audio_clips(record: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """What the demo speaks for one conversation record: (relative WAV path, text, espeak-ng
    voice, words per minute) for each spoken query and answer."""
    clips = []
    for turn in record.get("turns", []):
        if "query_audio" in turn:
            clips.append((turn["query_audio"], turn["query_text"], "en-us", 160))
        for side in "ab":
            path = turn.get(f"response_audio_{side}")
            if path:
                profile = SPEECH_PROFILES[record[f"model_{side}"]]
                text = turn[f"response_{side}"]
                clips.append((path, text, profile.voice, profile.words_per_minute))
    return clips


def conversation_truth(records: list[dict[str, Any]]) -> dict[str, Any]:
    """True speech parameters and what the conversations realise (for truth.json, README, tests)."""
    turns = [turn for record in records for turn in record["turns"]]
    votes = Counter(record["gold_vote"] for record in records)
    voice_codes = Counter(code for turn in turns for code in turn.get("gold_voice_codes", []))
    return {
        "conversations": len(records),
        "speech_out": sum(record["gold_output"] == "speech" for record in records),
        "turns": len(turns),
        "turn_counts": dict(sorted(Counter(len(r["turns"]) for r in records).items())),
        "voted_per_turn": votes["turn"],
        "topic_changes": sum(turn["gold_topic_change"] for turn in turns),
        "voice_code_mentions": dict(sorted(voice_codes.items())),
        "speech_profiles": {
            name: {
                "voice": p.voice,
                "words_per_minute": p.words_per_minute,
                "first_audio_s": p.first_audio_s,
                "speech_offset": p.speech_offset,
            }
            for name, p in SPEECH_PROFILES.items()
        },
        "speech_strengths": {
            s.name: round(s.strength + SPEECH_PROFILES[s.name].speech_offset, 2) for s in SYSTEMS
        },
    }


def readme_section(truth: dict[str, Any]) -> str:
    """The sample README's part on conversations and spoken answers."""
    rows = "\n".join(
        f"| {name} | {p['voice']} | {p['words_per_minute']} | {p['first_audio_s']:.1f} "
        f"| {p['speech_offset']:+.2f} |"
        for name, p in truth["speech_profiles"].items()
    )
    counts = ", ".join(
        f"{n} of {turns} turn{'s' if int(turns) > 1 else ''}"
        for turns, n in truth["turn_counts"].items()
    )
    mentions = ", ".join(
        f"{code.replace('_', ' ')} {n}" for code, n in truth["voice_code_mentions"].items()
    )
    return CONVERSATIONS_README.format(
        profile_rows=rows,
        **{**truth, "turn_counts": counts, "voice_code_mentions": mentions or "none"},
    )


CONVERSATIONS_README = """
## Conversations and spoken answers (`conversations.jsonl`)
{conversations} conversations in the nested shape (one line each, `turns` a list; ids `sc-0001`...),
{speech_out} of them answered aloud: each turn names `response_audio_a`/`_b` (and some first
queries `query_audio`), WAVs the demo speaks with `espeak-ng` into the workspace before it ingests
the file (without espeak-ng it ingests the conversations as text). {turns} turns in all (turn
counts: {turn_counts}); {topic_changes} later turns change the topic (`gold_topic_change`).
{voted_per_turn} conversations are voted turn by turn, the rest once after the last turn.
Spoken answers carry each system's delay as `time_to_first_audio_s_a`/`_b`; their durations
and speaking rates come from the WAVs. Feedback on a spoken loser names a voice reason in
`gold_voice_codes` (mentions: {voice_code_mentions}), else a content reason in `gold_codes`.

| system | espeak-ng voice | words per minute | first audio (s) | strength when heard |
| --- | --- | ---: | ---: | ---: |
{profile_rows}
"""
