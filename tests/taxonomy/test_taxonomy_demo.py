"""`arenalens demo`'s taxonomy step on the shipped sample arena (synthetic, with its own gold labels)."""

from __future__ import annotations

import pytest

from taxonomy import persist
from taxonomy.cli import demo

pytestmark = pytest.mark.slow


def test_demo_builds_a_taxonomy_of_the_sample_arena(sample_app):
    line = demo(sample_app)
    assert line.startswith("taxonomy run") and "clusters in" in line
    store = sample_app.store
    queries = persist.query_assignment_table(store)
    extra = store.queries_frame().set_index("id")["extra"]
    gold_modality = queries["interaction_id"].map(lambda i: extra[i].get("gold_modality"))
    accuracy = (queries["modality"] == gold_modality).mean()
    print("sample arena modality accuracy:", accuracy)
    assert accuracy >= 0.85  # measured 0.90
    shares = persist.modality_shares(store).set_index("label")
    assert set(shares.index) == {"text_primary", "audio_primary"}
    assert shares["method"].str.startswith("cluster bootstrap").all()  # users ask several queries
    truth = (gold_modality == "audio_primary").mean()
    assert (
        shares.loc["audio_primary", "ci_low"] - 0.1
        <= truth
        <= shares.loc["audio_primary", "ci_high"] + 0.1
    )
