"""Any OpenAI-compatible chat endpoint (OpenAI, a vLLM server, llama.cpp, Ollama), queried
concurrently: a text LLM, or an audio model that hears the query (`input_audio`) and may answer
aloud itself (`modalities: ["text", "audio"]`: the reply carries base64 audio and its transcript)."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from inference.audio import audio_for_upload, pcm16_wav
from inference.errors import AudioError, InferenceError
from inference.generators.base import (
    GenerationRequest,
    GenerationResult,
    Generator,
    chat_messages,
)
from inference.systems import GenerationParams

# OpenAI streams spoken answers as 16-bit mono PCM at 24 kHz (the only streamed audio format)
STREAMED_PCM_RATE = 24_000
NO_AUDIO = (
    "the endpoint sent no audio (is its model one that answers aloud? a text LLM needs `tts:` "
    "to speak its answers)"
)


@dataclass(frozen=True)
class AudioReply:
    """Ask the endpoint to answer aloud in `voice`: WAV in one piece, or streamed PCM chunks
    (`stream`: time to first audio is then the first chunk, not the whole answer)."""

    voice: str = "alloy"
    stream: bool = False


class OpenAIChatGenerator(Generator):
    """Any OpenAI-compatible chat endpoint (OpenAI, vLLM server, llama.cpp, Ollama), concurrent.

    `hears_audio`: a query with audio is sent as an `input_audio` part (a typed query as text);
    `reply`: the endpoint answers aloud and each result carries its audio."""

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
        hears_audio: bool = False,
        reply: AudioReply | None = None,
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
        self.hears_audio = hears_audio
        self.reply = reply
        self.model_revision: str | None = None

    def _user_content(self, request: GenerationRequest) -> Any:
        """What the user said: the query's audio as an `input_audio` part, else its text."""
        if not (self.hears_audio and request.audio_path):
            return request.text or ""
        data, audio_format = audio_for_upload(request.audio_path)
        encoded = base64.b64encode(data).decode("ascii")
        return [{"type": "input_audio", "input_audio": {"data": encoded, "format": audio_format}}]

    def _arguments(self, request: GenerationRequest) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(
                self.system_prompt, request.history, self._user_content(request)
            ),
            "max_tokens": self.params.max_new_tokens,
            "temperature": self.params.temperature,
            "top_p": self.params.top_p,
            "seed": self.seed,
        }
        if self.reply is not None:
            audio_format = "pcm16" if self.reply.stream else "wav"
            arguments["modalities"] = ["text", "audio"]
            arguments["audio"] = {"voice": self.reply.voice, "format": audio_format}
            if self.reply.stream:
                arguments["stream"] = True
                arguments["stream_options"] = {"include_usage": True}
        return arguments

    def _one(self, request: GenerationRequest) -> GenerationResult:
        from openai import APIConnectionError, OpenAIError

        started = time.perf_counter()
        try:
            arguments = self._arguments(request)
            if self.reply is not None and self.reply.stream:
                return self._streamed(request.item_id, arguments, started)
            response = self._client.chat.completions.create(**arguments)
        except AudioError as exc:
            return GenerationResult(request.item_id, None, error=f"query audio: {exc}")
        except APIConnectionError as exc:
            # An unreachable endpoint is not a per-query failure: stop instead of failing every query.
            raise InferenceError(f"cannot reach the LLM endpoint {self.base_url}: {exc}") from exc
        except OpenAIError as exc:
            return GenerationResult(request.item_id, None, error=f"{type(exc).__name__}: {exc}")
        latency = time.perf_counter() - started
        usage = response.usage
        self.model_revision = response.system_fingerprint or response.model or self.model_revision
        message = response.choices[0].message
        text, audio = message.content, None
        if self.reply is not None:
            spoken = message.audio
            if spoken is None or not spoken.data:
                return GenerationResult(request.item_id, None, NO_AUDIO, latency)
            text = spoken.transcript or text
            audio = base64.b64decode(spoken.data)
        return GenerationResult(
            request.item_id,
            (text or "").strip(),
            None,
            latency,
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            audio=audio,
            first_audio_s=latency if audio is not None else None,  # it all came at once
        )

    def _streamed(
        self, item_id: str, arguments: dict[str, Any], started: float
    ) -> GenerationResult:
        """A spoken answer read as a stream: PCM chunks, their transcript, the first chunk timed."""
        pcm, transcript, content = bytearray(), [], []
        first: float | None = None
        usage = None
        for chunk in self._client.chat.completions.create(**arguments):
            usage = chunk.usage or usage
            self.model_revision = chunk.system_fingerprint or chunk.model or self.model_revision
            delta = chunk.choices[0].delta if chunk.choices else None
            if delta is None:
                continue
            content.append(delta.content or "")
            audio = delta.audio
            if audio is not None and audio.data:
                if first is None:
                    first = time.perf_counter() - started
                pcm += base64.b64decode(audio.data)
            if audio is not None and audio.transcript:
                transcript.append(audio.transcript)
        latency = time.perf_counter() - started
        if not pcm:
            return GenerationResult(item_id, None, NO_AUDIO, latency)
        return GenerationResult(
            item_id,
            ("".join(transcript) or "".join(content)).strip(),
            None,
            latency,
            usage.prompt_tokens if usage else None,
            usage.completion_tokens if usage else None,
            audio=pcm16_wav(bytes(pcm), STREAMED_PCM_RATE),
            first_audio_s=first,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._one, requests))
