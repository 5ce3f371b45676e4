"""Bradley–Terry with per-vote covariates (response-length control), as arena style control does.

P(A beats B) = sigmoid(theta_A - theta_B + beta . x), x = per-vote covariates such as the
standardised normalised length difference (len_A - len_B) / (len_A + len_B). Ties count half.
Each coefficient has a weak N(0, 2²) prior so that a covariate which happens to separate the
outcomes of a small sample cannot run off to infinity; it is negligible with real data sizes.
Covariates make votes (almost) unique, so rows are votes; the batched Newton solver works on a
dense design matrix, chunked over rounds to bound memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from tqdm import tqdm

from ranking.bradley_terry import PRIOR_PSEUDO_VOTES, solve_batched
from ranking.errors import RankingError

MAX_CELLS_PER_CHUNK = 4_000_000
MIN_VOTES = 50  # fewer votes cannot separate strength from length reliably
COVARIATE_PRIOR_SD = (
    2.0  # weak normal prior on each coefficient (log-odds per SD): no separation blow-ups
)


@dataclass
class CovariateFit:
    """Strengths (rounds, models) and covariate coefficients (rounds, covariates)."""

    theta: np.ndarray
    beta: np.ndarray
    converged: np.ndarray
    cov_sandwich: np.ndarray | None = None  # of (centred theta, beta), point fit only


def normalised_length_difference(length_a: np.ndarray, length_b: np.ndarray) -> np.ndarray:
    """(len_A - len_B) / (len_A + len_B), 0 where both are zero; raises on missing lengths."""
    a = np.asarray(length_a, dtype=float)
    b = np.asarray(length_b, dtype=float)
    if np.isnan(a).any() or np.isnan(b).any():
        raise RankingError("length control needs response lengths for both sides of every vote")
    total = a + b
    return np.divide(a - b, total, out=np.zeros_like(total), where=total > 0)


def standardise(x: np.ndarray) -> np.ndarray:
    """Centre and scale a covariate to unit standard deviation (constant columns stay 0)."""
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else x - x.mean()


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


def newton_design(
    x: np.ndarray,
    y: np.ndarray,
    counts: np.ndarray,
    n_models: int,
    prior_mask: np.ndarray,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> CovariateFit:
    """Batched logistic Newton, weights `counts` (rounds, rows); strengths kept centred."""
    rounds, q = counts.shape[0], x.shape[1]
    m = n_models
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
        p = expit(prm @ x.T)
        grad = (c * (y - p)) @ x
        w = c * p * (1 - p)
        info = np.einsum("ru,uq,uk->rqk", w, x, x, optimize=True)
        s = expit(prm[:, :m])
        grad[:, :m] += mk * PRIOR_PSEUDO_VOTES * (1 - 2 * s)
        idx = np.arange(m)
        info[:, idx, idx] += mk * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
        grad[:, m:] -= prm[:, m:] / COVARIATE_PRIOR_SD**2
        info[:, m:, m:] += np.eye(q - m) / COVARIATE_PRIOR_SD**2
        info = centre @ info @ centre.T
        grad = grad @ centre.T
        scale = np.maximum(np.trace(info, axis1=1, axis2=2) / q, 1e-12)
        info += scale[:, None, None] * np.outer(ones, ones)[None] / m
        step = solve_batched(info, grad)
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, 2.0 / np.maximum(size, 1e-300))[:, None]
        params[act] += step
        converged[act] = size < tol
    return CovariateFit(theta=params[:, :m], beta=params[:, m:], converged=converged)


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
) -> tuple[CovariateFit, CovariateFit | None]:
    """Point fit and (optionally) a multinomial bootstrap over votes, both batched.

    `round_prior_mask` maps resampled vote counts (rounds, votes) to the (rounds, models) mask of
    models that need the prior in each round (see `ranking.bootstrap.per_round_degenerate`).
    """
    x = design_matrix(ia, ib, n_models, np.asarray(covariates, dtype=float).reshape(len(ia), -1))
    y = np.asarray(score_a, dtype=float)
    point = newton_design(x, y, np.ones((1, len(y))), n_models, prior_mask[None])
    params = np.concatenate([point.theta[0], point.beta[0]])
    point.cov_sandwich = design_sandwich(x, y, params, n_models, prior_mask)
    if bootstrap_rounds <= 0:
        return point, None
    rng = np.random.default_rng(seed)
    chunk = max(1, MAX_CELLS_PER_CHUNK // max(x.size, 1))
    parts: list[CovariateFit] = []
    bar = tqdm(total=bootstrap_rounds, desc="bootstrap (length control)", disable=not progress)
    done = 0
    while done < bootstrap_rounds:
        size = min(chunk, bootstrap_rounds - done)
        counts = rng.multinomial(len(y), np.full(len(y), 1.0 / len(y)), size=size).astype(float)
        mask = np.broadcast_to(prior_mask, (size, n_models))
        if round_prior_mask is not None:
            mask = mask | round_prior_mask(counts)
        parts.append(newton_design(x, y, counts, n_models, mask))
        done += size
        bar.update(size)
    bar.close()
    boot = CovariateFit(
        theta=np.concatenate([p.theta for p in parts]),
        beta=np.concatenate([p.beta for p in parts]),
        converged=np.concatenate([p.converged for p in parts]),
    )
    return point, boot


def design_sandwich(
    x: np.ndarray, y: np.ndarray, params: np.ndarray, n_models: int, prior_mask: np.ndarray
) -> np.ndarray:
    """Sandwich covariance A^-1 B A^-1 of (centred strengths, covariate coefficients)."""
    m, q = n_models, x.shape[1]
    p = expit(x @ params)
    info = x.T @ ((p * (1 - p))[:, None] * x)
    s = expit(params[:m])
    info[np.arange(m), np.arange(m)] += prior_mask * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
    info[m:, m:] += np.eye(q - m) / COVARIATE_PRIOR_SD**2
    meat = x.T @ (((y - p) ** 2)[:, None] * x)
    gauge = np.zeros((q, q))
    gauge[:m, :m] = np.trace(info[:m, :m]) / m**2
    inverse = np.linalg.inv(info + gauge)
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    return centre @ inverse @ meat @ inverse @ centre.T
