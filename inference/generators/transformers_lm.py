"""transformers backends: a chat LLM reading query texts, an audio LM hearing query audio (bf16 on GPU)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from inference.audio import SAMPLE_RATE, load_audio
from inference.errors import AudioError, BackendUnavailableError
from inference.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    chat_messages,
)
from inference.systems import GenerationParams


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

    def prompt(self, text: str, history: Sequence[tuple[str, str]] = ()) -> str:
        """The chat-formatted prompt for one query after its conversation's earlier turns
        (plain role lines when the tokenizer has no template)."""
        messages = chat_messages(self.system_prompt, history, text)
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        roles = {"system": "System", "user": "User", "assistant": "Assistant"}
        lines = [f"{roles[m['role']]}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        started = time.perf_counter()
        prompts = [self.prompt(r.text or "", r.history) for r in requests]
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
        # earlier turns go as text (what the user said, this system's answers); the current
        # turn as the audio the model hears
        prompts = [
            self.processor.apply_chat_template(
                chat_messages(
                    self.system_prompt,
                    request.history,
                    [{"type": "audio", "audio_url": "query"}],
                ),
                add_generation_prompt=True,
                tokenize=False,
            )
            for request, _ in ready
        ]
        inputs = self.processor(
            text=prompts,
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
