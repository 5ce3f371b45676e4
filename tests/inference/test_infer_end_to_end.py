"""End-to-end audio LM plumbing with a tiny random Qwen2-Audio: shapes, batching, resumption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from arenalens.store import Store
from inference import persist
from inference.generators import GenerationRequest
from inference.generators.transformers_lm import TransformersAudioLMGenerator
from inference.infer import run_system
from inference.systems import GenerationParams, parse_systems

MAX_NEW_TOKENS = 5


def _noise(path: Path, seconds: float, seed: int) -> str:
    samples = np.random.default_rng(seed).normal(0, 0.1, int(16_000 * seconds)).astype(np.float32)
    soundfile.write(path, samples, 16_000)
    return str(path)


@pytest.fixture
def audio_files(tmp_path: Path) -> dict[str, str]:
    return {
        f"a{i}": _noise(tmp_path / f"a{i}.wav", seconds, i)
        for i, seconds in enumerate([1.0, 2.5, 4.0])
    }


def test_batch_of_two_matches_one_at_a_time(
    tiny_audio_lm: Path, audio_files: dict[str, str]
) -> None:
    generator = TransformersAudioLMGenerator(
        str(tiny_audio_lm),
        GenerationParams(max_new_tokens=MAX_NEW_TOKENS),
        system_prompt="Answer.",
        device="cpu",
    )
    requests = [GenerationRequest(k, audio_path=v) for k, v in list(audio_files.items())[:2]]
    batch = generator.generate(requests)
    single = [generator.generate([r])[0] for r in requests]
    assert [r.item_id for r in batch] == ["a0", "a1"]
    assert all(r.error is None and 1 <= r.completion_tokens <= MAX_NEW_TOKENS for r in batch)
    # Audio tokens grow with duration: 2.5 s of audio makes a longer prompt than 1 s.
    assert batch[1].prompt_tokens > batch[0].prompt_tokens > 20
    assert [r.prompt_tokens for r in batch] == [r.prompt_tokens for r in single]
    assert [r.text for r in batch] == [r.text for r in single]


def test_end_to_end_system_answers_audio_queries_and_resumes(
    sqlite_store: Store,
    tiny_audio_lm: Path,
    audio_files: dict[str, str],
    tmp_path: Path,
    add_queries,
) -> None:
    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"not flac")
    add_queries(
        sqlite_store,
        [
            *((k, None, v) for k, v in audio_files.items()),
            ("bad", None, str(broken)),
            ("typed", "text only", None),
        ],
    )
    spec = parse_systems(
        {
            "systems": {
                "tiny-audio": {
                    "kind": "end_to_end",
                    "model": str(tiny_audio_lm),
                    "generation": {"max_new_tokens": MAX_NEW_TOKENS},
                    "batch_size": 2,
                }
            }
        }
    )["tiny-audio"]
    summary = run_system(sqlite_store, spec, device="cpu", progress=False)
    assert summary.requested == 4  # the typed-only query has no audio for an audio LM
    assert [i for i, _ in summary.errors] == ["bad"]
    outputs = persist.outputs_frame(sqlite_store, "tiny-audio").set_index("interaction_id")
    assert sorted(outputs.index) == ["a0", "a1", "a2", "bad"]
    assert "unreadable audio" in outputs.loc["bad", "error"]
    good = outputs.drop(index="bad")
    assert good["error"].isna().all() and (good["completion_tokens"] <= MAX_NEW_TOKENS).all()
    assert (good["params"].map(lambda p: p["input"]) == "audio").all()
    assert (
        good["params"].map(lambda p: p["model_class"] == "Qwen2AudioForConditionalGeneration").all()
    )
    rerun = run_system(sqlite_store, spec, device="cpu", progress=False)
    assert (rerun.skipped, rerun.requested) == (3, 1)  # only the broken recording is retried
