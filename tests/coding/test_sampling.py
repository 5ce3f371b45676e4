"""The validation sample: size for a CI width, strata, seeding, annotator overlap."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from coding_fixtures import KeywordLabeler

from arenalens.store import Store
from coding import persist
from coding.codebook import load_codebook
from coding.coder import code_feedback
from coding.errors import CodingError
from coding.sampling import (
    assign_annotators,
    create_validation_sample,
    proportional_allocation,
    sample_size_for_ci_width,
)


def test_sample_size_gives_the_target_ci_width():
    assert sample_size_for_ci_width(0.1) == 385  # 1.96^2 * 0.25 / 0.05^2
    assert sample_size_for_ci_width(0.1, p=0.1) == 139
    assert sample_size_for_ci_width(0.1, population=500) == 218
    with pytest.raises(CodingError, match="between 0 and 1"):
        sample_size_for_ci_width(1.5)


def test_allocation_is_proportional_and_sums_to_the_size():
    sizes = pd.Series({"a": 50, "b": 30, "c": 15, "d": 5})
    alloc = proportional_allocation(sizes, 20)
    assert alloc.sum() == 20 and alloc.to_dict() == {"a": 10, "b": 6, "c": 3, "d": 1}


def test_overlap_share_is_double_coded_by_two_different_annotators():
    ids = [f"fb-{i}" for i in range(100)]
    rows = assign_annotators(ids, ["ann", "bob", "cy"], overlap=0.2, seed=1)
    per_item = Counter(r["feedback_id"] for r in rows)
    assert sum(1 for n in per_item.values() if n == 2) == 20 and set(per_item) == set(ids)
    for fid in (f for f, n in per_item.items() if n == 2):
        assert len({r["annotator"] for r in rows if r["feedback_id"] == fid}) == 2
    load = Counter(r["annotator"] for r in rows)
    assert max(load.values()) - min(load.values()) <= 1


def test_one_annotator_gets_no_overlap_and_names_are_checked():
    assert len(assign_annotators(["a", "b"], ["solo"], overlap=0.5, seed=0)) == 2
    with pytest.raises(CodingError, match="distinct"):
        assign_annotators(["a"], ["x", "x"], overlap=0.2, seed=0)


def test_sample_is_seeded_stratified_and_stored(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    summary = create_validation_sample(
        small_store, codebook, ["ann", "bob"], name="s1", size=20, overlap=0.2, seed=7
    )
    assert summary.size == 20 and summary.double_coded == 4
    assigned = persist.assignments_frame(small_store, codebook.version_key, "s1")
    assert assigned["feedback_id"].nunique() == 20 and len(assigned) == 24
    strata = assigned.drop_duplicates("feedback_id")["stratum"]
    assert strata.str.split("|").str[0].nunique() == 6  # every code's stratum represented
    again = create_validation_sample(
        small_store, codebook, ["ann", "bob"], name="s2", size=10, seed=7
    )
    second = persist.assignments_frame(small_store, codebook.version_key, "s2")
    assert again.population == 20 and not set(second["feedback_id"]) & set(assigned["feedback_id"])
    with pytest.raises(CodingError, match="already exists"):
        create_validation_sample(small_store, codebook, ["ann"], name="s1", size=5)


def test_same_seed_draws_the_same_sample(tmp_path):
    from coding_fixtures import make_arena

    drawn = []
    for run in range(2):
        store = Store.open(f"sqlite:///{tmp_path / f'{run}.sqlite'}")
        make_arena(store)
        codebook = load_codebook()
        code_feedback(store, KeywordLabeler(), codebook, progress=False)
        create_validation_sample(store, codebook, ["ann", "bob"], size=15, seed=3)
        drawn.append(
            persist.assignments_frame(store, codebook.version_key)[["feedback_id", "annotator"]]
        )
        store.engine.dispose()
    pd.testing.assert_frame_equal(drawn[0], drawn[1])


def test_sampling_before_coding_says_what_to_run(small_store: Store):
    with pytest.raises(CodingError, match="arenalens code"):
        create_validation_sample(small_store, load_codebook(), ["ann"], size=5)


def test_default_size_follows_the_ci_width(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    summary = create_validation_sample(small_store, codebook, ["ann"], ci_width=0.3)
    # detail and accuracy are the most common codes (0.3): p(1-p) closest to 0.25
    assert summary.size == sample_size_for_ci_width(0.3, p=0.3, population=40)
    assert summary.target_ci_width == 0.3
