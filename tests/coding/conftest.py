"""Fixtures of the coding tests (helpers live in coding_fixtures.py)."""

from __future__ import annotations

import pytest
from coding_fixtures import make_arena

from arenalens.store import Store


@pytest.fixture
def arena_store(store: Store) -> Store:
    """The `store` fixture (SQLite and PostgreSQL) holding a 40-battle hand-made arena."""
    make_arena(store)
    return store


@pytest.fixture
def small_store(sqlite_store: Store) -> Store:
    """A SQLite store holding a 40-battle hand-made arena."""
    make_arena(sqlite_store)
    return sqlite_store


# The labeler engineer's real local OpenAI-compatible server (SmolLM2 via llama-cpp-python).
from llm_server_fixture import llm_server, llm_server_url  # noqa: E402, F401
