"""What every generation backend implements: a batch of requests in, one result per request out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class GenerationRequest:
    """One query for a system: the text a pipeline's LLM reads, or the audio an audio LM hears."""

    item_id: str
    text: str | None = None
    audio_path: str | None = None
    length: float = 0.0  # characters or seconds: what batches are sorted by
    # earlier turns of the conversation: (what the user said, what this system answered)
    history: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GenerationResult:
    """One answer (or the reason there is none) with its cost (and its audio, when spoken)."""

    item_id: str
    text: str | None
    error: str | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # a model that answers aloud itself: the answer as WAV bytes (`text` is its transcript), and
    # seconds from the request to its first audio; `inference.speech.keep_spoken_answer` stores it
    audio: bytes | None = None
    first_audio_s: float | None = None


def chat_messages(system_prompt: str, history: Sequence[tuple[str, str]], user: Any) -> list[dict]:
    """The chat every backend sends: the system prompt, the earlier turns (each user message
    and this system's own answer), then the user's message (`user`: text, or a content list)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
    for said, answered in history:
        messages += [
            {"role": "user", "content": said},
            {"role": "assistant", "content": answered},
        ]
    messages.append({"role": "user", "content": user})
    return messages


class Generator(ABC):
    """Answers a batch of requests; `model_revision` is stored with every output."""

    model_revision: str | None = None

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Answer one batch (raise on out-of-memory so the caller can shrink the batch)."""
