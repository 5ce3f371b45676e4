"""Talk Arena's real votes and benchmarks: independent BT check, regression and Nakagawa R²."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import log_expit

from arenalens.ingest import (
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)
from arenalens.store import Store
from ranking.bradley_terry import PRIOR_PSEUDO_VOTES, winner_scores
from ranking.leaderboard import RankingOptions, rank_votes
from ranking.regression import LOGIT_DISTRIBUTION_VARIANCE, regress_preferences

ALIASES = Path(__file__).resolve().parents[2] / "data" / "talkarena_aliases.yaml"


def read_votes_directly(shared_data: Path) -> pd.DataFrame:
    """The TinyDB file read by hand: outcome 0 = A better, 0.5 = tie, 1 = B better."""
    table = json.loads((shared_data / "talkarena" / "live_votes.json").read_text())["_default"]
    return pd.DataFrame(
        {"model_a": v["model_a"], "model_b": v["model_b"], "score_a": 1.0 - float(v["outcome"])}
        for v in table.values()
    )


def scipy_bradley_terry(
    votes: pd.DataFrame, prior_models: tuple[str, ...] = ()
) -> dict[str, float]:
    """Independent BT maximum likelihood (ties = half a win) by L-BFGS over the sum-zero subspace."""
    models = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    index = {m: k for k, m in enumerate(models)}
    ia = votes["model_a"].map(index).to_numpy()
    ib = votes["model_b"].map(index).to_numpy()
    y = votes["score_a"].to_numpy()
    prior = np.array([m in prior_models for m in models])

    def negative_log_likelihood(free: np.ndarray) -> float:
        theta = np.append(free, -free.sum())
        d = theta[ia] - theta[ib]
        loglik = (y * log_expit(d) + (1 - y) * log_expit(-d)).sum()
        loglik += PRIOR_PSEUDO_VOTES * (log_expit(theta[prior]) + log_expit(-theta[prior])).sum()
        return -loglik

    result = minimize(
        negative_log_likelihood,
        np.zeros(len(models) - 1),
        method="L-BFGS-B",
        options={"gtol": 1e-10, "ftol": 1e-15, "maxiter": 10_000},
    )
    theta = np.append(result.x, -result.x.sum())
    return {m: 1000 + 400 / math.log(10) * t for m, t in zip(models, theta, strict=True)}


@pytest.fixture
def talkarena_store(sqlite_store: Store, shared_data: Path) -> Store:
    ingest_interactions(
        sqlite_store, shared_data / "talkarena" / "live_votes.json", "talkarena", progress=False
    )
    ingest_benchmark_scores(sqlite_store, shared_data / "talkarena" / "static_benchmarks_long.csv")
    ingest_aliases(sqlite_store, read_aliases(ALIASES))
    return sqlite_store


def test_ratings_match_independent_scipy_fit_on_talk_arena(
    talkarena_store: Store, shared_data: Path
) -> None:
    direct = read_votes_directly(shared_data)
    assert len(direct) == 303
    # gemini_2f has one vote, a win: no finite MLE, so compare on the other models' 302 votes
    expected = scipy_bradley_terry(
        direct[(direct["model_a"] != "gemini_2f") & (direct["model_b"] != "gemini_2f")]
    )
    votes = talkarena_store.votes_frame(resolve_aliases=False)
    board = rank_votes(
        votes["model_a"],
        votes["model_b"],
        winner_scores(votes["winner"]),
        RankingOptions(bootstrap_rounds=0, min_votes=2),
    )
    assert board.excluded == {"gemini_2f": 1}
    got = {r.model: r.rating for r in board.ratings}
    assert got.keys() == expected.keys()
    for model, rating in expected.items():
        assert got[model] == pytest.approx(rating, abs=0.5), model


def test_never_lost_model_matches_scipy_with_the_documented_prior(shared_data: Path) -> None:
    direct = read_votes_directly(shared_data)
    expected = scipy_bradley_terry(direct, prior_models=("gemini_2f",))
    board = rank_votes(
        direct["model_a"], direct["model_b"], direct["score_a"], RankingOptions(bootstrap_rounds=0)
    )
    got = {r.model: r for r in board.ratings}
    assert got["gemini_2f"].flag == "never lost"
    for model, rating in expected.items():
        assert got[model].rating == pytest.approx(rating, abs=0.5), model


def test_talk_arena_regression_reports_nakagawa_r2_from_its_variance_components(
    talkarena_store: Store, shared_data: Path
) -> None:
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    votes = talkarena_store.votes_frame()
    report = regress_preferences(votes, talkarena_store.benchmark_frame(), seed=0)
    assert report.models == ["Diva", "GPT4o", "Gemini", "Qwen2-audio", "Typhoon", "Whisper+llama3"]
    assert report.n_votes == int(
        (
            (votes["winner"] != "tie")
            & votes["model_a"].isin(report.models)
            & votes["model_b"].isin(report.models)
        ).sum()
    )
    assert all(v <= 10 for v in report.vif_kept.values()) and report.vif_dropped
    assert (
        len(report.benchmarks_used) <= len(report.models) - 1
    )  # differences of 6 models span 5 dims

    # Hand computation: rebuild the design from the raw CSV, refit, apply Nakagawa & Schielzeth.
    raw = pd.read_csv(shared_data / "talkarena" / "static_benchmarks_long.csv")
    raw["benchmark"] = raw["dataset"] + ":" + raw["task"]
    wide = raw.pivot_table(index="model", columns="benchmark", values="score").loc[
        report.models, report.benchmarks_used
    ]
    z = (wide - wide.mean()) / wide.std(ddof=0)
    used = votes[
        (votes["winner"] != "tie")
        & votes["model_a"].isin(report.models)
        & votes["model_b"].isin(report.models)
    ]
    x = z.loc[used["model_a"]].to_numpy() - z.loc[used["model_b"]].to_numpy()
    y = (used["winner"] == "model_a").to_numpy(float)
    vc = np.zeros((len(used), len(report.models)))
    vc[np.arange(len(used)), used["model_a"].map(report.models.index)] = 1
    vc[np.arange(len(used)), used["model_b"].map(report.models.index)] = -1
    fit = BinomialBayesMixedGLM(
        y, np.column_stack([np.ones(len(y)), x]), vc, np.zeros(len(report.models), int)
    ).fit_map()
    sigma_u = float(np.exp(fit.vcp_mean[0]))
    var_fixed = float(np.var(x @ fit.fe_mean[1:]))
    var_random = 2 * sigma_u**2  # each vote's random part is u_A - u_B
    total = var_fixed + var_random + math.pi**2 / 3
    assert LOGIT_DISTRIBUTION_VARIANCE == pytest.approx(math.pi**2 / 3)
    assert report.r2_marginal == pytest.approx(var_fixed / total, rel=1e-3)
    assert 0 < report.r2_marginal < 1
    # 4 benchmark terms among 6 models leave the random effect 1 degree of freedom: its SD
    # (and the conditional R² built on it) is said to be too uncertain, not printed
    assert report.random_effect["degrees_of_freedom"] == 1 and sigma_u < 0.1
    assert report.to_dict()["random_effect_sd"] is None
    assert report.to_dict()["r2_conditional"] is None
    # the plain logistic fit is reported alongside
    assert [c.term for c in report.logit] == [c.term for c in report.mixed]
    assert 0 < report.logit_r2_mcfadden < 1


def test_kendall_tau_and_pca_on_talk_arena(talkarena_store: Store) -> None:
    votes = talkarena_store.votes_frame()
    board = rank_votes(
        votes["model_a"],
        votes["model_b"],
        winner_scores(votes["winner"]),
        RankingOptions(bootstrap_rounds=0),
    )
    ratings = {r.model: r.rating for r in board.ratings}
    report = regress_preferences(votes, talkarena_store.benchmark_frame(), ratings)
    assert len(report.kendall_tau) == 18
    assert all(-1 <= row["tau"] <= 1 and row["models"] == 6 for row in report.kendall_tau)
    assert sum(report.pca_explained_variance) == pytest.approx(1.0)
    assert report.pca_explained_variance == sorted(report.pca_explained_variance, reverse=True)


def test_shuffled_benchmarks_on_talk_arena_are_declared_by_votes_not_by_models(
    talkarena_store: Store,
) -> None:
    """Issue 22, finding 1: with the six models' benchmark rows shuffled (all 720 ways), the
    per-vote logit finds some benchmark with p < 0.05 in most shuffles; the model-level test,
    even with its minimum lowered to six models, declares one in at most 5% of them."""
    import itertools
    import warnings

    from statsmodels.discrete.discrete_model import Logit

    from ranking.benchmark_fit import fit_strengths
    from ranking.model_inference import benchmark_tests
    from ranking.regression import benchmark_matrix

    votes = talkarena_store.votes_frame()
    report = regress_preferences(votes, talkarena_store.benchmark_frame(), seed=0)
    matrix = benchmark_matrix(talkarena_store.benchmark_frame()).loc[report.models]
    every = matrix[report.benchmarks_considered].to_numpy(float)
    kept = matrix[report.benchmarks_used].to_numpy(float)
    kept = (kept - kept.mean(axis=0)) / kept.std(axis=0)
    theta = fit_strengths(votes, report.models)
    used = votes[
        (votes["winner"] != "tie")
        & votes["model_a"].isin(report.models)
        & votes["model_b"].isin(report.models)
    ]
    ia = used["model_a"].map(report.models.index).to_numpy()
    ib = used["model_b"].map(report.models.index).to_numpy()
    y = (used["winner"] == "model_a").to_numpy(float)
    per_vote = by_models = 0
    orders = list(itertools.permutations(range(6)))
    for order in orders:
        shuffled = kept[list(order)]
        exog = np.column_stack([np.ones(len(y)), shuffled[ia] - shuffled[ib]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = Logit(y, exog).fit(disp=0, maxiter=100)
        per_vote += bool((np.asarray(fit.pvalues)[1:] < 0.05).any())
        tests = benchmark_tests(
            every[list(order)], theta, report.benchmarks_considered, min_models=6, intervals=False
        )
        by_models += any(t.significant for t in tests)
    assert per_vote / len(orders) > 0.8
    assert by_models / len(orders) <= 0.05
    assert not any(t["significant"] for t in report.kendall_tau)
