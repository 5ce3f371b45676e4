"""A small arena of both kinds (issue 26) for the analysis tests: single-turn votes on text
answers and two-turn conversations whose answers were heard (response WAVs), with a vote on
the last turn. Spoken and text boards order the four models differently; on spoken answers
the shorter answer wins more often whoever gives it (the fast talker wins because it is fast)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from test_paths import wav_bytes

from arenalens.ingest import ingest_interactions
from arenalens.store import Store

SECOND = 16_000  # samples of one second in `wav_bytes`
MODELS = ("ava", "bo", "cy", "dee")
TEXT_STRENGTH = {"ava": 1.2, "bo": 0.6, "cy": 0.0, "dee": -0.6}
SPEECH_STRENGTH = {"ava": -0.4, "bo": 0.0, "cy": 0.6, "dee": 0.3}
# seconds a model's spoken answers may last: ava is the slow talker, cy the fast one
DURATIONS_S = {"ava": (3, 4), "bo": (1, 2, 3, 4), "cy": (1, 2), "dee": (1, 2, 3, 4)}
SHORTER_WINS = 2.0  # log-odds per unit of (d_b - d_a) / (d_a + d_b) on spoken answers
ANSWERS = (
    "It will be sunny and warm with a light breeze all afternoon long",  # 13 words
    "Sunny and warm all afternoon",  # 5 words
)
TOPICS = [
    ("what is the weather in paris today", "and what about tomorrow"),
    ("set a timer for ten minutes", "make it fifteen minutes instead"),
    ("how do i bake banana bread", "how long does it stay in the oven"),
    ("what is the weather in paris today", "play some relaxing jazz music"),  # changes topic
    ("translate good morning into spanish", "now say it in french"),
    ("how many ounces are in a pound", "write me a short poem about the sea"),  # changes topic
]
TEXT_QUERIES = [
    "recommend a good science fiction book",
    "what is the capital of peru",
    "tell me a joke about cats",
    "how far is the moon from earth",
    "what should i cook for dinner tonight",
]
SPOKEN_FEEDBACK = [
    "The winner talked at a comfortable pace, the other one dragged every word out.",
    "A spoke so slowly that I lost patience.",
    "There was static all over the losing answer.",
    "",
]
TEXT_FEEDBACK = ["The winner answered my question.", "The other one got the facts wrong.", ""]


def _winner(
    rng: np.random.Generator, a: str, b: str, strength: dict[str, float], shorter: float = 0.0
) -> str:
    p = 1 / (1 + np.exp(strength[b] - strength[a] - shorter))
    return "model_a" if rng.random() < p else "model_b"


def write_speech_arena(
    folder: Path, n_text: int = 80, n_conversations: int = 72, seed: int = 0
) -> tuple[Path, Path]:
    """(the conversations' JSONL, the single-turn JSONL), their WAVs under folder/audio."""
    rng = np.random.default_rng(seed)
    audio = folder / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    for seconds in range(1, 5):
        (audio / f"{seconds}s.wav").write_bytes(wav_bytes(seconds * SECOND))
    pairs = [(a, b) for a in MODELS for b in MODELS if a != b]
    spoken = []
    for k in range(n_conversations):
        a, b = pairs[k % len(pairs)]
        first, second = TOPICS[k % len(TOPICS)]
        da, db = (int(rng.choice(DURATIONS_S[m])) for m in (a, b))
        said = {"response_a": str(rng.choice(ANSWERS)), "response_b": str(rng.choice(ANSWERS))}
        heard = {"response_audio_a": f"audio/{da}s.wav", "response_audio_b": f"audio/{db}s.wav"}
        winner = _winner(rng, a, b, SPEECH_STRENGTH, SHORTER_WINS * (db - da) / (da + db))
        spoken.append(
            {
                "conversation_id": f"c{k}",
                "user_id": f"u{k % 12}",
                "model_a": a,
                "model_b": b,
                "winner": winner,
                "feedback": SPOKEN_FEEDBACK[k % len(SPOKEN_FEEDBACK)] or None,
                "turns": [
                    {"query_text": first, **said, **heard},
                    {"query_text": second, **said, **heard,
                     "time_to_first_audio_s_a": 0.5 + 0.1 * (k % 3),
                     "time_to_first_audio_s_b": 0.6 + 0.1 * (k % 4)},
                ],
            }
        )  # fmt: skip
    text = []
    for k in range(n_text):
        a, b = pairs[(k * 5) % len(pairs)]
        text.append(
            {
                "id": f"s{k}",
                "user_id": f"v{k % 10}",
                "query_text": TEXT_QUERIES[k % len(TEXT_QUERIES)],
                "model_a": a,
                "model_b": b,
                "response_a": ANSWERS[k % 2],
                "response_b": ANSWERS[(k + 1) % 2],
                "winner": _winner(rng, a, b, TEXT_STRENGTH),
                "feedback": TEXT_FEEDBACK[k % len(TEXT_FEEDBACK)] or None,
            }
        )
    paths = folder / "talks.jsonl", folder / "typed.jsonl"
    for path, records in zip(paths, (spoken, text), strict=True):
        path.write_text(
            "".join(
                json.dumps({k: v for k, v in r.items() if v is not None}) + "\n" for r in records
            )
        )
    return paths


def load_speech_arena(store: Store, folder: Path, **kwargs: int) -> None:
    """Ingest both files of `write_speech_arena` into `store`."""
    for path in write_speech_arena(folder, **kwargs):
        ingest_interactions(store, path, progress=False)
