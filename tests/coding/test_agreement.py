"""Agreement statistics and the machine-vs-human report."""

from __future__ import annotations

import numpy as np
import pytest
from coding_fixtures import KeywordLabeler
from sklearn.metrics import cohen_kappa_score

from arenalens.store import Store
from coding.agreement import (
    agreement_report,
    bootstrap_kappa_ci,
    cohen_kappa,
    confusion_counts,
    krippendorff_alpha_nominal,
    percent_agreement,
    precision_recall,
)
from coding.annotations import AnnotationQueue, CodeDecision
from coding.codebook import load_codebook
from coding.coder import code_feedback
from coding.sampling import create_validation_sample


def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 200)
    b = np.where(rng.random(200) < 0.8, a, 1 - a)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) != cohen_kappa([1, 1, 1], [1, 1, 1])  # undefined: NaN


def test_bootstrap_ci_covers_the_point_estimate_and_narrows_with_more_items():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, 400)
    b = np.where(rng.random(400) < 0.85, a, 1 - a)
    low, high = bootstrap_kappa_ci(a, b, n_boot=500, seed=0)
    assert low < cohen_kappa(a, b) < high
    small_low, small_high = bootstrap_kappa_ci(a[:50], b[:50], n_boot=500, seed=0)
    assert (small_high - small_low) > (high - low)


def test_krippendorff_alpha_matches_the_published_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: alpha = 0.743
    units = [
        [1, 1, 1],
        [2, 2, 3, 2],
        [3, 3, 3, 3],
        [3, 3, 3, 3],
        [2, 2, 2, 2],
        [1, 2, 3, 4],
        [4, 4, 4, 4],
        [1, 1, 2, 1],
        [2, 2, 2, 2],
        [5, 5, 5],
        [1, 1],
        [3],
        [],
    ]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=0.001)
    assert np.isnan(krippendorff_alpha_nominal([[1, 1], [1, 1]]))


def test_precision_recall_agreement_confusion():
    machine, human = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    assert precision_recall(machine, human) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert percent_agreement(machine, human) == pytest.approx(0.6)
    assert confusion_counts(machine, human) == {
        "both": 2,
        "machine_only": 1,
        "human_only": 1,
        "neither": 1,
    }


def test_report_compares_machine_with_resolved_human_labels(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    create_validation_sample(small_store, codebook, ["ann", "bob"], size=20, overlap=0.5, seed=0)
    queue = AnnotationQueue(small_store, codebook)
    machine_detail = set()
    for annotator in ("ann", "bob"):
        while (item := queue.next_item(annotator)) is not None:
            codes = {c["code"] for c in item.machine_codes}
            if "detail" in codes:
                machine_detail.add(item.feedback_id)
            decisions = {code: True for code in codes}
            if (
                annotator == "bob"
            ):  # bob never sees detail: a human disagreement on double-coded items
                decisions.pop("detail", None)
            queue.save(annotator, item.feedback_id, decisions)
    report = agreement_report(small_store, codebook, n_boot=200)
    per_code = report.per_code.set_index("code")
    assert per_code.loc["accuracy", "kappa"] == pytest.approx(1.0)
    assert per_code.loc["accuracy", "precision"] == per_code.loc["accuracy", "recall"] == 1.0
    assert (
        per_code.loc["detail", "human_alpha"]
        < per_code.loc["accuracy", "human_alpha"]
        == pytest.approx(1.0)
    )
    assert report.unresolved > 0 and report.items_annotated == 20
    confusion = report.confusion.set_index(["code", "cell"])["count"]
    assert confusion.loc[("accuracy", "machine_only")] == 0
    assert report.to_json()["per_code"][0]["code"] == "helpfulness"
    assert np.isnan(per_code.loc["accuracy", "side_agreement"])  # nobody gave a side


def test_side_and_polarity_agreement_counts_human_corrections(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(with_attributes=True), codebook, progress=False)
    create_validation_sample(small_store, codebook, ["ann"], size=40, seed=0)
    queue = AnnotationQueue(small_store, codebook)
    flipped = 0
    while (item := queue.next_item("ann")) is not None:
        decisions = {}
        for code in item.machine_codes:  # machine says preferred/positive everywhere
            side = "rejected" if code["code"] == "detail" else code["side"]
            flipped += code["code"] == "detail"
            decisions[code["code"]] = CodeDecision(True, side, code["polarity"])
        queue.save("ann", item.feedback_id, decisions)
    per_code = agreement_report(small_store, codebook, n_boot=50).per_code.set_index("code")
    assert flipped and per_code.loc["detail", "side_agreement"] == 0.0
    assert (
        per_code.loc["accuracy", "side_agreement"]
        == per_code.loc["detail", "polarity_agreement"]
        == 1.0
    )
