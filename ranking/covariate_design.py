"""The numerics of Bradley–Terry with per-vote covariates, on a sparse design.

A vote row's linear predictor is theta_a - theta_b + beta . x: two model entries and k dense
covariates, so the design is never built as a rows x models matrix. The information of the
strengths is a pair Laplacian (rows summed per unordered pair), the strength-covariate block
is k scatter sums and the covariate block is k x k: memory and time grow with the rows and
the pairs, and only the (models + k) square system is dense. Used by `ranking.covariates`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.special import expit

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

COVARIATE_PRIOR_SD = 2.0  # weak normal prior on each coefficient (log-odds per SD)


@dataclass(frozen=True)
class PairDesign:
    """Vote rows as model a minus model b plus covariates `x` (rows, k), kept sparse."""

    ia: np.ndarray
    ib: np.ndarray
    x: np.ndarray
    n_models: int
    signed: sparse.csr_matrix  # rows x models: +1 at a, -1 at b
    to_pairs: sparse.csr_matrix  # rows x unordered pairs: 1 at the row's pair
    pair_i: np.ndarray
    pair_j: np.ndarray

    @classmethod
    def build(cls, ia: np.ndarray, ib: np.ndarray, x: np.ndarray, n_models: int) -> PairDesign:
        ia, ib = np.asarray(ia, np.int64), np.asarray(ib, np.int64)
        n = len(ia)
        signed = _rows_matrix([ia, ib], [np.ones(n), -np.ones(n)], n_models)
        keys, pair = np.unique(
            np.minimum(ia, ib) * n_models + np.maximum(ia, ib), return_inverse=True
        )
        to_pairs = _rows_matrix([pair], [np.ones(n)], len(keys))
        x = np.asarray(x, dtype=float).reshape(n, -1)
        return cls(ia, ib, x, n_models, signed, to_pairs, keys // n_models, keys % n_models)

    @property
    def k(self) -> int:
        return self.x.shape[1]

    def eta(self, theta: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """(rounds, rows) linear predictors."""
        return theta[:, self.ia] - theta[:, self.ib] + beta @ self.x.T

    def to_models(self, values: np.ndarray) -> np.ndarray:
        """(rounds, rows) -> (rounds, models): each row's value to model a, minus to model b."""
        return np.asarray(self.signed.T @ values.T).T

    def gram(self, weights: np.ndarray) -> np.ndarray:
        """(rounds, models + k, models + k): sum over rows of weight * z z^T, z the row's design
        vector (+1 at a, -1 at b, then x)."""
        rounds, m, k = weights.shape[0], self.n_models, self.k
        out = np.zeros((rounds, m + k, m + k))
        per_pair = np.asarray(self.to_pairs.T @ weights.T).T  # (rounds, pairs)
        out[:, self.pair_i, self.pair_j] = -per_pair
        out[:, self.pair_j, self.pair_i] = -per_pair
        idx = np.arange(m)
        out[:, idx, idx] = np.asarray(abs(self.signed).T @ weights.T).T
        for col in range(k):
            cross = self.to_models(weights * self.x[:, col])
            out[:, :m, m + col] = cross
            out[:, m + col, :m] = cross
        out[:, m:, m:] = np.einsum("ru,uk,ul->rkl", weights, self.x, self.x, optimize=True)
        return out

    def cross(self, values: np.ndarray) -> np.ndarray:
        """(rounds, models + k): sum over rows of value * z (the design's transpose times values)."""
        return np.concatenate([self.to_models(values), values @ self.x], axis=1)

    def score_rows(
        self, per_vote: np.ndarray, extra: np.ndarray | None = None
    ) -> sparse.csr_matrix:
        """Sparse (rows, parameters): one vote's score per row, `per_vote` times z (and `extra`,
        Davidson's log-nu score, in a last column)."""
        n, m, k = len(self.ia), self.n_models, self.k
        cols = [self.ia, self.ib, *(np.full(n, m + c) for c in range(k))]
        vals = [per_vote, -per_vote, *(per_vote * self.x[:, c] for c in range(k))]
        if extra is not None:
            cols.append(np.full(n, m + k))
            vals.append(extra)
        return _rows_matrix(cols, vals, m + k + (1 if extra is not None else 0))


def _rows_matrix(
    columns: list[np.ndarray], values: list[np.ndarray], width: int
) -> sparse.csr_matrix:
    """Sparse (rows, width) with the same number of entries in every row: row r holds
    values[e][r] at columns[e][r] (built as CSR directly; no sort of a million entries)."""
    n, per_row = len(columns[0]), len(columns)
    return sparse.csr_matrix(
        (np.column_stack(values).ravel(), np.column_stack(columns).ravel(),
         np.arange(0, n * per_row + 1, per_row)),
        shape=(n, width),
    )  # fmt: skip


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


def _information(
    design: PairDesign,
    params: np.ndarray,
    onehot: np.ndarray,
    counts: np.ndarray,
    prior_mask: np.ndarray,
    ties: TiesMode,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient (rounds, q) and information (rounds, q, q) of the penalised log-likelihood."""
    m, p = design.n_models, design.n_models + design.k
    davidson = ties == "davidson"
    q = p + (1 if davidson else 0)
    eta = design.eta(params[:, :m], params[:, m:p])
    g, w, g_nu, i_deta, i_nunu = _row_terms(
        eta, onehot, counts, ties, params[:, p] if davidson else None
    )
    rounds = params.shape[0]
    grad = np.zeros((rounds, q))
    grad[:, :p] = design.cross(g)
    info = np.zeros((rounds, q, q))
    info[:, :p, :p] = design.gram(w)
    if davidson:
        col = design.cross(i_deta)
        info[:, :p, p] = col
        info[:, p, :p] = col
        info[:, p, p] = np.maximum(i_nunu, 1e-12)
        grad[:, p] = g_nu
    s = expit(params[:, :m])
    grad[:, :m] += prior_mask * PRIOR_PSEUDO_VOTES * (1 - 2 * s)
    idx = np.arange(m)
    info[:, idx, idx] += prior_mask * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
    grad[:, m:p] -= params[:, m:p] / COVARIATE_PRIOR_SD**2
    info[:, m:p, m:p] += np.eye(p - m) / COVARIATE_PRIOR_SD**2
    return grad, info


def centred_system(info: np.ndarray, grad: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The Newton system with strengths kept centred (sum zero): project the strengths' block
    and add a rank-one term along the all-ones direction so the system is invertible."""
    q = info.shape[-1]
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    info = centre @ info @ centre.T
    grad = grad @ centre.T
    ones = np.zeros(q)
    ones[:m] = 1.0
    scale = np.maximum(np.trace(info, axis1=-2, axis2=-1) / q, 1e-12)
    info = info + np.asarray(scale)[..., None, None] * np.outer(ones, ones) / m
    return info, grad


def newton_design(
    design: PairDesign,
    outcome: np.ndarray,
    counts: np.ndarray,
    prior_mask: np.ndarray,
    ties: TiesMode = "half",
    start: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Batched damped Newton on vote rows weighted by `counts` (rounds, rows), from `start`
    (rounds, q) or zeros; returns the parameters (rounds, q: strengths, coefficients[, log nu])
    and which rounds converged."""
    davidson = ties == "davidson"
    m, p = design.n_models, design.n_models + design.k
    q = p + (1 if davidson else 0)
    rounds = counts.shape[0]
    onehot = np.eye(3)[outcome]
    params = np.zeros((rounds, q)) if start is None else np.array(start, dtype=float)
    converged = np.zeros(rounds, bool)
    for _ in range(max_iter):
        act = np.flatnonzero(~converged)
        if len(act) == 0:
            break
        grad, info = _information(design, params[act], onehot, counts[act], prior_mask[act], ties)
        info, grad = centred_system(info, grad, m)
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
    return params, converged


def vote_scores(
    design: PairDesign, outcome: np.ndarray, params: np.ndarray, ties: TiesMode
) -> sparse.csr_matrix:
    """Sparse (rows, q): the score of one vote of each row at `params` (one round)."""
    m, p = design.n_models, design.n_models + design.k
    onehot = np.eye(3)[outcome]
    eta = design.eta(params[None, :m], params[None, m:p])[0]
    if ties == "davidson":
        p1, pt, p2 = _davidson_probs(eta, np.full_like(eta, params[p]))
        per_vote = 0.5 * (onehot[:, FIRST_WINS] - onehot[:, SECOND_WINS]) - 0.5 * (p1 - p2)
        return design.score_rows(per_vote, onehot[:, TIE] - pt)
    per_vote = onehot[:, FIRST_WINS] + 0.5 * onehot[:, TIE] - expit(eta)
    return design.score_rows(per_vote)


def sandwich(
    design: PairDesign,
    outcome: np.ndarray,
    params: np.ndarray,
    prior_mask: np.ndarray,
    ties: TiesMode,
    weights: np.ndarray,
    per_cluster: np.ndarray | sparse.csr_matrix | None = None,
) -> np.ndarray:
    """Sandwich covariance A^-1 B A^-1 of (centred strengths, coefficients[, log nu]); with
    `per_cluster` (clusters x q summed scores) the meat sums each cluster's scores first
    (cluster-robust, with the G/(G-1) factor)."""
    m = design.n_models
    _, info = _information(
        design, params[None], np.eye(3)[outcome], weights[None], prior_mask[None], ties
    )
    info = info[0]
    q = info.shape[0]
    if per_cluster is not None:
        g = per_cluster.shape[0]
        meat = per_cluster.T @ per_cluster
        meat = (meat.toarray() if sparse.issparse(meat) else meat) * (g / max(g - 1, 1))
    else:
        scores = vote_scores(design, outcome, params, ties)
        meat = (scores.T @ scores.multiply(weights[:, None]).tocsr()).toarray()
    gauge = np.zeros((q, q))
    gauge[:m, :m] = np.trace(info[:m, :m]) / m**2
    inverse = np.linalg.inv(info + gauge)
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    return centre @ inverse @ meat @ inverse @ centre.T


def centred_factor(
    design: PairDesign,
    outcome: np.ndarray,
    params: np.ndarray,
    prior_mask: np.ndarray,
    ties: TiesMode,
    weights: np.ndarray,
) -> tuple[np.ndarray, bool]:
    """Cholesky factor of the centred information at `params` (the system Newton solves)."""
    grad, info = _information(
        design, params[None], np.eye(3)[outcome], weights[None], prior_mask[None], ties
    )
    info, _ = centred_system(info[0], grad[0], design.n_models)
    return linalg.cho_factor(info, overwrite_a=True, check_finite=False)
