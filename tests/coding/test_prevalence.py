"""Prevalence: raw machine rate vs prediction-powered (bias-corrected) rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from coding_fixtures import annotate_with_gold

from arenalens.stats import ppi_mean, wilson_interval
from arenalens.store import Store
from coding.annotations import AnnotationQueue
from coding.errors import CodingError
from coding.prevalence import prevalence_table


def _biased_draw(rng: np.random.Generator, true_rate: float, n_all: int, n_labeled: int):
    """A population whose machine codes miss 40% of true codes and add 5% false ones."""
    truth = rng.random(n_all) < true_rate
    machine = np.where(truth, rng.random(n_all) < 0.6, rng.random(n_all) < 0.05).astype(float)
    labeled = rng.choice(n_all, size=n_labeled, replace=False)
    return machine, machine[labeled], truth[labeled].astype(float)


def test_ppi_ci_covers_the_true_rate_in_93_to_97_percent_of_draws_despite_biased_codes():
    rng = np.random.default_rng(2024)
    true_rate, reps = 0.3, 2000
    ppi_hits = raw_hits = 0
    for _ in range(reps):
        machine, f_lab, y_lab = _biased_draw(rng, true_rate, 2000, 200)
        ppi = ppi_mean(machine, f_lab, y_lab, machine_covers_labelled=True)
        raw = wilson_interval(int(machine.sum()), len(machine))
        ppi_hits += ppi.low <= true_rate <= ppi.high
        raw_hits += raw.low <= true_rate <= raw.high
    assert 0.93 <= ppi_hits / reps <= 0.97
    assert raw_hits / reps < 0.05  # the raw machine rate (~0.22) is biased: its CI misses


def test_ppi_is_narrower_than_the_human_sample_alone_when_the_machine_is_good():
    rng = np.random.default_rng(5)
    truth = rng.random(5000) < 0.25
    machine = np.where(rng.random(5000) < 0.95, truth, ~truth).astype(float)
    labeled = rng.choice(5000, 300, replace=False)
    ppi = ppi_mean(
        machine, machine[labeled], truth[labeled].astype(float), machine_covers_labelled=True
    )
    human = wilson_interval(int(truth[labeled].sum()), 300)
    assert (ppi.high - ppi.low) < (human.high - human.low)


def test_ppi_needs_two_labeled_items():
    assert np.isnan(ppi_mean([1, 0, 1], [1], [1], machine_covers_labelled=True).rate)


def test_prevalence_corrects_a_machine_that_never_finds_a_code(small_store: Store):
    codebook = annotate_with_gold(small_store)
    table = prevalence_table(small_store, codebook).set_index("code")
    assert table.loc["accuracy", "machine_rate"] == 0.0  # all accuracy codes were rejected
    assert table.loc["accuracy", "n_validated"] == 30
    assert table.loc["accuracy", "ppi_rate"] > 0.15  # true rate 0.3
    assert table.loc["detail", "ppi_rate"] == pytest.approx(0.3, abs=0.05)


def test_prevalence_by_model_covers_the_models_that_lost(small_store: Store):
    codebook = annotate_with_gold(small_store)
    table = prevalence_table(small_store, codebook, by="model", min_validated=3)
    feedback = small_store.feedback_frame()
    lost = feedback[feedback["winner"] != "tie"]
    losers = set(lost["model_b"].where(lost["winner"] == "model_a", lost["model_a"]))
    assert set(table["group"]) == losers
    sizes = table.drop_duplicates("group").set_index("group")["n_items"]
    assert sizes.sum() == len(lost)


def test_few_validated_items_give_no_corrected_estimate_and_say_why(small_store: Store):
    codebook = annotate_with_gold(small_store)
    table = prevalence_table(small_store, codebook, by="model", min_validated=1000)
    assert table["ppi_rate"].isna().all() and table["note"].str.contains("validated items").all()


def test_prevalence_by_category_without_taxonomy_says_what_to_run(small_store: Store):
    codebook = annotate_with_gold(small_store)
    with pytest.raises(CodingError, match="taxonomy"):
        prevalence_table(small_store, codebook, by="category")


def test_prevalence_by_category_joins_the_taxonomy_categories(
    small_store: Store, monkeypatch: pytest.MonkeyPatch
):
    codebook = annotate_with_gold(small_store)
    ids = small_store.feedback_frame()["interaction_id"]
    categories = pd.DataFrame(
        {
            "interaction_id": ids,
            "category": ["knowledge" if i % 2 else "advice" for i in range(len(ids))],
            "modality": "text_primary",
        }
    )
    monkeypatch.setattr(
        "coding.prevalence.required_query_categories", lambda store: categories.iloc[:-4]
    )
    table = prevalence_table(small_store, codebook, by="category", min_validated=3)
    sizes = table.drop_duplicates("group").set_index("group")["n_items"].to_dict()
    assert sizes == {"advice": 18, "knowledge": 18, "(uncategorised)": 4}
    assert set(
        prevalence_table(small_store, codebook, by="modality", min_validated=3)["group"]
    ) == {"text_primary", "(uncategorised)"}


def test_items_annotated_outside_a_drawn_sample_do_not_enter_the_correction(small_store: Store):
    codebook = annotate_with_gold(small_store)
    queue = AnnotationQueue(small_store, codebook)
    sampled = set(queue.assignments()["feedback_id"])
    outside = next(f for f in small_store.feedback_frame()["id"] if f not in sampled)
    queue.save("ann", outside, {"accuracy": True})
    table = prevalence_table(small_store, codebook).set_index("code")
    assert table.loc["accuracy", "n_validated"] == 30
