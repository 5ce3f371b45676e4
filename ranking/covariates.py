"""Bradley–Terry with per-vote covariates (style and latency control), as arena style control does.

P(A beats B) = sigmoid(theta_A - theta_B + beta . x) with ties as half a win, or Davidson's
three-outcome model with the same linear predictor, where x holds per-vote covariates such as
the standardised normalised length difference (len_A - len_B) / (len_A + len_B). Each
coefficient has a weak N(0, 2²) prior so that a covariate which happens to separate the outcomes
of a small sample cannot run off to infinity; it is negligible with real data sizes.
Covariates make votes (almost) unique, so rows are votes; the batched Newton solver works on a
dense design matrix, chunked over rounds to bound memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import expit
from tqdm import tqdm

from ranking.bradley_terry import (
    FIRST_WINS,
    MIN_LOG_NU,
    PRIOR_PSEUDO_VOTES,
    SECOND_WINS,
    TIE,
    TiesMode,
    _davidson_probs,
    solve_batched,
)
from ranking.errors import RankingError

MAX_CELLS_PER_CHUNK = 4_000_000
MIN_VOTES = 50  # fewer votes cannot separate strength from style reliably
COVARIATE_PRIOR_SD = 2.0  # weak normal prior on each coefficient (log-odds per SD)


@dataclass
class CovariateFit:
    """Strengths (rounds, models), coefficients (rounds, covariates), Davidson log-nu (rounds,)."""

    theta: np.ndarray
    beta: np.ndarray
    converged: np.ndarray
    log_nu: np.ndarray | None = None
    cov_sandwich: np.ndarray | None = None  # of (centred theta, beta), point fit only


def side_difference(value_a: np.ndarray, value_b: np.ndarray) -> np.ndarray:
    """Per-vote A-minus-B difference of a side-specific covariate.

    Non-negative quantities (lengths, latencies) use the scale-free (a - b) / (a + b), 0 where
    both are zero; anything that can be negative uses a - b. NaN stays NaN (missing).
    """
    a = np.asarray(value_a, dtype=float)
    b = np.asarray(value_b, dtype=float)
    if np.nanmin(np.concatenate([a, b, [0.0]])) < 0:
        return a - b
    total = a + b
    out = np.divide(a - b, total, out=np.zeros_like(total), where=total > 0)
    out[np.isnan(a) | np.isnan(b)] = np.nan
    return out


def normalised_length_difference(length_a: np.ndarray, length_b: np.ndarray) -> np.ndarray:
    """(len_A - len_B) / (len_A + len_B), 0 where both are zero; raises on missing lengths."""
    out = side_difference(length_a, length_b)
    if np.isnan(out).any():
        raise RankingError("length control needs response lengths for both sides of every vote")
    return out


def standardise(x: np.ndarray) -> np.ndarray:
    """Centre and scale each covariate column to unit standard deviation (constants stay 0)."""
    x = np.asarray(x, dtype=float)
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def design_matrix(
    ia: np.ndarray, ib: np.ndarray, n_models: int, covariates: np.ndarray
) -> np.ndarray:
    """Rows of +1 (A) / -1 (B) model indicators followed by the covariates."""
    rows = np.arange(len(ia))
    x = np.zeros((len(ia), n_models + covariates.shape[1]))
    x[rows, ia] = 1.0
    x[rows, ib] = -1.0
    x[:, n_models:] = covariates
    return x


def outcomes(score_a: np.ndarray) -> np.ndarray:
    """Score of A (1, 0.5, 0) -> outcome column (first wins, tie, second wins)."""
    score = np.asarray(score_a, dtype=float)
    return np.select([score == 1.0, score == 0.5], [FIRST_WINS, TIE], default=SECOND_WINS)


def _row_terms(
    eta: np.ndarray, onehot: np.ndarray, counts: np.ndarray, ties: TiesMode, log_nu: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Per-row gradient and information terms (for eta, and for log-nu under Davidson)."""
    c1, ct, c2 = (counts * onehot[None, :, k] for k in (FIRST_WINS, TIE, SECOND_WINS))
    if ties == "davidson":
        p1, pt, p2 = _davidson_probs(eta, log_nu[:, None])
        diff = p1 - p2
        g = 0.5 * (c1 - c2) - 0.5 * counts * diff
        w = 0.25 * counts * ((p1 + p2) - diff**2)
        g_nu = (ct - counts * pt).sum(axis=1)
        i_deta = -0.5 * counts * diff * pt
        i_nunu = (counts * pt * (1 - pt)).sum(axis=1)
        return g, w, g_nu, i_deta, i_nunu
    p = expit(eta)
    return c1 + 0.5 * ct - counts * p, counts * p * (1 - p), None, None, None


def newton_design(
    x: np.ndarray,
    outcome: np.ndarray,
    counts: np.ndarray,
    n_models: int,
    prior_mask: np.ndarray,
    ties: TiesMode = "half",
    max_iter: int = 100,
    tol: float = 1e-9,
) -> CovariateFit:
    """Batched Newton on vote rows weighted by `counts` (rounds, rows); strengths kept centred."""
    davidson = ties == "davidson"
    rounds, p = counts.shape[0], x.shape[1]
    q = p + (1 if davidson else 0)
    m = n_models
    onehot = np.eye(3)[outcome]
    params = np.zeros((rounds, q))
    converged = np.zeros(rounds, bool)
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    ones = np.zeros(q)
    ones[:m] = 1.0
    for _ in range(max_iter):
        act = np.flatnonzero(~converged)
        if len(act) == 0:
            break
        prm, c, mk = params[act], counts[act], prior_mask[act]
        eta = prm[:, :p] @ x.T
        g, w, g_nu, i_deta, i_nunu = _row_terms(
            eta, onehot, c, ties, prm[:, p] if davidson else None
        )
        grad = np.zeros((len(act), q))
        grad[:, :p] = g @ x
        info = np.zeros((len(act), q, q))
        info[:, :p, :p] = np.einsum("ru,uq,uk->rqk", w, x, x, optimize=True)
        if davidson:
            col = i_deta @ x
            info[:, :p, p] = col
            info[:, p, :p] = col
            info[:, p, p] = np.maximum(i_nunu, 1e-12)
            grad[:, p] = g_nu
        s = expit(prm[:, :m])
        grad[:, :m] += mk * PRIOR_PSEUDO_VOTES * (1 - 2 * s)
        idx = np.arange(m)
        info[:, idx, idx] += mk * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
        grad[:, m:p] -= prm[:, m:p] / COVARIATE_PRIOR_SD**2
        info[:, m:p, m:p] += np.eye(p - m) / COVARIATE_PRIOR_SD**2
        info = centre @ info @ centre.T
        grad = grad @ centre.T
        scale = np.maximum(np.trace(info, axis1=1, axis2=2) / q, 1e-12)
        info += scale[:, None, None] * np.outer(ones, ones)[None] / m
        step = solve_batched(info, grad)
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, 2.0 / np.maximum(size, 1e-300))[:, None]
        params[act] += step
        if davidson:  # no ties in a resample: nu -> 0; stop at the floor
            before = params[act, p] - step[:, p]
            params[act, p] = np.maximum(params[act, p], MIN_LOG_NU)
            step[:, p] = params[act, p] - before
            size = np.abs(step).max(axis=1)
        converged[act] = size < tol
    return CovariateFit(
        theta=params[:, :m],
        beta=params[:, m:p],
        converged=converged,
        log_nu=params[:, p] if davidson else None,
    )


def design_sandwich(
    x: np.ndarray,
    outcome: np.ndarray,
    fit: CovariateFit,
    n_models: int,
    prior_mask: np.ndarray,
    ties: TiesMode = "half",
    clusters: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sandwich covariance A^-1 B A^-1 of (centred strengths, coefficients[, log nu]).

    With `clusters` (a code per vote) the meat sums each cluster's scores first
    (cluster-robust, with the G/(G-1) factor).
    """
    davidson = ties == "davidson"
    m, p = n_models, x.shape[1]
    q = p + (1 if davidson else 0)
    params = np.concatenate([fit.theta[0], fit.beta[0]])
    log_nu = fit.log_nu[:1] if davidson and fit.log_nu is not None else np.zeros(1)
    onehot = np.eye(3)[outcome]
    eta = (x @ params)[None]
    weight = np.ones(len(outcome)) if weights is None else np.asarray(weights, float)
    g, w, g_nu, i_deta, i_nunu = _row_terms(eta, onehot, weight[None], ties, log_nu)
    info = np.zeros((q, q))
    info[:p, :p] = x.T @ (w[0][:, None] * x)
    scores = (g[0] / weight)[:, None] * x  # one vote's score per row
    if davidson:
        info[:p, p] = info[p, :p] = i_deta[0] @ x
        info[p, p] = i_nunu[0]
        _, pt, _ = _davidson_probs(eta, log_nu[:, None])
        scores = np.column_stack([scores, onehot[:, TIE] - pt[0]])
    s = expit(params[:m])
    info[np.arange(m), np.arange(m)] += prior_mask * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
    info[m:p, m:p] += np.eye(p - m) / COVARIATE_PRIOR_SD**2
    if clusters is not None:
        codes = np.asarray(clusters, np.int64)
        n_clusters = int(codes.max()) + 1
        summed = (
            sparse.csr_matrix(
                (weight, (codes, np.arange(len(codes)))), shape=(n_clusters, len(codes))
            )
            @ scores
        )
        meat = summed.T @ summed * (n_clusters / max(n_clusters - 1, 1))
    else:
        meat = scores.T @ (weight[:, None] * scores)
    gauge = np.zeros((q, q))
    gauge[:m, :m] = np.trace(info[:m, :m]) / m**2
    inverse = np.linalg.inv(info + gauge)
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    return centre @ inverse @ meat @ inverse @ centre.T


def fit_with_covariates(
    ia: np.ndarray,
    ib: np.ndarray,
    score_a: np.ndarray,
    n_models: int,
    covariates: np.ndarray,
    prior_mask: np.ndarray,
    bootstrap_rounds: int = 0,
    seed: int = 0,
    progress: bool = False,
    round_prior_mask: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    ties: TiesMode = "half",
    clusters: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[CovariateFit, CovariateFit | None]:
    """Point fit and (optionally) a bootstrap over votes, or over clusters (users), batched.

    `round_prior_mask` maps resampled vote counts (rounds, votes) to the (rounds, models) mask of
    models that need the prior in each round (see `ranking.bootstrap.per_round_degenerate`).
    """
    x = design_matrix(ia, ib, n_models, np.asarray(covariates, dtype=float).reshape(len(ia), -1))
    outcome = outcomes(score_a)
    n = len(outcome)
    weight = np.ones(n) if weights is None else np.asarray(weights, float)
    point = newton_design(x, outcome, weight[None], n_models, prior_mask[None], ties)
    point.cov_sandwich = design_sandwich(
        x, outcome, point, n_models, prior_mask, ties, clusters, weight
    )
    if bootstrap_rounds <= 0:
        return point, None
    rng = np.random.default_rng(seed)
    codes = None if clusters is None else np.asarray(clusters, np.int64)
    n_clusters = 0 if codes is None else int(codes.max()) + 1
    chunk = max(1, MAX_CELLS_PER_CHUNK // max(x.size, n_clusters, 1))
    parts: list[CovariateFit] = []
    desc = "bootstrap (covariate control)"
    bar = tqdm(total=bootstrap_rounds, desc=desc, unit="round", disable=not progress)
    done = 0
    while done < bootstrap_rounds:
        size = min(chunk, bootstrap_rounds - done)
        if codes is None:
            total = int(round(weight.sum()))
            counts = rng.multinomial(total, weight / weight.sum(), size=size).astype(float)
        else:
            draws = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=size)
            counts = draws[:, codes] * weight[None]
        mask = np.broadcast_to(prior_mask, (size, n_models))
        if round_prior_mask is not None:
            mask = mask | round_prior_mask(counts)
        parts.append(newton_design(x, outcome, counts, n_models, mask, ties))
        done += size
        bar.update(size)
    bar.close()
    boot = CovariateFit(
        theta=np.concatenate([p.theta for p in parts]),
        beta=np.concatenate([p.beta for p in parts]),
        converged=np.concatenate([p.converged for p in parts]),
        log_nu=None if ties != "davidson" else np.concatenate([p.log_nu for p in parts]),
    )
    return point, boot
