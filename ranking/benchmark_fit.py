"""Benchmarks vs preference without self-deception: out-of-sample figures for a handful of models.

With five or six models, four benchmark predictors can fit the models' strengths exactly, so
in-sample R² says little. Here:

- leave-one-model-out (LOMO) cross-validation: fit the vote-level logit on battles without
  model m (benchmarks standardised on the training models only), predict m's battles; report
  the pooled predictive log loss against an intercept-only baseline (predictive McFadden R²),
  and the R² of each held-out model's predicted strength against its Bradley–Terry strength;
- a permutation test: benchmark rows shuffled across models (every permutation when there are
  few models), refitted; p = share of permutations whose in-sample R² reaches the observed one;
- (per benchmark, Kendall τ with a permutation test over models: `ranking.model_inference`);
- subset selection: the smallest benchmark subset whose LOMO log loss is within one standard
  error of the best subset's.

Votes are aggregated to unique (model A, model B, outcome) rows, so every fit is tiny.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from ranking.bradley_terry import (
    aggregate_codes,
    aggregate_votes,
    fit_bradley_terry,
    model_codes,
    winner_scores,
)

L2_PRIOR_SD = 10.0  # weak prior on logit coefficients: separation cannot send them to infinity
EXHAUSTIVE_PERMUTATIONS = 5040  # 7! ; beyond, random permutations
RANDOM_PERMUTATIONS = 2000
MAX_SUBSET_SIZE = 3
MAX_SUBSETS = 5000


@dataclass
class Battles:
    """Decisive votes aggregated: model indices, outcome (1 = A preferred) and count per row."""

    models: list[str]
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    n: np.ndarray


def battles_from_votes(votes: pd.DataFrame, models: list[str], keep_ties: bool = False) -> Battles:
    """Unique (A, B, outcome) rows among `models`; ties dropped or kept as half a win each way."""
    index = {m: k for k, m in enumerate(models)}
    rows = votes[votes["model_a"].isin(index) & votes["model_b"].isin(index)]
    weight = rows["n"].to_numpy(float) if "n" in rows else np.ones(len(rows))
    a = rows["model_a"].map(index).to_numpy()
    b = rows["model_b"].map(index).to_numpy()
    winner = rows["winner"].to_numpy()
    parts = [(a[winner == "model_a"], b[winner == "model_a"], 1.0, weight[winner == "model_a"])]
    parts.append((a[winner == "model_b"], b[winner == "model_b"], 0.0, weight[winner == "model_b"]))
    if keep_ties:
        tie = winner == "tie"
        parts.append((a[tie], b[tie], 1.0, weight[tie]))
        parts.append((a[tie], b[tie], 0.0, weight[tie]))
    frame = pd.DataFrame(
        {
            "a": np.concatenate([p[0] for p in parts]),
            "b": np.concatenate([p[1] for p in parts]),
            "y": np.concatenate([np.full(len(p[0]), p[2]) for p in parts]),
            "n": np.concatenate([p[3] for p in parts]),
        }
    )
    grouped = frame.groupby(["a", "b", "y"], as_index=False)["n"].sum()
    return Battles(
        models,
        grouped["a"].to_numpy(int),
        grouped["b"].to_numpy(int),
        grouped["y"].to_numpy(float),
        grouped["n"].to_numpy(float),
    )


def fit_logit(x: np.ndarray, y: np.ndarray, n: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Weighted logistic regression by Newton's method with a weak N(0, 10²) prior (no intercept
    added: include a column of ones)."""
    beta = np.zeros(x.shape[1])
    ridge = np.eye(x.shape[1]) / L2_PRIOR_SD**2
    for _ in range(iterations):
        p = expit(x @ beta)
        grad = x.T @ (n * (y - p)) - ridge @ beta
        info = x.T @ ((n * p * (1 - p))[:, None] * x) + ridge
        step = np.linalg.solve(info, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def _loss(y: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Per-row log loss times count."""
    p = np.clip(expit(eta), 1e-12, 1 - 1e-12)
    return -n * (y * np.log(p) + (1 - y) * np.log(1 - p))


def _standardise(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Standardise columns with the mean/SD of `rows` (the training models) only."""
    mean = matrix[rows].mean(axis=0)
    sd = matrix[rows].std(axis=0)
    return (matrix - mean) / np.where(sd > 0, sd, 1.0)


@dataclass
class CrossValidation:
    """Leave-one-model-out figures for one benchmark set."""

    benchmarks: list[str]
    log_loss: float  # per held-out vote
    log_loss_null: float  # intercept-only, same folds
    r2_votes: float  # 1 - log_loss / log_loss_null (predictive McFadden)
    r2_strength: float  # held-out models' predicted vs Bradley–Terry strength
    row_losses: np.ndarray  # per held-out (fold, row) times its votes, for paired comparisons
    row_weights: np.ndarray  # votes per held-out (fold, row)
    predicted_strength: dict[str, float]


def null_fold_losses(battles: Battles) -> list[np.ndarray]:
    """Per fold (held-out model): losses of the intercept-only model fitted without it."""
    out = []
    ones = np.ones((len(battles.y), 1))
    for held in range(len(battles.models)):
        test = (battles.a == held) | (battles.b == held)
        train = ~test
        if not test.any() or not train.any():
            out.append(np.array([]))
            continue
        null = fit_logit(ones[train], battles.y[train], battles.n[train])
        out.append(_loss(battles.y[test], battles.n[test], ones[test] @ null))
    return out


def lomo_cross_validation(
    battles: Battles,
    matrix: np.ndarray,
    names: list[str],
    strengths: np.ndarray,
    null_losses: list[np.ndarray] | None = None,
) -> CrossValidation:
    """Fit without each model in turn, predict its battles; see the module docstring."""
    m = len(battles.models)
    null_losses = null_fold_losses(battles) if null_losses is None else null_losses
    losses, weights = [], []
    predicted = np.zeros(m)
    for held in range(m):
        train_models = np.array([k for k in range(m) if k != held])
        z = _standardise(matrix, train_models)
        test = (battles.a == held) | (battles.b == held)
        train = ~test
        if not test.any() or not train.any():
            continue
        x = np.column_stack([np.ones(len(battles.y)), z[battles.a] - z[battles.b]])
        beta = fit_logit(x[train], battles.y[train], battles.n[train])
        losses.append(_loss(battles.y[test], battles.n[test], x[test] @ beta))
        weights.append(battles.n[test])
        strength = z @ beta[1:]
        predicted[held] = strength[held] - strength[train_models].mean()
    total = np.concatenate(weights).sum()
    row_losses = np.concatenate(losses)
    ll = float(row_losses.sum() / total)
    ll_null = float(np.concatenate(null_losses).sum() / total)
    centred = np.array(
        [strengths[k] - np.delete(strengths, k).mean() for k in range(m)]
    )  # each model's strength relative to the others, as predicted
    resid = ((centred - predicted) ** 2).sum()
    spread = ((centred - centred.mean()) ** 2).sum()
    return CrossValidation(
        benchmarks=names,
        log_loss=ll,
        log_loss_null=ll_null,
        r2_votes=1.0 - ll / ll_null if ll_null > 0 else float("nan"),
        r2_strength=float(1.0 - resid / spread) if spread > 0 else float("nan"),
        row_losses=row_losses,
        row_weights=np.concatenate(weights),
        predicted_strength=dict(zip(battles.models, predicted.tolist(), strict=True)),
    )


def in_sample_r2(battles: Battles, z: np.ndarray) -> float:
    """Latent-scale R² of the plain logit: var(X beta) / (var(X beta) + pi²/3), vote-weighted."""
    x = np.column_stack([np.ones(len(battles.y)), z[battles.a] - z[battles.b]])
    beta = fit_logit(x, battles.y, battles.n)
    fixed = x[:, 1:] @ beta[1:]
    mean = np.average(fixed, weights=battles.n)
    var = float(np.average((fixed - mean) ** 2, weights=battles.n))
    return var / (var + math.pi**2 / 3)


def permutation_test(battles: Battles, z: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """p-value of the in-sample R² against benchmark rows shuffled across models."""
    m = z.shape[0]
    observed = in_sample_r2(battles, z)
    if math.factorial(m) <= EXHAUSTIVE_PERMUTATIONS:
        orders = [np.array(p) for p in itertools.permutations(range(m))]
        kind = "all"
    else:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(m) for _ in range(RANDOM_PERMUTATIONS)]
        kind = "random"
    null = np.array([in_sample_r2(battles, z[order]) for order in orders])
    return {
        "r2_observed": observed,
        "permutations": len(orders),
        "kind": kind,
        "p_value": float(
            (np.sum(null >= observed - 1e-12) + (kind == "random"))
            / (len(null) + (kind == "random"))
        ),
        "null_median_r2": float(np.median(null)),
    }


def fit_strengths(votes: pd.DataFrame, models: list[str]) -> np.ndarray:
    """Bradley–Terry strengths of `models` from votes (model_a, model_b, winner[, n])."""
    rows = votes[votes["model_a"].isin(models) & votes["model_b"].isin(models)]
    weight = rows["n"].to_numpy(float) if "n" in rows else np.ones(len(rows))
    pc = aggregate_votes(
        rows["model_a"].to_numpy(), rows["model_b"].to_numpy(), winner_scores(rows["winner"])
    )
    if "n" in rows:  # re-aggregate with counts
        pc = aggregate_codes(
            model_codes(rows["model_a"].to_numpy(), pc.models),
            model_codes(rows["model_b"].to_numpy(), pc.models),
            winner_scores(rows["winner"]),
            pc.models,
            weight,
        )
    fit = fit_bradley_terry(pc)
    return fit.theta[[pc.models.index(m) for m in models]]


def kendall_tau_b(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of `x` against each row of `ys` (rounds, n), vectorised over rounds."""
    i, j = np.triu_indices(len(x), k=1)
    sx = np.sign(x[i] - x[j])
    sy = np.sign(ys[:, i] - ys[:, j])
    concordance = (sy * sx).sum(axis=1)
    denominator = np.sqrt(np.abs(sx).sum() * np.abs(sy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, concordance / denominator, np.nan)


def select_benchmarks(
    battles: Battles,
    matrix: pd.DataFrame,
    strengths: np.ndarray,
    max_size: int | None = None,
) -> dict[str, Any]:
    """Smallest subset whose LOMO log loss is within one SE of the best subset's (all subsets up
    to `max_size` benchmarks, at most `MAX_SUBSETS` of them)."""
    names = list(matrix.columns)
    values = matrix.to_numpy(float)
    m = len(battles.models)
    limit = min(max_size or MAX_SUBSET_SIZE, len(names), max(1, m - 2))
    null = null_fold_losses(battles)
    results: list[CrossValidation] = []
    for size in range(1, limit + 1):
        for subset in itertools.combinations(range(len(names)), size):
            if len(results) >= MAX_SUBSETS:
                break
            cols = list(subset)
            results.append(
                lomo_cross_validation(
                    battles, values[:, cols], [names[c] for c in cols], strengths, null
                )
            )
    best = min(results, key=lambda r: r.log_loss)
    chosen = best
    for r in sorted(results, key=lambda r: (len(r.benchmarks), r.log_loss)):
        if r.log_loss <= best.log_loss + paired_standard_error(r, best):
            chosen = r
            break
    ranked = sorted(results, key=lambda r: r.log_loss)[:10]
    return {
        "subsets_evaluated": len(results),
        "max_size": limit,
        "selected": chosen.benchmarks,
        "selected_log_loss": chosen.log_loss,
        "selected_r2_votes": chosen.r2_votes,
        "selected_r2_strength": chosen.r2_strength,
        "best": best.benchmarks,
        "best_log_loss": best.log_loss,
        "null_log_loss": best.log_loss_null,
        "rule": "smallest subset within one standard error of the best leave-one-model-out log loss",
        "caveat": f"chosen among {len(results)} subsets, so its cross-validated figures are "
        "optimistic; confirm on a new round of votes",
        "top": [
            {
                "benchmarks": r.benchmarks,
                "log_loss": r.log_loss,
                "r2_votes": r.r2_votes,
                "r2_strength": r.r2_strength,
            }
            for r in ranked
        ],
    }


def paired_standard_error(first: CrossValidation, second: CrossValidation) -> float:
    """Standard error of the mean per-vote log-loss difference of two fits on the same folds."""
    n = first.row_weights
    per_vote = (first.row_losses - second.row_losses) / n
    mean = np.average(per_vote, weights=n)
    variance = np.average((per_vote - mean) ** 2, weights=n)
    return float(np.sqrt(variance / n.sum()))


def cv_summary(cv: CrossValidation) -> dict[str, Any]:
    """JSON-ready LOMO figures (without the per-row losses)."""
    out = asdict(cv)
    out.pop("row_losses")
    out.pop("row_weights")
    return out
