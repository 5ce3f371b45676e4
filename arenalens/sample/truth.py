"""The generator's ground truth (truth.json) and the sample arena's README."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from arenalens.sample.systems import CODE_SHARES, CODES, DAVIDSON_NU, SYSTEMS, strength

if TYPE_CHECKING:
    from arenalens.sample.generate import SampleArena


def _shares(counter: Counter, total: int) -> dict[str, float]:
    return {key: round(count / total, 4) for key, count in sorted(counter.items())}


def realised_statistics(records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the generated records actually contain (shares, counts), for README and tests."""
    total = len(records)
    with_feedback = [r for r in records if "feedback" in r]
    code_mentions = Counter(code for r in with_feedback for code in r["gold_codes"])
    n_mentions = max(1, sum(code_mentions.values()))
    return {
        "interactions": total,
        "users": len({r["user_id"] for r in records}),
        "distinct_queries": len({r["query_text"] for r in records}),
        "subtopics": len({r["gold_subtopic"] for r in records}),
        "category_shares": _shares(Counter(r["gold_category"] for r in records), total),
        "modality_shares": _shares(Counter(r["gold_modality"] for r in records), total),
        "language_shares": _shares(Counter(r["language"] for r in records), total),
        "tie_share": round(sum(r["winner"] == "tie" for r in records) / total, 4),
        "feedback_share": round(len(with_feedback) / total, 4),
        "multi_code_feedback_share": round(
            sum(len(r["gold_codes"]) > 1 for r in with_feedback) / max(1, len(with_feedback)), 4
        ),
        "code_mention_shares": {code: round(code_mentions[code] / n_mentions, 4) for code in CODES},
        "win_rates": _win_rates(records),
    }


def _win_rates(records: list[dict[str, Any]]) -> dict[str, float]:
    """Share of each system's battles it won, ties counting half (aliases resolved)."""
    canonical = {s.alias: s.name for s in SYSTEMS}
    wins: Counter = Counter()
    games: Counter = Counter()
    for r in records:
        for side in ("model_a", "model_b"):
            name = canonical.get(r[side], r[side])
            games[name] += 1
            wins[name] += 1.0 if r["winner"] == side else 0.5 if r["winner"] == "tie" else 0.0
    return {s.name: round(wins[s.name] / games[s.name], 4) for s in SYSTEMS if games[s.name]}


def build_truth(
    arena: SampleArena,
    seed: int,
    *,
    generator_version: str,
    category_shares: dict[str, float],
    feedback_share: float,
    code_weights: Any,
) -> dict[str, Any]:
    """The true parameters the sample arena was drawn from (the generator passes its own
    settings in, so this module never imports the generator), plus what was realised."""
    stats = realised_statistics(arena.records)
    audio_share = stats["modality_shares"].get("audio_primary", 0.0)
    return {
        "synthetic": True,
        "generator": "arenalens.sample",
        "generator_version": generator_version,
        "seed": seed,
        "vote_model": "Davidson (Bradley-Terry with ties); P(i beats j) = pi_i / (pi_i + pi_j + nu*sqrt(pi_i*pi_j)), pi = exp(strength)",
        "davidson_nu": DAVIDSON_NU,
        "strengths_by_modality": {
            modality: {s.name: round(strength(s, modality), 4) for s in SYSTEMS}
            for modality in ("text_primary", "audio_primary")
        },
        "strengths": {
            s.name: round(
                strength(s, "text_primary") * (1 - audio_share)
                + strength(s, "audio_primary") * audio_share,
                4,
            )
            for s in SYSTEMS
        },
        "strengths_note": (
            "natural-log Bradley-Terry strengths; `strengths` mixes the two modalities by the realised "
            "audio-primary share, roughly what a fit over all votes recovers"
        ),
        "ranking": [s.name for s in sorted(SYSTEMS, key=lambda s: -s.strength)],
        "loss_reason_tilts": {s.name: dict(sorted(s.code_tilt.items())) for s in SYSTEMS},
        "loss_reason_tilts_note": (
            "multipliers on a code's probability when that system loses (the pipeline's helpfulness "
            "weight is also x2.5 on audio-primary queries); code_sampling_weights are calibrated so the "
            "expected overall mention shares equal target_code_shares"
        ),
        "aliases": arena.aliases,
        "target_category_shares": category_shares,
        "target_feedback_share": feedback_share,
        "target_code_shares": CODE_SHARES,
        "code_sampling_weights": code_weights,
        "realised": stats,
    }


README_TEMPLATE = """# Sample arena (SYNTHETIC)

**Everything in this folder is synthetic.** No person wrote these queries, votes or feedback:
`arenalens.sample` generated them from phrase templates with a fixed seed ({seed}). They exist
so that `arenalens demo`, the tests and the dashboard have a realistic arena to work on, and
so that every stage can be checked against a known truth. Do not report findings from it.

Regenerate (byte-identical for the same seed and code):

```
python -m arenalens.sample --out data/sample_arena
```

## Files
| file | what |
| --- | --- |
| `interactions.jsonl` | {interactions:,} battles, one JSON object per line (canonical ingest format plus truth fields) |
| `conversations.jsonl` | multi-turn battles, half answered aloud, one conversation per line (nested `turns`; see below) |
| `benchmarks.csv` | static benchmark scores, long format `model,dataset,task,metric,score,higher_is_better` |
| `aliases.yaml` | vote-log names ({alias_share}) some records use, mapped to canonical names |
| `audio_queries.txt` | ids of {n_audio} English queries the demo speaks with `espeak-ng` when it is installed |
| `truth.json` | the true parameters (strengths, tie propensity, target shares) and realised statistics |

## Fields of `interactions.jsonl`
| field | meaning |
| --- | --- |
| `id` | `sa-00001` ... in time order |
| `timestamp` | ISO 8601 UTC, spread over 75 days from 2024-10-01 |
| `user_id` | one of {users} synthetic users with skewed (Zipf-like) activity |
| `language` | language of the query (`en`, `es`, `fr`, `de`, `zh`); non-English queries are written in that language |
| `query_text` | spoken-style transcript (fillers, run-ons, no punctuation at times) |
| `model_a`, `model_b` | the two systems (canonical name, or a vote-log alias in a few records) |
| `response_a`, `response_b` | template responses; a losing response shows the flaws its feedback describes |
| `winner` | `model_a`, `model_b` or `tie` |
| `feedback` | voter's free text (absent when none was written) |
| `gold_category` | knowledge, task_execution, advice, chit_chat, paralinguistic or other |
| `gold_modality` | `text_primary` (the transcript suffices) or `audio_primary` (needs how it was said) |
| `gold_subtopic` | the fine-grained template topic, e.g. `history_fact`, `set_timer`, `accent_identification` |
| `gold_codes` | loss-reason codes the feedback was written to express (helpfulness, detail, accuracy, language, human_likeness, other); `[]` without feedback |
| `gold_code_targets` | per expressed code: `about` (rejected / preferred / both) and `polarity` (negative / positive) |
| `gold_response_flaws` | flaws written into each response (e.g. `detail_long`, `inaccurate`, `robotic`, `slow`) |
| `synthetic` | always `true` |

## How it was generated
- Category shares follow the Talk Arena paper (knowledge 50%, advice 17%, chit-chat 16%, task execution 10%,
  paralinguistic 6%, other 1%); each category has many subtopics with slot-filled templates. Audio-primary asks
  are all paralinguistic queries plus some in other categories ("does my voice sound nervous for my interview").
- Votes: each battle pairs two distinct systems at random; the outcome is drawn from a Davidson model
  (Bradley-Terry with ties, nu = {nu}). On audio-primary queries the transcript-only pipeline is weaker.
- Feedback on ~{feedback_pct}% of votes, one loss reason or two, drawn from the paper's shares and tilted by the
  losing system's weaknesses (e.g. Gemini-1.5-Pro rambles, DiVA-8B gets facts wrong, Qwen2-Audio and Typhoon-1.5
  slip into Chinese or Thai, the pipeline sounds robotic and cannot hear the voice); wording varies (many
  paraphrases, side references, praise of the winner, typos). The losing response shows the flaws described.
- Benchmarks: score = base + slope x strength (standardised) + noise; the transcript-only pipeline loses
  ~22 points on tasks that need the audio (emotion, sarcasm, humour, speaker traits), so benchmark and arena
  rankings agree only loosely. `Librispeech` WER is lower-is-better.

## True strengths (natural-log Bradley-Terry)
| system | text-primary | audio-primary | overall mix |
| --- | ---: | ---: | ---: |
{strength_rows}

## Realised
- categories: {categories}
- modality: {modality}
- ties: {ties:.1%} of votes; feedback: {feedback:.1%}; feedback with two codes: {multi:.1%}
- loss-reason code mentions: {codes}
- win rates (ties half): {win_rates}
- {distinct:,} distinct queries over {subtopics} subtopics; languages: {languages}
"""


def _fmt(shares: dict[str, float]) -> str:
    return ", ".join(f"{key} {value:.1%}" for key, value in shares.items())


def render_readme(arena: SampleArena) -> str:
    """The sample arena's README, with the true and realised numbers filled in."""
    from arenalens.sample.systems import ALIAS_SHARE

    truth, stats = arena.truth, arena.truth["realised"]
    by_modality = truth["strengths_by_modality"]
    strength_rows = "\n".join(
        f"| {name} | {by_modality['text_primary'][name]:+.2f} | {by_modality['audio_primary'][name]:+.2f} "
        f"| {truth['strengths'][name]:+.2f} |"
        for name in truth["ranking"]
    )
    return README_TEMPLATE.format(
        seed=truth["seed"],
        interactions=stats["interactions"],
        alias_share=f"~{ALIAS_SHARE:.0%} of sides",
        n_audio=len(arena.audio_ids),
        users=stats["users"],
        nu=truth["davidson_nu"],
        feedback_pct=round(truth["target_feedback_share"] * 100),
        strength_rows=strength_rows,
        categories=_fmt(stats["category_shares"]),
        modality=_fmt(stats["modality_shares"]),
        ties=stats["tie_share"],
        feedback=stats["feedback_share"],
        multi=stats["multi_code_feedback_share"],
        codes=_fmt(stats["code_mention_shares"]),
        win_rates=", ".join(f"{name} {rate:.1%}" for name, rate in stats["win_rates"].items()),
        distinct=stats["distinct_queries"],
        subtopics=stats["subtopics"],
        languages=_fmt(stats["language_shares"]),
    )
