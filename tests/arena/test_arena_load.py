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


@pytest.mark.parametrize(("db", "servers"), [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)])
def test_pairs_left_unvoted_are_served_again_never_twice_to_a_rater_nor_over_quota(
    db: str, servers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if db == "postgresql" and not os.environ.get("ARENALENS_TEST_POSTGRES_URL"):
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set")
    result = _benchmark(monkeypatch).run_load(
        db, servers, raters=12, seconds=10, pairs=60, per_pair=2, abandon_every=4, expire_s=1.0
    )
    assert result["error_count"] == 0, result["errors"]
    assert result["stored_exactly_once"] and result["over_quota_pairs"] == 0
    assert result["served_matches_holders"] and result["given_twice"] == 0
    assert result["left_unvoted"] > 10 and result["expired"] > 10
    assert result["left_pairs_voted_later"] > 5  # their slots went to other raters
