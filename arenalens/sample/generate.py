"""Seeded generator of the synthetic sample arena (votes, queries, responses, feedback, benchmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from arenalens.sample.banks import (
    ADVICE,
    CHIT_CHAT,
    DISFLUENCIES,
    FOREIGN,
    FOREIGN_LEADS,
    KNOWLEDGE,
    LEADS,
    OTHER,
    PARALINGUISTIC,
    TAILS,
    TASKS,
    Subtopic,
)
from arenalens.sample.feedback import write_feedback
from arenalens.sample.responses import (
    FLAW_CODE,
    compatible,
    fill,
    language_name,
    pick,
    render_response,
)
from arenalens.sample.systems import (
    ALIAS_SHARE,
    CODE_SHARES,
    CODES,
    SYSTEMS,
    System,
    davidson_probabilities,
    strength,
)
from arenalens.sample.truth import build_truth

DEFAULT_SEED = 20241107
GENERATOR_VERSION = "1"
N_INTERACTIONS = 2400
N_USERS = 300
USER_ACTIVITY_EXPONENT = 0.8  # Zipf-like: the k-th most active user has weight k**-0.8
CATEGORY_SHARES = {
    "knowledge": 0.50,
    "advice": 0.17,
    "chit_chat": 0.16,
    "task_execution": 0.10,
    "paralinguistic": 0.06,
    "other": 0.01,
}
SUBTOPICS: dict[str, tuple[Subtopic, ...]] = {
    "knowledge": KNOWLEDGE,
    "advice": ADVICE,
    "chit_chat": CHIT_CHAT,
    "task_execution": TASKS,
    "paralinguistic": PARALINGUISTIC,
    "other": OTHER,
}
USER_LANGUAGES = {"en": 0.9, "es": 0.03, "fr": 0.025, "de": 0.02, "zh": 0.025}
OWN_LANGUAGE_SHARE = (
    0.8  # a non-English user asks in their language when the bank covers the category
)
FEEDBACK_SHARE = 0.45
TWO_CODE_SHARE = 0.2
LOSER_FLAW_SHARE = 0.7  # losing responses without feedback that still show a flaw
TIE_FLAW_SHARE = 0.4
PIPELINE_AUDIO_HELPFULNESS_TILT = 2.5
START = datetime(2024, 10, 1, tzinfo=UTC)
SPAN_SECONDS = 75 * 24 * 3600
N_AUDIO_QUERIES = 20
AUDIO_CATEGORIES = ("knowledge", "advice", "chit_chat", "task_execution", "paralinguistic")
OTHER_FLAWS = ("slow", "audio_glitch", "whim")


@dataclass
class SampleArena:
    """Everything the generator writes, in memory."""

    records: list[dict[str, Any]]
    benchmarks: list[dict[str, Any]]
    aliases: dict[str, str]
    audio_ids: list[str]
    truth: dict[str, Any] = field(default_factory=dict)


def _weighted(
    options: list[Any] | tuple[Any, ...], weights: list[float], rng: np.random.Generator
) -> Any:
    probabilities = np.asarray(weights, dtype=float)
    return options[int(rng.choice(len(options), p=probabilities / probabilities.sum()))]


def compose_query(
    subtopic: Subtopic, item: dict[str, str], language: str, rng: np.random.Generator
) -> str:
    """A spoken-style query: opener, filled template, maybe a disfluency, and a closer."""
    template = pick(subtopic.queries, rng)
    if language != "en":
        return pick(FOREIGN_LEADS[language], rng) + fill(template, item)
    # a hesitation between the template's own words, never inside a slot value ("Billie um Jean")
    fixed_words = template.split("{", 1)[0].split()
    if len(fixed_words) >= 2 and rng.random() < 0.15:
        position = int(rng.integers(1, len(fixed_words)))
        prefix = " ".join(
            [*fixed_words[:position], pick(DISFLUENCIES, rng), *fixed_words[position:]]
        )
        template = prefix + template[len(" ".join(fixed_words)) :]
    body = fill(template, item)
    tail = pick(TAILS[subtopic.category], rng)
    if tail.strip(" ?") and tail.strip(" ?") in body:
        tail = ""
    if tail and body.endswith("?"):
        body = body[:-1]
    text = (pick(LEADS, rng) + body + tail).strip()
    if rng.random() < 0.3:
        text = text[:1].upper() + text[1:]
    return text


def _tilted_code_weights(
    loser: System | None, modality: str, base: dict[str, float]
) -> dict[str, float]:
    weights = dict(base)
    if loser is not None:
        for code, tilt in loser.code_tilt.items():
            weights[code] *= tilt
        if modality == "audio_primary" and loser.name.startswith("Whisper"):
            weights["helpfulness"] *= PIPELINE_AUDIO_HELPFULNESS_TILT
    return weights


def expected_code_shares(
    loser: System | None, modality: str, base: dict[str, float]
) -> dict[str, float]:
    """Exact expected code-mention shares of `draw_flaws` for an English query (no sampling)."""
    weights = _tilted_code_weights(loser, modality, base)
    total = sum(weights.values())
    single = {code: weights[code] / total for code in CODES}
    pair_mass = dict.fromkeys(CODES, 0.0)
    for first in CODES:
        for second in CODES:
            if second == first:
                continue
            p_codes = single[first] * weights[second] / (total - weights[first])
            for flaw_1, p_1 in flaw_options(first, loser, "en"):
                for flaw_2, p_2 in flaw_options(second, loser, "en"):
                    if compatible([flaw_1, flaw_2]):
                        pair_mass[first] += p_codes * p_1 * p_2
                        pair_mass[second] += p_codes * p_1 * p_2
    pair_total = sum(pair_mass.values())
    mentions = {
        c: (1 - TWO_CODE_SHARE) * single[c] + TWO_CODE_SHARE * 2 * pair_mass[c] / pair_total
        for c in CODES
    }
    norm = sum(mentions.values())
    return {code: mentions[code] / norm for code in CODES}


def calibrated_code_weights(audio_share: float = 0.23, iterations: int = 60) -> dict[str, float]:
    """Base code weights such that, after each loser's tilt, expected code shares equal CODE_SHARES."""
    situations: list[tuple[System | None, str, float]] = []
    for system in SYSTEMS:
        for modality, share in (("text_primary", 1 - audio_share), ("audio_primary", audio_share)):
            losses = [
                davidson_probabilities(strength(other, modality), strength(system, modality))[0]
                for other in SYSTEMS
                if other is not system
            ]
            situations.append((system, modality, share * float(np.mean(losses)) / len(SYSTEMS)))
    situations.append((None, "text_primary", 0.13))  # ties: no loser, no tilt
    base = dict(CODE_SHARES)
    for _ in range(iterations):
        expected = dict.fromkeys(CODES, 0.0)
        for loser, modality, frequency in situations:
            for code, share in expected_code_shares(loser, modality, base).items():
                expected[code] += frequency * share
        norm = sum(expected.values())
        base = {code: base[code] * CODE_SHARES[code] / (expected[code] / norm) for code in CODES}
    total = sum(base.values())
    return {code: round(base[code] / total, 6) for code in CODES}


def _loss_codes(
    loser: System | None, modality: str, count: int, rng: np.random.Generator
) -> list[str]:
    """Draw `count` distinct loss-reason codes, tilted by the losing system's weaknesses."""
    weights = _tilted_code_weights(
        loser, modality, CODE_WEIGHTS if loser is not None else CODE_SHARES
    )
    codes: list[str] = []
    while len(codes) < count:
        remaining = [code for code in CODES if code not in codes]
        codes.append(_weighted(remaining, [weights[c] for c in remaining], rng))
    return codes


def flaw_options(code: str, loser: System | None, language: str) -> list[tuple[str, float]]:
    """The concrete flaws a response may show for a loss-reason code, with probabilities."""
    if code == "detail":
        long_share = loser.long_share if loser is not None else 0.5
        return [("detail_long", long_share), ("detail_short", 1 - long_share)]
    if code == "language":
        own = 0.8 if language != "en" else 0.0  # a non-English speaker mostly gets English back
        return [
            ("wrong_language", own + (1 - own) * 0.5),
            ("rude", (1 - own) * 0.25),
            ("too_formal", (1 - own) * 0.25),
        ]
    if code == "other":
        return [(flaw, 1 / len(OTHER_FLAWS)) for flaw in OTHER_FLAWS]
    return [
        (
            {"helpfulness": "unhelpful", "accuracy": "inaccurate", "human_likeness": "robotic"}[
                code
            ],
            1.0,
        )
    ]


def _flaw_for(code: str, loser: System | None, language: str, rng: np.random.Generator) -> str:
    options = flaw_options(code, loser, language)
    return _weighted([flaw for flaw, _ in options], [p for _, p in options], rng)


def draw_flaws(
    loser: System | None, modality: str, language: str, count: int, rng: np.random.Generator
) -> list[str]:
    """Flaws for `count` codes that one response can show together (fewer if none fit)."""
    for _ in range(20):
        codes = _loss_codes(loser, modality, count, rng)
        flaws = [_flaw_for(code, loser, language, rng) for code in codes]
        if compatible(flaws):
            return flaws
    return flaws[:1]


def pick_subtopic(category: str, language: str, rng: np.random.Generator) -> tuple[Subtopic, str]:
    if language != "en":
        native = [s for s in FOREIGN[language] if s.category == category]
        if native and rng.random() < OWN_LANGUAGE_SHARE:
            return pick(tuple(native), rng), language
    options = SUBTOPICS[category]
    return _weighted(options, [s.weight for s in options], rng), "en"


def _vote(system_a: System, system_b: System, modality: str, rng: np.random.Generator) -> str:
    p_a, p_b, p_tie = davidson_probabilities(
        strength(system_a, modality), strength(system_b, modality)
    )
    return _weighted(["model_a", "model_b", "tie"], [p_a, p_b, p_tie], rng)


def generate_sample_arena(
    seed: int = DEFAULT_SEED, n_interactions: int = N_INTERACTIONS
) -> SampleArena:
    """Generate the sample arena in memory; the same seed always gives the same arena."""
    if n_interactions < 1:
        raise ValueError(
            f"n_interactions: expected a positive number of battles, got {n_interactions}"
        )
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    users_rng, query_rng, vote_rng, response_rng, feedback_rng, bench_rng = streams

    user_ids = [f"user-{k:04d}" for k in range(1, N_USERS + 1)]
    activity = np.arange(1, N_USERS + 1, dtype=float) ** -USER_ACTIVITY_EXPONENT
    languages = list(USER_LANGUAGES)
    user_language = {
        user: languages[int(users_rng.choice(len(languages), p=list(USER_LANGUAGES.values())))]
        for user in user_ids
    }
    offsets = np.sort(users_rng.integers(0, SPAN_SECONDS, size=n_interactions))
    users = users_rng.choice(N_USERS, size=n_interactions, p=activity / activity.sum())

    records = []
    categories = list(CATEGORY_SHARES)
    for index in range(n_interactions):
        user = user_ids[int(users[index])]
        category = _weighted(categories, list(CATEGORY_SHARES.values()), query_rng)
        subtopic, language = pick_subtopic(category, user_language[user], query_rng)
        item = pick(subtopic.items, query_rng)
        query = compose_query(subtopic, item, language, query_rng)

        pair = vote_rng.choice(len(SYSTEMS), size=2, replace=False)
        system_a, system_b = SYSTEMS[int(pair[0])], SYSTEMS[int(pair[1])]
        winner = _vote(system_a, system_b, subtopic.modality, vote_rng)
        has_feedback = bool(vote_rng.random() < FEEDBACK_SHARE)
        n_codes = 2 if vote_rng.random() < TWO_CODE_SHARE else 1
        names = [
            s.alias if vote_rng.random() < ALIAS_SHARE else s.name for s in (system_a, system_b)
        ]

        flaws: dict[str, list[str]] = {"model_a": [], "model_b": []}
        if winner == "tie":
            if has_feedback or feedback_rng.random() < TIE_FLAW_SHARE:
                shared = draw_flaws(
                    None, subtopic.modality, language, n_codes if has_feedback else 1, feedback_rng
                )
                flaws = {"model_a": list(shared), "model_b": list(shared)}
        else:
            loser_key = "model_b" if winner == "model_a" else "model_a"
            loser = system_b if winner == "model_a" else system_a
            if has_feedback or feedback_rng.random() < LOSER_FLAW_SHARE:
                flaws[loser_key] = draw_flaws(
                    loser, subtopic.modality, language, n_codes if has_feedback else 1, feedback_rng
                )

        responses, written_in = {}, {}
        for key, system in (("model_a", system_a), ("model_b", system_b)):
            shown = [f for f in flaws[key] if FLAW_CODE[f] != "other"]
            responses[key], written_in[key] = render_response(
                system, subtopic, item, language, shown, response_rng
            )

        record: dict[str, Any] = {
            "id": "",
            "timestamp": (START + timedelta(seconds=int(offsets[index]))).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "user_id": user,
            "language": language,
            "query_text": query,
            "model_a": names[0],
            "model_b": names[1],
            "response_a": responses["model_a"],
            "response_b": responses["model_b"],
            "winner": winner,
        }
        gold_codes: list[str] = []
        targets: list[dict[str, str]] = []
        if has_feedback:
            flawed_key = (
                "model_a" if winner == "tie" else ("model_b" if winner == "model_a" else "model_a")
            )
            winner_side = None if winner == "tie" else winner[-1]
            slots = {"rl": language_name(written_in[flawed_key])}
            text, code_targets = write_feedback(flaws[flawed_key], winner_side, feedback_rng, slots)
            record["feedback"] = text
            gold_codes = sorted({target.code for target in code_targets}, key=CODES.index)
            targets = [target.as_dict() for target in code_targets]
        record.update(
            {
                "gold_category": subtopic.category,
                "gold_modality": subtopic.modality,
                "gold_subtopic": subtopic.name,
                "gold_codes": gold_codes,
                "gold_code_targets": targets,
                "gold_response_flaws": {"model_a": flaws["model_a"], "model_b": flaws["model_b"]},
                "synthetic": True,
            }
        )
        records.append(record)

    for index, record in enumerate(records, start=1):
        record["id"] = f"sa-{index:05d}"

    arena = SampleArena(
        records=records,
        benchmarks=_benchmarks(bench_rng),
        aliases={system.alias: system.name for system in SYSTEMS},
        audio_ids=_audio_ids(records, users_rng),
    )
    arena.truth = build_truth(
        arena,
        seed,
        generator_version=GENERATOR_VERSION,
        category_shares=CATEGORY_SHARES,
        feedback_share=FEEDBACK_SHARE,
        code_weights=CODE_WEIGHTS,
    )
    return arena


def _audio_ids(records: list[dict[str, Any]], rng: np.random.Generator) -> list[str]:
    """A few short English queries per category for the demo to speak with espeak-ng."""
    per_category = N_AUDIO_QUERIES // len(AUDIO_CATEGORIES)
    chosen: list[str] = []
    for category in AUDIO_CATEGORIES:
        pool = [
            r["id"]
            for r in records
            if r["gold_category"] == category
            and r["language"] == "en"
            and len(r["query_text"]) <= 80
        ]
        size = min(per_category, len(pool))
        chosen.extend(pool[int(i)] for i in sorted(rng.choice(len(pool), size=size, replace=False)))
    return sorted(chosen)


def _benchmarks(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Static benchmark scores loosely tied to the systems' strengths."""
    from arenalens.sample.systems import AUDIO_BLIND_PENALTY, BENCHMARK_NOISE, BENCHMARKS

    values = np.array([s.strength for s in SYSTEMS])
    z = (values - values.mean()) / values.std()
    rows = []
    for system, z_value in zip(SYSTEMS, z, strict=True):
        for bench in BENCHMARKS:
            if bench.higher_is_better:
                score = bench.base + bench.slope * z_value + rng.normal(0.0, BENCHMARK_NOISE)
                if bench.needs_audio and system.name.startswith("Whisper"):
                    score -= AUDIO_BLIND_PENALTY
                score = min(99.0, max(1.0, score))
            else:
                score = max(
                    1.5, bench.base + bench.slope * z_value + rng.normal(0.0, BENCHMARK_NOISE / 4)
                )
            rows.append(
                {
                    "model": system.name,
                    "dataset": bench.dataset,
                    "task": bench.task,
                    "metric": bench.metric,
                    "score": round(float(score), 1),
                    "higher_is_better": str(bench.higher_is_better).lower(),
                }
            )
    return rows


CODE_WEIGHTS = calibrated_code_weights()
