"""A bounded load test of the serving path (benchmarks/arena_load.py): 20 raters voting at
once, on SQLite and PostgreSQL, with one server process and with two sharing PostgreSQL."""

from __future__ import annotations

import importlib
import os
import sys
import types
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "arena_load.py"


def _benchmark(monkeypatch: pytest.MonkeyPatch):
    """The script as a module its spawned server processes can import again by name."""
    # a spawned process re-runs the parent's __main__ file: after an AppTest that is a page
    # script (arena/app.py), which must not run in the server processes
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    return importlib.import_module("arena_load")


@pytest.mark.parametrize(("db", "servers"), [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)])
def test_twenty_raters_at_once_store_each_vote_once_within_quota(
    db: str, servers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db == "postgresql" and not os.environ.get("ARENALENS_TEST_POSTGRES_URL"):
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set")
    result = _benchmark(monkeypatch).run_load(
        db, servers, raters=20, seconds=12, pairs=600, per_pair=3
    )
    assert result["error_count"] == 0, result["errors"]
    assert result["votes_accepted"] > 100
    assert result["stored_exactly_once"]
    assert result["over_quota_pairs"] == 0
