"""A loopback stand-in for /v1/chat/completions that injects faults from a script.

Each request takes the next step of the script (the last step repeats):
  ("ok", content)              200 with `content` as the assistant message
  ("status", code, headers)    an error status with an OpenAI-style error body
  ("hang", seconds)            sleep past the client's timeout, then answer 200
  ("garbage",)                 200 whose body is not JSON at all
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SeenRequest:
    """One request the fault server received."""

    at: float
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass
class FaultServer:
    """Serve scripted replies on 127.0.0.1; use as a context manager."""

    script: Sequence[tuple[Any, ...]]
    usage: tuple[int, int] = (11, 7)  # prompt, completion tokens per successful reply
    requests: list[SeenRequest] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> FaultServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with owner._lock:
                    index = len(owner.requests)
                    owner.requests.append(
                        SeenRequest(
                            time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body
                        )
                    )
                    owner._in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner._in_flight)
                    step = owner.script[min(index, len(owner.script) - 1)]
                try:
                    self._answer(step, body)
                finally:
                    with owner._lock:
                        owner._in_flight -= 1

            def _answer(self, step: tuple[Any, ...], body: dict[str, Any]) -> None:
                kind = step[0]
                if kind == "status":
                    code, headers = step[1], (step[2] if len(step) > 2 else {})
                    message = step[3] if len(step) > 3 else f"injected {code}"
                    payload = {"error": {"message": message, "type": "injected", "code": code}}
                    self._send(code, json.dumps(payload).encode(), headers)
                elif kind == "garbage":
                    self._send(200, b"<html>not json", {"Content-Type": "application/json"})
                else:
                    if kind == "hang":
                        time.sleep(step[1])
                    content = step[1] if kind == "ok" else '{"labels": []}'
                    self._send(200, json.dumps(owner.completion(body, content)).encode(), {})

            def _send(self, code: int, data: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(code)
                    self.send_header(
                        "Content-Type", headers.get("Content-Type", "application/json")
                    )
                    for name, value in headers.items():
                        if name != "Content-Type":
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) before the answer came

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt, completion = self.usage
        return {
            "id": "chatcmpl-fault",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fault"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }
