"""Rater quality from arena votes: the rater table, and `rank --exclude-raters failing`."""

from __future__ import annotations

import numpy as np
from arena_testkit import make_pairs

from arena import persist, serving
from arena.pairs import attention_pairs
from arenalens.context import AppContext
from arenalens.raters import arena_records, failing_raters, rater_table


def _vote_all(app: AppContext, rater: str, decide) -> None:
    spec = persist.campaign(app.store, "c1")
    rng = np.random.default_rng(0)
    while (pair := serving.current_pair(app.store, "c1", rater, rng)) is not None:
        serving.cast_vote(
            app.store, spec, rater, pair, decide(pair), workspace=app.settings.workspace
        )


def _careless_and_careful(app: AppContext) -> None:
    """Two raters on 9 real pairs (systems from the sample arena) and 3 attention pairs: the
    careful one picks the good side of attention pairs and B otherwise; the careless one
    always presses A."""
    pairs = make_pairs(9)
    pairs["model_a"] = ["GPT-4o", "Qwen2-Audio", "Gemini-1.5-Pro"] * 3
    pairs["model_b"] = ["Qwen2-Audio", "Gemini-1.5-Pro", "GPT-4o"] * 3
    persist.create_campaign(app.store, "c1", "replay", raters_per_pair=2, votes_per_minute=1000)
    persist.add_pairs(app.store, "c1", pairs)
    persist.add_pairs(app.store, "c1", attention_pairs(pairs, 0.34, np.random.default_rng(3)))
    rows = persist.pair_rows(app.store, "c1")
    assert rows["attention"].sum() == 3 and set(rows["bad_side"].dropna()) == {"a", "b"}

    def careful(pair: dict) -> str:
        if pair["attention"]:
            return "b" if pair["bad_side"] == "a" else "a"
        return "b"

    _vote_all(app, "careful", careful)
    _vote_all(app, "careless", lambda pair: "a")


def test_rater_table_shows_bias_and_attention(sample_app: AppContext) -> None:
    _careless_and_careful(sample_app)
    table = rater_table(arena_records(sample_app.store)).set_index("rater")
    assert table.loc["careful", "votes"] == 9 and table.loc["careless", "votes"] == 9
    assert table.loc["careful", "share_a"] == 0 and table.loc["careless", "share_a"] == 1
    assert table.loc["careless", "share_a_low"] > 0.6  # nine A votes: clearly biased
    assert table.loc["careful", "attention_accuracy"] == 1.0
    assert table.loc["careless", "attention_accuracy"] < 0.8
    assert failing_raters(sample_app.store) == {"careless"}
    assert table.loc["careful", "median_seconds"] >= 0


def test_rank_can_leave_out_raters_failing_attention_pairs(sample_app: AppContext) -> None:
    from ranking.leaderboard import RankingOptions
    from ranking.pipeline import compute_rankings

    _careless_and_careful(sample_app)
    options = RankingOptions(bootstrap_rounds=20, fragility=False, progress=False)
    everyone = compute_rankings(sample_app, options)
    filtered = compute_rankings(sample_app, options, exclude_raters="failing")
    assert filtered["excluded_raters"] == {"raters": 1, "votes": 9}
    assert filtered["votes"] == everyone["votes"] - 9
    assert any("--exclude-raters failing left out 9 of" in w for w in filtered["warnings"])
