"""The Raters page (Annotators section): one row per rater of the rater app."""

from __future__ import annotations

import numpy as np

from arena import persist, serving
from arena.pairs import PAIR_COLUMNS, attention_pairs
from arenalens.config import Settings
from arenalens.context import AppContext


def _pairs(count: int):
    import pandas as pd

    rows = [
        {
            "pair_id": f"p{i}",
            "query_text": f"question {i}",
            "model_a": "alpha",
            "model_b": "beta",
            "response_a": f"first answer {i}",
            "response_b": f"second answer {i}",
            "attention": False,
        }
        for i in range(count)
    ]
    return pd.DataFrame(rows).reindex(columns=PAIR_COLUMNS)


def test_raters_page_lists_each_rater_with_attention_accuracy(render, tmp_path) -> None:
    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace))
    persist.create_campaign(app.store, "c1", "replay", votes_per_minute=1000)
    pairs = _pairs(6)
    persist.add_pairs(app.store, "c1", pairs)
    persist.add_pairs(app.store, "c1", attention_pairs(pairs, 0.34, np.random.default_rng(0)))
    spec = persist.campaign(app.store, "c1")
    rng = np.random.default_rng(0)
    while (pair := serving.current_pair(app.store, "c1", "<b>ann</b>", rng)) is not None:
        serving.cast_vote(app.store, spec, "<b>ann</b>", pair, "a", workspace=workspace)
    app.store.engine.dispose()
    at = render(workspace, "raters.py")
    assert not at.exception and at.title[0].value == "Raters"
    table = at.dataframe[0].value
    row = table.iloc[0]
    assert row["Rater"] == "<b>ann</b>" and row["Votes"] == 6
    assert row["Share of A among A/B votes (95% CI)"].startswith("100% (")
    assert row["Attention pairs"] == 2 and row["Status"] in ("ok", "failing")


def test_raters_page_without_arena_votes_says_how_to_start(render, tiny_workspace) -> None:
    at = render(tiny_workspace, "raters.py")
    assert not at.exception
    assert "arenalens arena campaign create" in at.info[0].value
