"""Any OpenAI-compatible chat endpoint (OpenAI, a vLLM server, llama.cpp, Ollama), queried concurrently."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from inference.errors import InferenceError
from inference.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    chat_messages,
)
from inference.systems import GenerationParams


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
                messages=chat_messages(self.system_prompt, request.history, request.text or ""),
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
