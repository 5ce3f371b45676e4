"""What sets a model's losses apart: reasons ranked against the other models, not by size."""

from __future__ import annotations

import pandas as pd

from coding.prevalence import distinctive_reasons


def prevalence(rows: list[tuple[str, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"group": g, "code": c, "machine_rate": r, "ppi_rate": None, "n_items": n}
            for g, c, r, n in rows
        ]
    )


def test_the_reason_every_model_shares_is_not_what_sets_one_apart():
    table = prevalence(
        [
            ("A", "helpfulness", 0.60, 100), ("A", "accuracy", 0.30, 100), ("A", "other", 0.5, 100),
            ("B", "helpfulness", 0.62, 100), ("B", "accuracy", 0.05, 100), ("B", "other", 0.1, 100),
            ("C", "helpfulness", 0.58, 100), ("C", "accuracy", 0.04, 100), ("C", "other", 0.1, 100),
        ]
    )  # fmt: skip
    out = distinctive_reasons(table, top=3)
    a = out[out["group"] == "A"]
    assert list(a["code"])[0] == "accuracy"  # 30% vs 4.5% for the others
    assert abs(a.iloc[0]["others_share"] - 0.045) < 1e-9
    assert "other" not in set(out["code"])  # a catch-all is no reason to act on
    # helpfulness is the largest reason of all three, but it distinguishes only B (by 3 points)
    assert set(out.loc[out["code"] == "helpfulness", "group"]) == {"B"}


def test_bias_corrected_shares_are_used_when_every_group_has_one():
    table = prevalence([("A", "detail", 0.1, 50), ("B", "detail", 0.1, 50)])
    table["ppi_rate"] = [0.4, 0.1]
    out = distinctive_reasons(table)
    assert list(out["group"]) == ["A"] and abs(out.iloc[0]["difference"] - 0.3) < 1e-9
