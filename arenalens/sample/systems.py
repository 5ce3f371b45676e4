"""The six synthetic systems: true strengths, voting model, response style, aliases, benchmarks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PIPELINE = "Whisper+Llama3 pipeline"


@dataclass(frozen=True)
class System:
    """One system in the sample arena and how it behaves when it loses."""

    name: str
    strength: float  # Bradley-Terry log-strength on text-primary queries (natural log scale)
    audio_offset: float  # added to the strength on audio-primary queries
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    # multipliers on the loss-reason code probabilities when this system loses
    code_tilt: dict[str, float] = field(default_factory=dict)
    long_share: float = 0.5  # when too little/much detail: share "too long"
    foreign_language: str = "es"  # language it slips into when answering in the wrong one
    alias: str = ""  # the vote-log name some records use instead of the canonical name


SYSTEMS: tuple[System, ...] = (
    System(
        PIPELINE,
        0.85,
        -0.55,
        ("", "", "Sure thing. ", "Okay. "),
        ("", "", ""),
        code_tilt={"human_likeness": 1.5, "accuracy": 0.8},
        long_share=0.6,
        foreign_language="es",
        alias="pipe_l3.0",
    ),
    System(
        "GPT-4o",
        0.40,
        0.15,
        ("", "Sure! ", "Oh, nice one. ", "Great question! "),
        ("", "", " Anything else?", " Hope that helps!"),
        code_tilt={"detail": 1.2, "human_likeness": 0.5, "accuracy": 0.8},
        long_share=0.75,
        foreign_language="fr",
        alias="gpt4o",
    ),
    System(
        "Gemini-1.5-Pro",
        0.20,
        0.05,
        ("", "Here's a quick answer: ", "Okay. "),
        ("", "", " Let me know if you'd like more."),
        code_tilt={"detail": 1.3, "human_likeness": 1.1, "language": 0.7},
        long_share=0.8,
        foreign_language="de",
        alias="gemini_1.5p",
    ),
    System(
        "DiVA-8B",
        -0.10,
        0.15,
        ("", "Hey! ", "Of course. ", "Ooh, "),
        ("", "", " :)"),
        code_tilt={"accuracy": 1.6, "detail": 0.9},
        long_share=0.45,
        foreign_language="es",
        alias="diva_3_8b",
    ),
    System(
        "Typhoon-1.5",
        -0.35,
        0.0,
        ("", "", "Sure. "),
        ("", ""),
        code_tilt={"language": 1.6, "helpfulness": 1.2, "detail": 0.9},
        long_share=0.35,
        foreign_language="th",
        alias="typhoon_audio",
    ),
    System(
        "Qwen2-Audio",
        -0.55,
        0.15,
        ("", "", ""),
        ("", ""),
        code_tilt={"language": 1.4, "accuracy": 1.2, "helpfulness": 1.2, "human_likeness": 0.8},
        long_share=0.2,
        foreign_language="zh",
        alias="qwen2",
    ),
)
SYSTEM_BY_NAME = {system.name: system for system in SYSTEMS}
DAVIDSON_NU = (
    0.30  # tie propensity: P(tie) = nu*sqrt(pi_i pi_j) / (pi_i + pi_j + nu*sqrt(pi_i pi_j))
)
ALIAS_SHARE = 0.06  # share of records naming a system by its vote-log alias


def strength(system: System, modality: str) -> float:
    """The log-strength a system has on queries of this modality."""
    return system.strength + (system.audio_offset if modality == "audio_primary" else 0.0)


def davidson_probabilities(
    strength_a: float, strength_b: float, nu: float = DAVIDSON_NU
) -> tuple[float, float, float]:
    """(P(A wins), P(B wins), P(tie)) under Davidson's tie extension of Bradley-Terry."""
    pi_a, pi_b = math.exp(strength_a), math.exp(strength_b)
    tie = nu * math.sqrt(pi_a * pi_b)
    total = pi_a + pi_b + tie
    return pi_a / total, pi_b / total, tie / total


# Loss reasons: target share of code mentions (the paper's shares; "other" takes the rest).
CODE_SHARES = {
    "detail": 0.31,
    "helpfulness": 0.24,
    "language": 0.12,
    "accuracy": 0.11,
    "human_likeness": 0.11,
    "other": 0.11,
}
CODES = tuple(CODE_SHARES)


@dataclass(frozen=True)
class Benchmark:
    """A static benchmark: score = base + slope * strength + noise (+ penalty if it needs the audio)."""

    dataset: str
    task: str
    metric: str
    base: float
    slope: float
    needs_audio: bool
    higher_is_better: bool = True


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("Urfunny", "Humor Detection", "Macro F1", 52.0, 8.0, True),
    Benchmark("Mustard", "Sarcasm Detection", "Macro F1", 48.0, 10.0, True),
    Benchmark("IEMOCAP", "Emotion Recognition", "Macro F1", 38.0, 12.0, True),
    Benchmark("MELD", "Emotion Recognition", "Macro F1", 30.0, 9.0, True),
    Benchmark("Public_SG_Speech", "Speech QA", "PEDANTS", 60.0, 10.0, False),
    Benchmark("CN_College_Listen", "Speech QA", "Macro F1", 55.0, 12.0, False),
    Benchmark("Callhome", "Relation Classification", "Macro F1", 45.0, 6.0, True),
    Benchmark("Commonvoice", "Gender Classification", "Macro F1", 60.0, 5.0, True),
    Benchmark("Commonvoice", "Accent Classification", "Macro F1", 28.0, 6.0, True),
    Benchmark("SLURP", "Intent Detection", "Macro F1", 50.0, 12.0, False),
    Benchmark("Alpaca", "Instruction Following", "PEDANTS", 55.0, 13.0, False),
    Benchmark("Librispeech", "Speech Recognition", "WER", 7.0, -3.0, False, higher_is_better=False),
)
AUDIO_BLIND_PENALTY = (
    22.0  # a transcript-only pipeline cannot hear emotion, speaker or sarcasm cues
)
BENCHMARK_NOISE = 6.0
