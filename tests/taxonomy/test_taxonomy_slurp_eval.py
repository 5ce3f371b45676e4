"""Built-in evaluation on the real SLURP devel queries (2,033): floors the pipeline really reaches."""

from __future__ import annotations

import pytest
from taxonomy_fixtures import SCENARIO_TO_CATEGORY, ingest_rows

from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.store import Store
from taxonomy.categories import load_categories
from taxonomy.model import TaxonomyParams
from taxonomy.pipeline import build_taxonomy, evaluate_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def slurp_scores(tmp_path_factory, slurp_rows, embedder, encode, slurp_embeddings) -> dict:
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('slurp') / 'arenalens.sqlite'}")
    ingest_rows(store, slurp_rows)
    build_taxonomy(
        store, encode, EmbeddingLabeler(embedder), load_categories(), TaxonomyParams(random_state=0)
    )
    scores = {
        "intent": evaluate_run(store, "intent"),
        "scenario": evaluate_run(store, "scenario", category_map=SCENARIO_TO_CATEGORY),
    }
    store.engine.dispose()
    return scores


def test_clusters_agree_with_slurp_intents(slurp_scores):
    intent = slurp_scores["intent"]
    print(
        "SLURP devel vs intent:",
        {k: intent[k] for k in ("ari", "nmi", "purity", "outlier_share", "n_clusters")},
    )
    assert intent["n_evaluated"] == 2033
    assert intent["ari"] >= 0.34  # BERTopic defaults: ~0.30 on the same embeddings (benchmarks/)
    assert intent["nmi"] >= 0.65
    assert intent["outlier_share"] <= 0.10
    assert intent["dbcv"] is not None and intent["silhouette"] is not None


def test_categories_agree_with_mapped_slurp_scenarios(slurp_scores):
    scenario = slurp_scores["scenario"]
    print(
        "SLURP devel category accuracy:",
        scenario["category_accuracy"],
        scenario["category_recall"],
    )
    assert scenario["category_accuracy"] >= 0.80
    assert scenario["category_recall"]["task_execution"] >= 0.85
    assert not scenario["unmapped_gold_labels"]
