"""Blind A/B pairs: only shared, successful answers; sides shuffled reproducibly; key kept."""

from __future__ import annotations

import pandas as pd
import pytest

from inference.errors import InferenceError
from inference.pairs import make_blind_pairs, pair_id


def _outputs(n: int = 40) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "interaction_id": f"q{i:02d}",
                "system": "alpha",
                "output_text": f"alpha says {i}",
                "error": None,
            }
        )
        if i % 10 != 0:  # beta misses q00, q10, q20, q30
            rows.append(
                {
                    "interaction_id": f"q{i:02d}",
                    "system": "beta",
                    "output_text": f"beta says {i}",
                    "error": None,
                }
            )
    rows.append(
        {"interaction_id": "q05", "system": "gamma", "output_text": None, "error": "timeout"}
    )
    frame = pd.DataFrame(rows)
    frame.loc[
        (frame["system"] == "beta") & (frame["interaction_id"] == "q01"), ["output_text", "error"]
    ] = [None, "500"]
    return frame


def test_pairs_cover_queries_both_systems_answered() -> None:
    pairs = make_blind_pairs(_outputs(), "alpha", "beta", {"q02": "hello?"}, seed=0)
    expected = {f"q{i:02d}" for i in range(40) if i % 10 != 0} - {"q01"}
    assert set(pairs["interaction_id"]) == expected
    assert pairs.set_index("interaction_id").loc["q02", "query"] == "hello?"


def test_sides_are_shuffled_and_the_key_unblinds_them() -> None:
    pairs = make_blind_pairs(_outputs(), "alpha", "beta", {}, seed=0)
    alpha_on_a = (pairs["system_a"] == "alpha").mean()
    assert 0.2 < alpha_on_a < 0.8
    for row in pairs.itertuples():
        assert row.response_a.startswith(row.system_a) and row.response_b.startswith(row.system_b)


def test_pairs_are_reproducible_and_order_independent() -> None:
    first = make_blind_pairs(_outputs(), "alpha", "beta", {}, seed=7)
    again = make_blind_pairs(_outputs(), "alpha", "beta", {}, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert pair_id("q1", "alpha", "beta") == pair_id("q1", "beta", "alpha")
    other_seed = make_blind_pairs(_outputs(), "alpha", "beta", {}, seed=8)
    assert (first["system_a"] != other_seed["system_a"]).any()


def test_system_without_outputs_is_named() -> None:
    with pytest.raises(InferenceError, match="'gamma' has no successful outputs"):
        make_blind_pairs(_outputs(), "alpha", "gamma", {})
    with pytest.raises(InferenceError, match="two different systems"):
        make_blind_pairs(_outputs(), "alpha", "alpha", {})
