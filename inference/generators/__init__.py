"""Generation backends as plug-ins: a small base (`base.Generator`), the batching every backend
shares (`batching.generate_all`), and one module per backend, imported only when chosen:

- `transformers_lm`: a chat LLM (pipeline systems) or an audio LM (end-to-end systems), bf16 on GPU;
- `openai_chat`: any OpenAI-compatible endpoint (OpenAI, a vLLM server, llama.cpp, Ollama), a
  text LLM or an audio model that hears the query (`input_audio`) and may answer aloud;
- `vllm_chat`: the vLLM offline engine (extra `vllm`).

A new backend is a `Generator` subclass in its own module plus one branch in `make_generator`.
"""

from __future__ import annotations

from inference.errors import BackendUnavailableError, InferenceError
from inference.generators.base import GenerationRequest, GenerationResult, Generator
from inference.generators.batching import (
    free_accelerator_memory,
    generate_all,
    is_out_of_memory,
    length_sorted_batches,
    padding_fraction,
)
from inference.systems import SystemSpec

__all__ = [
    "GenerationRequest",
    "GenerationResult",
    "Generator",
    "free_accelerator_memory",
    "generate_all",
    "is_out_of_memory",
    "length_sorted_batches",
    "make_generator",
    "padding_fraction",
]


def make_generator(
    spec: SystemSpec, backend: str | None = None, device: str | None = None
) -> Generator:
    """The generator a system declares (`backend` overrides a pipeline LLM's backend)."""
    try:
        return _make_generator(spec, backend, device)
    except OSError as exc:  # transformers: not a local folder and not downloadable here
        raise InferenceError(
            f"system {spec.name!r}: cannot load model {spec.model_id!r}: {exc}"
        ) from exc


def _make_generator(spec: SystemSpec, backend: str | None, device: str | None) -> Generator:
    if spec.speaks_itself and backend not in (None, "openai"):
        raise BackendUnavailableError(
            f"system {spec.name!r} answers aloud through its endpoint; --backend {backend} "
            f"writes text only (declare `tts:` to speak its answers)"
        )
    if spec.kind == "end_to_end" and spec.llm is None:
        from inference.generators.transformers_lm import TransformersAudioLMGenerator

        if backend not in (None, "transformers"):
            raise BackendUnavailableError(
                f"system {spec.name!r}: end_to_end systems run on transformers, not {backend!r}"
            )
        return TransformersAudioLMGenerator(
            str(spec.model),
            spec.generation,
            spec.seed,
            spec.system_prompt,
            spec.model_class,
            spec.revision,
            device,
        )
    llm = spec.llm
    assert llm is not None  # validated by SystemSpec
    chosen = backend or llm.backend
    if spec.kind == "end_to_end" and chosen != "openai":
        raise BackendUnavailableError(
            f"system {spec.name!r} is an endpoint that hears audio; it runs on openai, not {chosen!r}"
        )
    if chosen == "openai":
        from inference.generators.openai_chat import AudioReply, OpenAIChatGenerator

        if not llm.base_url:
            raise InferenceError(f"system {spec.name!r}: --backend openai needs llm.base_url")
        reply = AudioReply(llm.voice or "alloy", llm.stream_audio) if spec.speaks_itself else None
        return OpenAIChatGenerator(
            llm.model,
            llm.base_url,
            spec.generation,
            spec.seed,
            spec.system_prompt,
            llm.api_key_env,
            llm.concurrency,
            llm.timeout_s,
            hears_audio=spec.hears_audio,
            reply=reply,
        )
    if chosen == "vllm":
        from inference.generators.vllm_chat import VllmChatGenerator

        return VllmChatGenerator(
            llm.model, spec.generation, spec.seed, spec.system_prompt, llm.revision
        )
    if chosen == "transformers":
        from inference.generators.transformers_lm import TransformersChatGenerator

        return TransformersChatGenerator(
            llm.model, spec.generation, spec.seed, spec.system_prompt, llm.revision, device
        )
    raise BackendUnavailableError(
        f"unknown backend {chosen!r}; expected transformers, openai or vllm"
    )
