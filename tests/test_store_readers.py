"""Readers are never blocked by a writer: opening a current store writes nothing, SQLite WAL
readers run during a long write, and `status`/`rank` succeed while a big ingest is running."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from arenalens.config import Settings
from arenalens.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
ARENALENS = [sys.executable, "-c", "from arenalens.cli import main; main()"]

# Holds SQLite's single write lock (an open write transaction) until killed.
HOLD_THE_WRITE_LOCK = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO model_aliases (alias, canonical) VALUES ('held', 'lock')")
    print("holding", flush=True)
    time.sleep(300)
    """
)


def _arenalens(workspace: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*ARENALENS, "--workspace", str(workspace), *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=timeout,
    )


def _votes(path: Path, n: int, seed: int = 0, prefix: str = "v") -> Path:
    rng = random.Random(seed)
    models = [f"model-{i}" for i in range(6)]
    with path.open("w") as out:
        for i in range(n):
            a, b = rng.sample(models, 2)
            winner = rng.choice(["model_a", "model_b", "tie"])
            row = {"id": f"{prefix}{i}", "query_text": f"q {i}", "model_a": a, "model_b": b}
            out.write(json.dumps({**row, "winner": winner, "user_id": f"u{i % 997}"}) + "\n")
    return path


def test_opening_a_current_store_writes_nothing(tmp_path: Path) -> None:
    settings = Settings(workspace=tmp_path)
    Store.open(settings.db_url).engine.dispose()
    db_file = tmp_path / "arenalens.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(db_file)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        for read_only in (False, True):
            store = Store.open(settings.db_url, read_only=read_only)
            assert store.status()["interactions"] == 0  # the held insert is not visible
            store.engine.dispose()
        status = _arenalens(tmp_path, "status", "--json", timeout=120)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["aliases"] == 0
        assert time.monotonic() - started < 20  # no wait for the writer (it never commits)
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_status_and_rank_succeed_during_a_300k_row_ingest(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    first = _arenalens(workspace, "ingest", str(_votes(tmp_path / "first.jsonl", 2000)))
    assert first.returncode == 0, first.stderr
    big = _votes(tmp_path / "big.jsonl", 300_000, seed=1, prefix="big")
    ingest = subprocess.Popen(
        [*ARENALENS, "--workspace", str(workspace), "ingest", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        wal = workspace / "arenalens.sqlite-wal"
        deadline = time.monotonic() + 120
        while (not wal.exists() or wal.stat().st_size < 4_000_000) and time.monotonic() < deadline:
            time.sleep(0.2)  # wait until the ingest is writing rows
        assert ingest.poll() is None, "the ingest finished before the readers could overlap it"
        status = _arenalens(workspace, "status", "--json", timeout=120)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["votes"] == 2000  # the last committed state
        assert ingest.poll() is None  # status answered while the ingest was still writing
        rank = _arenalens(workspace, "rank", "--json", "--bootstrap", "50")
        assert rank.returncode == 0, rank.stderr
        assert json.loads(rank.stdout)["votes"] in (2000, 302_000)
        assert ingest.wait(timeout=600) == 0, ingest.stderr
    finally:
        ingest.kill()
    final = json.loads(_arenalens(workspace, "status", "--json").stdout)
    assert final["votes"] == 302_000 and final["stages"]["ranking"]["runs"] == 1
