"""Batched generation: length-sorted, padding-aware batches; bf16 on GPU; shrink-and-retry on OOM."""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from inference.audio import SAMPLE_RATE, load_audio
from inference.errors import AudioError, BackendUnavailableError, InferenceError
from inference.systems import GenerationParams, SystemSpec


@dataclass
class GenerationRequest:
    """One query for a system: the text a pipeline's LLM reads, or the audio an audio LM hears."""

    item_id: str
    text: str | None = None
    audio_path: str | None = None
    length: float = 0.0  # characters or seconds: what batches are sorted by

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GenerationResult:
    """One answer (or the reason there is none) with its cost."""

    item_id: str
    text: str | None
    error: str | None = None
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Generator(ABC):
    """Answers a batch of requests; `model_revision` is stored with every output."""

    model_revision: str | None = None

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Answer one batch (raise on out-of-memory so the caller can shrink the batch)."""


# -- batching ------------------------------------------------------------------


def length_sorted_batches(
    lengths: Sequence[float], batch_size: int, max_batch_length: float | None = None
) -> list[list[int]]:
    """Indices grouped longest-first so each batch pads little; the first batch is the heaviest.

    `max_batch_length` caps batch_size x longest item (a token or seconds budget)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        too_long = (
            max_batch_length is not None
            and current
            and longest * (len(current) + 1) > max_batch_length
        )
        if len(current) == batch_size or too_long:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def padding_fraction(lengths: Sequence[float], batches: Sequence[Sequence[int]]) -> float:
    """Share of a padded batch that is padding (what length sorting minimises)."""
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches if b)
    return 1.0 - sum(lengths) / padded if padded else 0.0


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA (or CPU allocator) out-of-memory, whatever wrapper it arrives in."""
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def _free_accelerator_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def _next_batch(
    order: Sequence[GenerationRequest], position: int, size: int, max_batch_length: float | None
) -> Sequence[GenerationRequest]:
    """Up to `size` requests from `position`, within the length budget (always at least one)."""
    batch = order[position : position + size]
    if max_batch_length is None or not batch:
        return batch
    fits = max(1, int(max_batch_length // max(batch[0].length, 1e-9)))  # batch[0] is the longest
    return batch[:fits]


def generate_all(
    requests: Sequence[GenerationRequest],
    generator: Generator,
    batch_size: int,
    on_batch: Callable[[list[GenerationResult]], None] | None = None,
    progress: bool = True,
    max_batch_length: float | None = None,
) -> list[GenerationResult]:
    """Answer all requests longest-first; on OOM halve the batch and retry (and keep it smaller).

    `max_batch_length` caps batch size x longest item, so batches of short items can be larger."""
    from tqdm.auto import tqdm

    order = sorted(requests, key=lambda r: (-r.length, r.item_id))
    results: list[GenerationResult] = []
    current = max(1, batch_size)
    position = 0
    bar = tqdm(total=len(order), desc="generate", unit="query", disable=not progress)
    while position < len(order):
        batch = _next_batch(order, position, current, max_batch_length)
        try:
            answers = generator.generate(batch)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            _free_accelerator_memory()
            if len(batch) == 1:
                answers = [GenerationResult(batch[0].item_id, None, error=f"out of memory: {exc}")]
            else:
                current = max(1, len(batch) // 2)
                continue
        if on_batch:
            on_batch(answers)
        results.extend(answers)
        position += len(batch)
        bar.update(len(batch))
    bar.close()
    return results


# -- transformers --------------------------------------------------------------


def _device_and_dtype(device: str | None) -> tuple[str, Any]:
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    return device, (torch.bfloat16 if device.startswith("cuda") else torch.float32)


def _completion_lengths(new_tokens: Any, stop_ids: set[int]) -> list[int]:
    lengths = []
    for row in new_tokens.tolist():
        stop = next((i for i, tok in enumerate(row) if tok in stop_ids), None)
        lengths.append(len(row) if stop is None else stop + 1)
    return lengths


class _TransformersGenerator(Generator):
    """Shared decoding of a padded batch with `model.generate` (seeded, inference mode)."""

    def __init__(self, params: GenerationParams, seed: int, system_prompt: str):
        self.params = params
        self.seed = seed
        self.system_prompt = system_prompt

    def _decode(
        self, inputs: dict[str, Any], tokenizer: Any, ids: Sequence[str], started: float
    ) -> list[GenerationResult]:
        import torch

        torch.manual_seed(self.seed)
        sampling = (
            {"do_sample": True, "temperature": self.params.temperature, "top_p": self.params.top_p}
            if self.params.do_sample
            else {"do_sample": False}
        )
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=self.params.max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
                **sampling,
            )
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        stop_ids = {tokenizer.eos_token_id, tokenizer.pad_token_id} - {None}
        completion = _completion_lengths(new_tokens, stop_ids)
        prompt = inputs["attention_mask"].sum(dim=1).tolist()
        texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        elapsed = time.perf_counter() - started
        return [
            GenerationResult(item_id, text.strip(), None, elapsed, int(p), int(c))
            for item_id, text, p, c in zip(ids, texts, prompt, completion, strict=True)
        ]


class TransformersChatGenerator(_TransformersGenerator):
    """A transformers causal LM answering query texts through its chat template (pipeline LLM)."""

    def __init__(
        self,
        model: str,
        params: GenerationParams,
        seed: int = 0,
        system_prompt: str = "",
        revision: str | None = None,
        device: str | None = None,
    ):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(params, seed, system_prompt)
        self.device, dtype = _device_and_dtype(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = (
            AutoModelForCausalLM.from_pretrained(model, revision=revision, dtype=dtype)
            .to(self.device)
            .eval()
        )
        self.model_revision = revision or getattr(self.model.config, "_commit_hash", None)

    def prompt(self, text: str) -> str:
        """The chat-formatted prompt for one query (plain role lines when no template exists)."""
        messages = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": text},
        ]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        return f"System: {self.system_prompt}\nUser: {text}\nAssistant:"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        started = time.perf_counter()
        prompts = [self.prompt(r.text or "") for r in requests]
        inputs = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        )
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        return self._decode(inputs, self.tokenizer, [r.item_id for r in requests], started)


class TransformersAudioLMGenerator(_TransformersGenerator):
    """An audio-language model (e.g. Qwen2-Audio) hearing the query audio directly (end to end)."""

    def __init__(
        self,
        model: str,
        params: GenerationParams,
        seed: int = 0,
        system_prompt: str = "",
        model_class: str = "Qwen2AudioForConditionalGeneration",
        revision: str | None = None,
        device: str | None = None,
    ):
        import transformers
        from transformers import AutoProcessor

        super().__init__(params, seed, system_prompt)
        cls = getattr(transformers, model_class, None)
        if cls is None:
            raise BackendUnavailableError(
                f"transformers {transformers.__version__} has no model class {model_class!r}"
            )
        self.device, dtype = _device_and_dtype(device)
        self.processor = AutoProcessor.from_pretrained(model, revision=revision)
        self.processor.tokenizer.padding_side = "left"
        self.model = (
            cls.from_pretrained(model, revision=revision, dtype=dtype).to(self.device).eval()
        )
        self.dtype = dtype
        self.model_revision = revision or getattr(self.model.config, "_commit_hash", None)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        started = time.perf_counter()
        failed: list[GenerationResult] = []
        ready: list[tuple[GenerationRequest, np.ndarray]] = []
        for request in requests:
            try:
                if not request.audio_path:
                    raise AudioError(f"query {request.item_id} has no audio")
                ready.append((request, load_audio(request.audio_path)))
            except AudioError as exc:
                failed.append(GenerationResult(request.item_id, None, error=str(exc)))
        if not ready:
            return failed
        conversation = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": [{"type": "audio", "audio_url": "query"}]},
        ]
        prompt = self.processor.apply_chat_template(
            conversation, add_generation_prompt=True, tokenize=False
        )
        inputs = self.processor(
            text=[prompt] * len(ready),
            audio=[audio for _, audio in ready],
            sampling_rate=SAMPLE_RATE,
            return_tensors="pt",
            padding=True,
        )
        inputs = {
            k: (v.to(self.device, self.dtype) if v.is_floating_point() else v.to(self.device))
            for k, v in inputs.items()
        }
        answers = self._decode(
            inputs, self.processor.tokenizer, [r.item_id for r, _ in ready], started
        )
        return answers + failed


# -- OpenAI-compatible endpoint ------------------------------------------------


class OpenAIChatGenerator(Generator):
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM server, llama.cpp, Ollama), concurrent."""

    def __init__(
        self,
        model: str,
        base_url: str,
        params: GenerationParams,
        seed: int = 0,
        system_prompt: str = "",
        api_key_env: str = "ARENALENS_LLM_API_KEY",
        concurrency: int = 4,
        timeout_s: float = 120.0,
        max_retries: int = 5,
    ):
        from openai import OpenAI

        # The key is read from the environment when needed and never stored or logged.
        self._client = OpenAI(
            base_url=base_url,
            api_key=os.environ.get(api_key_env) or "not-needed",
            timeout=timeout_s,
            max_retries=max_retries,
        )
        self.model = model
        self.base_url = base_url
        self.params = params
        self.seed = seed
        self.system_prompt = system_prompt
        self.concurrency = concurrency
        self.model_revision: str | None = None

    def _one(self, request: GenerationRequest) -> GenerationResult:
        from openai import APIConnectionError, OpenAIError

        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": self.system_prompt},
                    {"role": "user", "content": request.text or ""},
                ],
                max_tokens=self.params.max_new_tokens,
                temperature=self.params.temperature,
                top_p=self.params.top_p,
                seed=self.seed,
            )
        except APIConnectionError as exc:
            # An unreachable endpoint is not a per-query failure: stop instead of failing every query.
            raise InferenceError(f"cannot reach the LLM endpoint {self.base_url}: {exc}") from exc
        except OpenAIError as exc:
            return GenerationResult(request.item_id, None, error=f"{type(exc).__name__}: {exc}")
        usage = response.usage
        self.model_revision = response.system_fingerprint or response.model or self.model_revision
        return GenerationResult(
            request.item_id,
            (response.choices[0].message.content or "").strip(),
            None,
            time.perf_counter() - started,
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._one, requests))


# -- vLLM ----------------------------------------------------------------------


class VllmChatGenerator(Generator):
    """vLLM offline engine (optional extra `vllm`): continuous batching on the GPU, bf16."""

    def __init__(
        self,
        model: str,
        params: GenerationParams,
        seed: int = 0,
        system_prompt: str = "",
        revision: str | None = None,
    ):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as exc:
            raise BackendUnavailableError(
                "--backend vllm needs vLLM: pip install 'arenalens[vllm]' on a GPU machine"
            ) from exc
        self._llm = LLM(model=model, revision=revision, dtype="bfloat16", seed=seed)
        self._sampling = SamplingParams(
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_new_tokens,
            seed=seed,
        )
        self.system_prompt = system_prompt
        self.model_revision = revision

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        started = time.perf_counter()
        conversations = [
            [
                {"role": "system", "content": self.system_prompt},
                {"role": "user", "content": r.text or ""},
            ]
            for r in requests
        ]
        outputs = self._llm.chat(conversations, self._sampling, use_tqdm=False)
        elapsed = time.perf_counter() - started
        return [
            GenerationResult(
                r.item_id,
                o.outputs[0].text.strip(),
                None,
                elapsed,
                len(o.prompt_token_ids),
                len(o.outputs[0].token_ids),
            )
            for r, o in zip(requests, outputs, strict=True)
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
    if spec.kind == "end_to_end":
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
    if chosen == "openai":
        if not llm.base_url:
            raise InferenceError(f"system {spec.name!r}: --backend openai needs llm.base_url")
        return OpenAIChatGenerator(
            llm.model,
            llm.base_url,
            spec.generation,
            spec.seed,
            spec.system_prompt,
            llm.api_key_env,
            llm.concurrency,
            llm.timeout_s,
        )
    if chosen == "vllm":
        return VllmChatGenerator(
            llm.model, spec.generation, spec.seed, spec.system_prompt, llm.revision
        )
    if chosen == "transformers":
        return TransformersChatGenerator(
            llm.model, spec.generation, spec.seed, spec.system_prompt, llm.revision, device
        )
    raise BackendUnavailableError(
        f"unknown backend {chosen!r}; expected transformers, openai or vllm"
    )
