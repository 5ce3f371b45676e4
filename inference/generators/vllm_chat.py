"""vLLM offline engine (optional extra `vllm`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from inference.errors import BackendUnavailableError
from inference.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    chat_messages,
)
from inference.systems import GenerationParams


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
            chat_messages(self.system_prompt, r.history, r.text or "") for r in requests
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
