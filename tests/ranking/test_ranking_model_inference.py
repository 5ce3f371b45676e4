"""Benchmarks vs preference at the level of models: calibrated under no relation, corrected
across benchmarks, honest about how many models it takes, and a checked mixed-effects fit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests

from ranking.model_inference import (
    adjust_p_values,
    benchmark_tests,
    detection_rate,
    format_p,
    models_needed,
    permutation_p_values,
    random_effect_identifiability,
)
from ranking.regression import regress_preferences


def simulated_arena(
    n_models: int,
    n_votes: int,
    seed: int,
    slopes: tuple[float, ...] = (0.0, 0.0, 0.0),
    model_sd: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Votes and benchmark scores; strength = benchmarks @ slopes + a per-model effect."""
    rng = np.random.default_rng(seed)
    bench = rng.normal(size=(n_models, len(slopes)))
    strength = bench @ np.array(slopes) + rng.normal(0.0, model_sd, n_models)
    names = np.array([f"m{k}" for k in range(n_models)])
    a = rng.integers(0, n_models, n_votes)
    b = (a + rng.integers(1, n_models, n_votes)) % n_models
    win = rng.random(n_votes) < expit(strength[a] - strength[b])
    votes = pd.DataFrame(
        {"model_a": names[a], "model_b": names[b], "winner": np.where(win, "model_a", "model_b")}
    )
    scores = pd.DataFrame(
        [
            {"model": names[i], "dataset": f"bench{j}", "task": "task", "score": bench[i, j]}
            for i in range(n_models)
            for j in range(len(slopes))
        ]
    )
    return votes, scores


def test_permutation_p_values_are_the_exact_kendall_test_over_models() -> None:
    rng = np.random.default_rng(3)
    scores, strengths = rng.normal(size=(7, 4)), rng.normal(size=7)
    taus, p, exact = permutation_p_values(scores, strengths)
    assert exact
    for col in range(4):
        expected = stats.kendalltau(scores[:, col], strengths, method="exact")
        assert taus[col] == pytest.approx(expected.statistic)
        assert p[col] == pytest.approx(expected.pvalue)


def test_holm_and_benjamini_hochberg_match_statsmodels() -> None:
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.011, 0.5])
    for ours, theirs in (("holm", "holm"), ("bh", "fdr_bh")):
        np.testing.assert_allclose(adjust_p_values(p, ours), multipletests(p, method=theirs)[1])


def test_no_relation_is_declared_in_at_most_five_percent_of_null_arenas() -> None:
    """The family-wise error over benchmarks: strengths unrelated to five benchmarks."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(400):
        tests = benchmark_tests(
            rng.normal(size=(7, 5)),
            rng.normal(size=7),
            [f"b{k}" for k in range(5)],
            min_models=7,
            intervals=False,
        )
        hits += any(t.significant for t in tests)
    assert hits / 400 <= 0.07  # 5% nominal; 0.07 is two binomial standard errors above


def test_too_few_models_are_never_declared_and_give_no_interval() -> None:
    strengths = np.arange(6.0)
    scores = np.column_stack([strengths, strengths[::-1]])  # perfect rank agreement
    tests = benchmark_tests(scores, strengths, ["same", "reverse"], min_models=8)
    assert tests[0].tau == pytest.approx(1.0) and tests[0].p_value == pytest.approx(2 / 720)
    assert not any(t.significant for t in tests)
    assert all(t.ci_low is None and t.ci_high is None for t in tests)


def test_models_needed_reaches_the_power_and_falls_with_the_effect() -> None:
    needed = models_needed(0.5, 18)
    assert needed is not None and 30 < needed < 120
    assert detection_rate(needed, 0.5, 18) >= 0.8 > detection_rate(needed - 1, 0.5, 18)
    assert models_needed(0.8, 18) < needed < models_needed(0.5, 1) * 2
    assert detection_rate(6, 0.5, 18) < 0.05  # six models: hopeless, as the real arena shows


def test_format_p_is_plain_decimal() -> None:
    assert [format_p(v) for v in (0.16, 0.0166, 0.00001, 1.0, 0.04)] == [
        "0.16",
        "0.017",
        "< 0.001",
        "1",
        "0.04",
    ]


def test_random_effect_collinear_with_benchmarks_is_reported_not_identifiable() -> None:
    votes, scores = simulated_arena(4, 600, seed=2, slopes=(0.5, 0.2, 0.1))
    report = regress_preferences(votes, scores, seed=0, vif_threshold=1e9)
    assert report.random_effect["identifiable"] is False
    assert "not identifiable" in report.random_effect["sentence"]
    payload = report.to_dict()
    assert payload["random_effect_sd"] is None and payload["r2_conditional"] is None
    assert random_effect_identifiability(np.eye(5)[:, :3])["degrees_of_freedom"] == 1


def test_mixed_fit_agrees_with_a_two_stage_model_level_regression() -> None:
    """The second method: Bradley–Terry strengths regressed on the benchmarks across models.
    With models differing beyond their benchmarks, the slope's standard error comes from the
    models; the reported (Laplace) fit matches it, the variational fit it replaced did not."""
    votes, scores = simulated_arena(16, 6_000, seed=5, slopes=(0.6, 0.0), model_sd=0.4)
    report = regress_preferences(votes, scores, seed=0)
    from ranking.benchmark_fit import fit_strengths
    from ranking.regression import benchmark_matrix

    matrix = benchmark_matrix(scores).loc[report.models, report.benchmarks_used]
    z = ((matrix - matrix.mean()) / matrix.std(ddof=0)).to_numpy()
    theta = fit_strengths(votes, report.models)
    design = np.column_stack([np.ones(len(z)), z])
    ols = np.linalg.lstsq(design, theta, rcond=None)[0]
    resid = theta - design @ ols
    sigma2 = resid @ resid / (len(theta) - design.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(design.T @ design)))
    mixed = {c.term: c for c in report.mixed}
    for k, term in enumerate(report.benchmarks_used):
        assert mixed[term].estimate == pytest.approx(ols[k + 1], abs=0.1)
        assert 0.6 < mixed[term].std_error / se[k + 1] < 1.6, term
    assert report.random_effect["variational_to_laplace_sd"] < 0.6  # why VB was replaced
    assert report.random_effect["identifiable"] and math.isfinite(report.random_effect_sd)
