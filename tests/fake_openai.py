"""A loopback fake of an OpenAI-compatible server for the tests of systems that speak (issue 26):

- chat completions answer "answer N" for a chat holding N-1 earlier answers;
- asked for `modalities: ["text", "audio"]`, a chat answers aloud: base64 WAV plus transcript,
  or, with `stream: true`, PCM16 chunks at 24 kHz with the transcript, the first chunk after
  `FIRST_AUDIO_DELAY_S` and the rest `CHUNK_GAP_S` apart (model `TEXT_ONLY` ignores the audio
  request, voice "broken" sends bytes that are not audio);
- /v1/audio/speech streams a WAV after `FIRST_AUDIO_DELAY_S` (text, when the voice is "broken").

Every request body is recorded in `FakeOpenAI.requests` as (path, body).
"""

from __future__ import annotations

import base64
import io
import json
import math
import struct
import threading
import time
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIRST_AUDIO_DELAY_S = 0.3  # the fake waits this long before its first audio
CHUNK_GAP_S = 0.1  # between streamed audio chunks
STREAM_CHUNKS = 4
TEXT_ONLY = "text-only-llm"  # a model that answers in text whatever it is asked


def tone_pcm(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """16-bit mono PCM of a 440 Hz tone (audio, not silence)."""
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * k / rate)))
        for k in range(int(seconds * rate))
    )


def tone_wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A WAV of a 440 Hz tone."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes(tone_pcm(seconds, rate))
    return buffer.getvalue()


def _completion(model: str, message: dict) -> dict:
    return {
        "id": "x", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }  # fmt: skip


def _chunk(model: str, delta: dict | None, usage: dict | None = None) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}]
    body = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": choices, "usage": usage}  # fmt: skip
    return f"data: {json.dumps(body)}\n\n".encode()


class FakeOpenAI(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]] = []

    def _send(self, data: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        if self.path.endswith("/audio/speech"):
            time.sleep(FIRST_AUDIO_DELAY_S)
            data = b"not audio" if body.get("voice") == "broken" else tone_wav()
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for start in range(0, len(data), 4096):
                self.wfile.write(data[start : start + 4096])
            return
        model = body["model"]
        answer = f"answer {sum(m['role'] == 'assistant' for m in body['messages']) + 1}"
        spoken = "audio" in (body.get("modalities") or []) and model != TEXT_ONLY
        if not spoken:
            message = {"role": "assistant", "content": answer}
            self._send(json.dumps(_completion(model, message)).encode(), "application/json")
            return
        broken = body["audio"]["voice"] == "broken"
        time.sleep(FIRST_AUDIO_DELAY_S)
        if not body.get("stream"):
            data = b"not audio" if broken else tone_wav()
            audio = {"id": "audio_1", "data": base64.b64encode(data).decode(),
                     "expires_at": 0, "transcript": answer}  # fmt: skip
            message = {"role": "assistant", "content": None, "audio": audio}
            self._send(json.dumps(_completion(model, message)).encode(), "application/json")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(_chunk(model, {"role": "assistant"}))
        pcm = tone_pcm(1.0, 24_000)
        size = len(pcm) // STREAM_CHUNKS
        for n in range(STREAM_CHUNKS):
            piece = pcm[n * size : (n + 1) * size]
            audio = {"id": "audio_1", "data": base64.b64encode(piece).decode()}
            if n == 0:
                audio["transcript"] = answer
            self.wfile.write(_chunk(model, {"audio": audio}))
            self.wfile.flush()
            time.sleep(CHUNK_GAP_S)
        usage = {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        self.wfile.write(_chunk(model, None, usage))
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args: object) -> None:
        pass


def serve_fake_openai() -> Iterator[str]:
    """Serve the fake on a free loopback port; yields its base URL (ending in /v1)."""
    FakeOpenAI.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
