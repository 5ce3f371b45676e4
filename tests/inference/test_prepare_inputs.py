"""How a pipeline chooses its input per query: stored transcript, fresh ASR, or typed text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from inference.infer import prepare_inputs
from inference.systems import parse_systems
from inference.transcribe import Transcriber, Transcript, transcriber_model_name

SPEC = parse_systems(
    {"systems": {"p": {"kind": "pipeline", "llm": {"model": "m"}, "batch_size": 2}}}
)["p"]
DEFAULT_ASR = transcriber_model_name("faster-whisper", "default")


class LoudnessTranscriber(Transcriber):
    """Says 'loud words' for loud audio and nothing for quiet audio; counts calls."""

    model_name = DEFAULT_ASR

    def __init__(self) -> None:
        self.batches: list[int] = []

    def transcribe(self, audios: Sequence[np.ndarray]) -> list[Transcript]:
        self.batches.append(len(audios))
        return [
            Transcript("loud words" if np.abs(a).max() > 0.2 else "", "en", -0.1) for a in audios
        ]


def _wav(path: Path, amplitude: float) -> str:
    soundfile.write(path, (amplitude * np.sin(np.arange(16_000) / 5)).astype(np.float32), 16_000)
    return str(path)


def test_pipeline_inputs_prefer_matching_transcripts_then_asr_then_typed(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"junk")
    rows = [
        ("stored", None, _wav(tmp_path / "a.wav", 0.5), "already known", DEFAULT_ASR),
        ("other-model", None, _wav(tmp_path / "b.wav", 0.5), "from another asr", "transformers:x"),
        ("fresh", None, _wav(tmp_path / "c.wav", 0.5), None, None),
        ("quiet-typed", "typed fallback", _wav(tmp_path / "d.wav", 0.01), None, None),
        ("broken", "typed but audio broken", str(broken), None, None),
        ("typed", "just typed", None, None, None),
        ("nothing", None, None, None, None),
    ]
    inputs = pd.DataFrame(
        rows,
        columns=["interaction_id", "query_text", "audio_path", "transcript", "transcript_model"],
    )
    transcriber = LoudnessTranscriber()
    stored: list[dict] = []
    prepared = prepare_inputs(inputs, SPEC, lambda: transcriber, on_transcripts=stored.extend)
    sources = {i: (info["input"], info["input_text"]) for i, info in prepared.input_info.items()}
    assert sources == {
        "stored": ("transcript", "already known"),
        "other-model": ("asr", "loud words"),
        "fresh": ("asr", "loud words"),
        "quiet-typed": ("typed", "typed fallback"),
        "typed": ("typed", "just typed"),
    }
    assert dict(prepared.failed).keys() == {"broken", "nothing"}
    assert "unreadable audio" in dict(prepared.failed)["broken"]
    assert [r["interaction_id"] for r in stored] == ["fresh"]  # another model's transcript is kept
    assert transcriber.batches == [2, 1]  # ASR is batched (batch_size 2; the broken file drops out)
    assert [r.item_id for r in prepared.requests] == [
        "stored",
        "other-model",
        "fresh",
        "quiet-typed",
        "typed",
    ]
