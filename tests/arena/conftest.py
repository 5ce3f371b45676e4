"""Arena fixtures: a workspace with a replay campaign of a few blind pairs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from arena import persist
from arena.pairs import PAIR_COLUMNS
from arenalens.config import Settings
from arenalens.context import AppContext

HOSTILE = (
    "<script>alert(1)</script> **bold** [link](http://example.com) <img src=x onerror=alert(2)>"
)


def make_pairs(count: int, *, hostile: bool = False) -> pd.DataFrame:
    """`count` blind pairs of systems S1..S3 with distinct texts (hostile markup if asked)."""
    systems = ["S1", "S2", "S3"]
    rows = []
    for index in range(count):
        a, b = systems[index % 3], systems[(index + 1) % 3]
        mark = HOSTILE if hostile else ""
        rows.append(
            {
                "pair_id": f"p{index:03d}",
                "interaction_id": None,
                "query_text": f"question number {index} {mark}",
                "query_audio": None,
                "audio_root": None,
                "model_a": a,
                "model_b": b,
                "response_a": f"answer A{index} {mark}",
                "response_b": f"answer B{index} {mark}",
                "attention": False,
                "bad_side": None,
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


@pytest.fixture
def arena_app(tmp_path: Path) -> Iterator[AppContext]:
    """A workspace (SQLite) with replay campaign "c1": 6 pairs, 2 raters per pair."""
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "c1", "replay", raters_per_pair=2, votes_per_minute=1000)
    persist.add_pairs(app.store, "c1", make_pairs(6))
    yield app
    app.store.engine.dispose()
