"""Two `arenalens code` processes on one workspace never both pay the LLM for the same items."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_server import FaultServer

from arenalens.store import Store
from arenalens.store import tables as t

REPO_ROOT = Path(__file__).resolve().parents[2]
ARENALENS = [sys.executable, "-c", "from arenalens.cli import main; main()"]
ITEMS = 24


def _arena(db_url: str) -> None:
    store = Store.open(db_url)
    rows = [
        {"id": f"i{k}", "query_text": f"question {k}", "model_a": "A", "model_b": "B",
         "winner": "model_a", "content_hash": hashlib.sha256(f"i{k}".encode()).hexdigest()}
        for k in range(ITEMS)
    ]  # fmt: skip
    store.insert_ignore(t.interactions, rows)
    store.insert_ignore(
        t.feedback,
        [
            {"id": f"f{k}", "interaction_id": f"i{k}", "text": f"A was clearer {k}"}
            for k in range(ITEMS)
        ],
    )
    store.engine.dispose()


def _code(db_url: str, workspace: Path, server: FaultServer, *extra: str) -> subprocess.Popen:
    args = [
        "--workspace", str(workspace), "--db", db_url, "--labeler", "llm",
        "--llm-base-url", server.base_url, "--llm-model", "slow", "code", "--batch-size", "6", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [*ARENALENS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _wait_for_first_call(server: FaultServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not server.requests and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert server.requests, process.communicate()[1]


@pytest.mark.slow
def test_a_second_code_process_stops_naming_the_holder(db_url: str, tmp_path: Path) -> None:
    _arena(db_url)
    with FaultServer([("hang", 20), ("hang", 0)]) as server:  # the first call takes 20 s
        first = _code(db_url, tmp_path, server, "--json")
        try:
            _wait_for_first_call(server, first)
            second = _code(db_url, tmp_path, server)
            out, err = second.communicate(timeout=120)
            assert second.returncode == 2  # a user error: one line, exit code 2
            [line] = err.strip().splitlines()  # one clean line, no traceback
            assert f"pid {first.pid} on " in line and "since" in line and "coding" in line
            out, err = first.communicate(timeout=300)
            assert first.returncode == 0, err
        finally:
            first.kill()
        assert json.loads(out)["coded_now"] == ITEMS
        assert len(server.requests) == ITEMS  # one call per item, all by the first process


@pytest.mark.slow
def test_a_waiting_code_process_codes_only_what_is_left(db_url: str, tmp_path: Path) -> None:
    _arena(db_url)
    with FaultServer([("hang", 15), ("hang", 0)]) as server:
        first = _code(db_url, tmp_path, server, "--limit", "12")
        try:
            _wait_for_first_call(server, first)
            second = _code(db_url, tmp_path, server, "--wait", "--json")
            out, err = second.communicate(timeout=300)
            assert second.returncode == 0, err
            assert first.wait(timeout=300) == 0
        finally:
            first.kill()
        waited = json.loads(out)
        assert (waited["already_coded"], waited["coded_now"]) == (12, ITEMS - 12)
        assert len(server.requests) == ITEMS  # one call per item: none paid twice
