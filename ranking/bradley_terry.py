"""Bradley–Terry maximum likelihood on aggregated pair counts (half-win ties or Davidson ties).

Pure functions on numpy arrays. Votes are first aggregated to unique (pair, outcome) rows
with counts, so the cost of a fit does not grow with the number of votes. All fits, the
single point fit included, go through one batched Newton solver over a (rounds, models)
parameter matrix, which is what makes the bootstrap fast (see `ranking.bootstrap`).

Degenerate data: a model that never lost (or never won) has no finite maximum-likelihood
strength. Such models are flagged and get a small prior, `PRIOR_PSEUDO_VOTES` virtual wins and
as many virtual losses against a reference opponent of average strength, which keeps their
rating finite and barely moves anyone else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import LinearOperator, cg
from scipy.special import expit

from ranking.errors import DisconnectedComparisonError, RankingError

ELO_SCALE = 400.0 / math.log(10.0)
DEFAULT_MEAN_RATING = 1000.0
PRIOR_PSEUDO_VOTES = 0.5  # virtual wins (and losses) vs an average opponent for flagged models
MIN_LOG_NU = math.log(1e-6)  # Davidson's tie parameter floor (reached only without any ties)
TiesMode = Literal["half", "davidson"]
WINNER_SCORES = {"model_a": 1.0, "a": 1.0, "tie": 0.5, "model_b": 0.0, "b": 0.0}
# Column order of the per-pair outcome counts: first model of the pair wins, tie, second wins.
FIRST_WINS, TIE, SECOND_WINS = 0, 1, 2
# Up to this many models the batched dense Newton solver runs (every round's models x models
# information matrix, solved exactly); above it one round at a time on the sparse information
# matrix with conjugate gradients, so memory and time grow with the pairs, not models^2.
DENSE_MAX_MODELS = 150
# Full covariance matrices (models x models inverse) up to this many models; above it standard
# errors are estimated from score draws (see `ranking.bootstrap.one_step_bootstrap`).
EXACT_COVARIANCE_MAX_MODELS = 2000
BINCOUNT_MAX_CELLS = 4_000_000  # aggregate with a dense models^2 count table up to this size
# per-cluster scores (clusters x parameters) are held dense up to this many entries: the meat of
# the sandwich and the one-step bootstrap are then BLAS products (500 models, 20,000 users:
# meat 0.44 -> 0.11 CPU-s)
DENSE_CLUSTER_SCORES = 30_000_000


@dataclass(frozen=True)
class PairCounts:
    """Votes aggregated to unique unordered pairs (i < j) with [i wins, tie, j wins] counts."""

    models: tuple[str, ...]
    pair_i: np.ndarray
    pair_j: np.ndarray
    counts: np.ndarray  # (pairs, 3) float

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def n_votes(self) -> int:
        return int(round(self.counts.sum()))

    def incidence(self) -> sparse.csr_matrix:
        """Sparse (pairs, models) matrix with +1 at the first model and -1 at the second."""
        n_pairs = len(self.pair_i)
        rows = np.concatenate([np.arange(n_pairs), np.arange(n_pairs)])
        cols = np.concatenate([self.pair_i, self.pair_j])
        vals = np.concatenate([np.ones(n_pairs), -np.ones(n_pairs)])
        return sparse.csr_matrix((vals, (rows, cols)), shape=(n_pairs, self.n_models))

    def votes_per_model(self) -> np.ndarray:
        per_pair = self.counts.sum(axis=1)
        return np.bincount(self.pair_i, per_pair, self.n_models) + np.bincount(
            self.pair_j, per_pair, self.n_models
        )

    def scores_per_model(self) -> np.ndarray:
        """Wins plus half the ties, per model."""
        first = self.counts[:, FIRST_WINS] + 0.5 * self.counts[:, TIE]
        second = self.counts[:, SECOND_WINS] + 0.5 * self.counts[:, TIE]
        return np.bincount(self.pair_i, first, self.n_models) + np.bincount(
            self.pair_j, second, self.n_models
        )

    def subset(self, keep: np.ndarray) -> PairCounts:
        """Only the models where `keep` is true, and only pairs among them."""
        index = np.full(self.n_models, -1)
        index[keep] = np.arange(int(keep.sum()))
        rows = keep[self.pair_i] & keep[self.pair_j]
        return PairCounts(
            models=tuple(m for m, k in zip(self.models, keep, strict=True) if k),
            pair_i=index[self.pair_i[rows]],
            pair_j=index[self.pair_j[rows]],
            counts=self.counts[rows],
        )


def winner_scores(winner: np.ndarray | pd.Series | list[str]) -> np.ndarray:
    """Map winners (`model_a`, `model_b`, `tie`) to the score of model A (1, 0, 0.5)."""
    values = np.asarray(winner, dtype=object)
    codes, labels = pd.factorize(values, use_na_sentinel=False)
    per_label = np.array([WINNER_SCORES.get(label, np.nan) for label in labels], dtype=float)
    scores = per_label[codes]  # a few distinct labels: map those, not a million rows
    bad = np.isnan(scores)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise RankingError(
            f"vote {first}: winner {values[first]!r}; expected model_a, model_b or tie"
        )
    return scores


def _as_strings(values: np.ndarray) -> np.ndarray:
    """Object array of str (converted only when something is not a str already)."""
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return values.astype(str).astype(object)


def encode_models(
    model_a: np.ndarray, model_b: np.ndarray
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Sorted model names and integer codes of both sides (hash-based, fast for millions of votes)."""
    names = np.concatenate([np.asarray(model_a, dtype=object), np.asarray(model_b, dtype=object)])
    codes, uniques = pd.factorize(_as_strings(names), sort=True)
    return tuple(str(m) for m in uniques), codes[: len(model_a)], codes[len(model_a) :]


def model_codes(names: np.ndarray, models: tuple[str, ...]) -> np.ndarray:
    """Index of each name in `models`; raises on a name that is not there."""
    codes = pd.Categorical(
        _as_strings(np.asarray(names, dtype=object)), categories=list(models)
    ).codes
    if (codes < 0).any():
        unknown = np.asarray(names, dtype=object)[codes < 0][0]
        raise RankingError(f"model {unknown!r} is not among {list(models)}")
    return codes.astype(np.int64)


def aggregate_votes(
    model_a: np.ndarray | list[str],
    model_b: np.ndarray | list[str],
    score_a: np.ndarray,
    models: tuple[str, ...] | None = None,
) -> PairCounts:
    """Aggregate votes (score of A: 1 win, 0.5 tie, 0 loss) to unique pairs with outcome counts."""
    a = np.asarray(model_a)
    b = np.asarray(model_b)
    score = np.asarray(score_a, dtype=float)
    if not (len(a) == len(b) == len(score)):
        raise RankingError("model_a, model_b and scores must have the same length")
    if len(a) == 0:
        raise RankingError("no votes to rank; ingest votes first (`arenalens ingest ...`)")
    if models is None:
        models, ia, ib = encode_models(a, b)
    else:
        ia, ib = model_codes(a, models), model_codes(b, models)
    return aggregate_codes(ia, ib, score, models)


def aggregate_codes(
    ia: np.ndarray,
    ib: np.ndarray,
    score: np.ndarray,
    models: tuple[str, ...],
    weights: np.ndarray | None = None,
) -> PairCounts:
    """`aggregate_votes` on integer model codes (indices into `models`); `weights` are vote
    counts when the rows are already aggregated (e.g. by SQL)."""
    if np.any(ia == ib):
        raise RankingError(f"vote {int(np.flatnonzero(ia == ib)[0])} compares a model with itself")
    m = len(models)
    cells = flat_cells(ia, ib, score, m)
    if m * m * 3 <= BINCOUNT_MAX_CELLS:
        flat = np.bincount(cells, weights=weights, minlength=m * m * 3).reshape(m * m, 3)
        present = np.flatnonzero(flat.sum(axis=1))
        return PairCounts(models, present // m, present % m, flat[present].astype(float))
    # many models: count only the cells that occur (sorted, so the same order as above)
    unique, inverse = np.unique(cells, return_inverse=True)
    per_cell = np.bincount(inverse, weights=weights, minlength=len(unique))
    pairs, row = np.unique(unique // 3, return_inverse=True)
    counts = np.zeros((len(pairs), 3))
    np.add.at(counts, (row, unique % 3), per_cell)
    keep = counts.sum(axis=1) > 0  # weights of zero
    return PairCounts(models, pairs[keep] // m, pairs[keep] % m, counts[keep])


def flat_cells(ia: np.ndarray, ib: np.ndarray, score: np.ndarray, n_models: int) -> np.ndarray:
    """Index of each vote's (unordered pair, outcome) cell in an (m*m, 3) count table."""
    outcome = np.select([score == 1.0, score == 0.5, score == 0.0], [0, 1, 2], default=-1)
    if np.any(outcome < 0):
        raise RankingError("scores must be 1 (A wins), 0.5 (tie) or 0 (B wins)")
    swap = ia > ib
    lo, hi = np.where(swap, ib, ia), np.where(swap, ia, ib)
    outcome = np.where(swap, 2 - outcome, outcome)
    return (lo * n_models + hi) * 3 + outcome


def cluster_cell_matrix(
    pc: PairCounts,
    ia: np.ndarray,
    ib: np.ndarray,
    score: np.ndarray,
    clusters: np.ndarray,
    weights: np.ndarray | None = None,
) -> sparse.csr_matrix:
    """Sparse (clusters, pairs*3) vote counts per cluster (e.g. user) in `pc`'s cell layout.

    `clusters` holds integer cluster codes 0..G-1 per vote row; row sums equal each
    cluster's votes and the column sums reproduce `pc.counts`.
    """
    cells = flat_cells(ia, ib, score, pc.n_models)
    column = pair_positions(pc, cells // 3) * 3 + cells % 3
    if (column < 0).any():
        raise RankingError("a clustered vote's pair is not among the aggregated pairs")
    n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    values = np.ones(len(cells)) if weights is None else np.asarray(weights, float)
    matrix = sparse.csr_matrix(
        (values, (np.asarray(clusters, np.int64), column)), shape=(n_clusters, pc.counts.size)
    )
    matrix.sum_duplicates()
    return matrix


def pair_positions(pc: PairCounts, keys: np.ndarray) -> np.ndarray:
    """Row of each unordered pair key (lo * models + hi) in `pc`, -1 where absent (pairs are sorted)."""
    known = pc.pair_i.astype(np.int64) * pc.n_models + pc.pair_j
    if len(known) == 0:
        return np.full(len(keys), -1)
    where = np.minimum(np.searchsorted(known, keys), len(known) - 1)
    return np.where(known[where] == keys, where, -1)


def components(pc: PairCounts) -> np.ndarray:
    """Component label per model of the (undirected) comparison graph."""
    graph = sparse.coo_matrix(
        (np.ones(len(pc.pair_i)), (pc.pair_i, pc.pair_j)), shape=(pc.n_models,) * 2
    )
    return connected_components(graph, directed=False)[1]


def degenerate_models(pc: PairCounts) -> dict[int, str]:
    """Models whose maximum-likelihood strength is infinite: index -> 'never lost' / 'never won'."""
    votes, scores = pc.votes_per_model(), pc.scores_per_model()
    never_lost = (votes > 0) & (scores >= votes)
    never_won = (votes > 0) & (scores <= 0) & ~never_lost
    flags = dict.fromkeys(np.flatnonzero(never_lost).tolist(), "never lost")
    flags.update(dict.fromkeys(np.flatnonzero(never_won).tolist(), "never won"))
    return dict(sorted(flags.items()))


def needs_global_prior(pc: PairCounts, prior_mask: np.ndarray) -> bool:
    """True when per-model priors do not keep every rating finite (a group beat all the rest).

    With strengths centred, a flagged model's prior pins it near the average. The remaining
    models are then bounded when the directed graph 'scored something against' among them is
    strongly connected (Zermelo's condition); this check is conservative otherwise.
    """
    rest = pc.subset(~prior_mask)
    if rest.n_models <= 1:
        return False
    first = rest.counts[:, FIRST_WINS] + rest.counts[:, TIE] > 0
    second = rest.counts[:, SECOND_WINS] + rest.counts[:, TIE] > 0
    src = np.concatenate([rest.pair_i[first], rest.pair_j[second]])
    dst = np.concatenate([rest.pair_j[first], rest.pair_i[second]])
    size = rest.n_models
    graph = sparse.coo_matrix((np.ones(len(src)), (src, dst)), shape=(size, size))
    return connected_components(graph, directed=True, connection="strong")[0] > 1


@dataclass
class NewtonResult:
    """Batched Newton output: strengths (rounds, models), Davidson log-nu (rounds,), status."""

    theta: np.ndarray
    log_nu: np.ndarray | None
    converged: np.ndarray
    iterations: int


def _davidson_probs(d: np.ndarray, log_nu: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(first wins), P(tie), P(second wins) under Davidson's model, computed stably."""
    half = d / 2.0
    top = np.maximum(np.abs(half), log_nu)
    e_first, e_second, e_tie = np.exp(half - top), np.exp(-half - top), np.exp(log_nu - top)
    z = e_first + e_second + e_tie
    return e_first / z, e_tie / z, e_second / z


def newton_pairs(
    pc: PairCounts,
    counts: np.ndarray,
    *,
    ties: TiesMode = "half",
    prior_mask: np.ndarray | None = None,
    theta0: np.ndarray | None = None,
    log_nu0: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
    max_step: float = 2.0,
) -> NewtonResult:
    """Fit many BT problems on the same pairs at once; `counts` is (rounds, pairs, 3).

    Each round gets a damped Newton step per iteration, constrained to centred strengths (sum
    zero); the prior of a flagged model thus pulls it towards the average model.
    `prior_mask` (rounds, models) marks models that get the pseudo-vote prior in that round.
    """
    rounds, m = counts.shape[0], pc.n_models
    one_dense = rounds == 1 and m <= EXACT_COVARIANCE_MAX_MODELS  # one models x models system
    if m > DENSE_MAX_MODELS and not one_dense:
        return newton_sparse(
            pc,
            counts,
            ties=ties,
            prior_mask=prior_mask,
            theta0=theta0,
            log_nu0=log_nu0,
            max_iter=max_iter,
            tol=tol,
            max_step=max_step,
        )
    davidson = ties == "davidson"
    q = m + 1 if davidson else m
    incidence = pc.incidence()
    abs_incidence = abs(incidence)
    pi, pj = pc.pair_i, pc.pair_j
    theta = np.zeros((rounds, m)) if theta0 is None else np.array(theta0, dtype=float, copy=True)
    theta -= theta.mean(axis=1, keepdims=True)
    log_nu = None
    if davidson:
        log_nu = np.zeros(rounds) if log_nu0 is None else np.array(log_nu0, dtype=float, copy=True)
    mask = (
        np.zeros((rounds, m), bool)
        if prior_mask is None
        else np.broadcast_to(prior_mask, (rounds, m))
    )
    n = counts[..., 0] + counts[..., 1] + counts[..., 2]  # faster than .sum(axis=2)
    converged = np.zeros(rounds, bool)
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        act = np.flatnonzero(~converged)
        if len(act) == 0:
            break
        th, c, nn, mk = theta[act], counts[act], n[act], mask[act]
        d = th[:, pi] - th[:, pj]
        if davidson:
            p1, pt, p2 = _davidson_probs(d, log_nu[act, None])
            diff = p1 - p2
            g_d = 0.5 * (c[..., FIRST_WINS] - c[..., SECOND_WINS]) - 0.5 * nn * diff
            i_dd = 0.25 * nn * ((p1 + p2) - diff**2)
            g_eta = (c[..., TIE] - nn * pt).sum(axis=1)
            i_deta = -0.5 * nn * diff * pt
            i_etaeta = (nn * pt * (1.0 - pt)).sum(axis=1)
        else:
            p = expit(d)
            g_d = c[..., FIRST_WINS] + 0.5 * c[..., TIE] - nn * p
            i_dd = nn * p * (1.0 - p)
        grad = np.zeros((len(act), q))
        grad[:, :m] = (incidence.T @ g_d.T).T
        info = np.zeros((len(act), q, q))
        info[:, pi, pj] = -i_dd
        info[:, pj, pi] = -i_dd
        diag = (abs_incidence.T @ i_dd.T).T
        s = expit(th)
        diag = diag + mk * 2.0 * PRIOR_PSEUDO_VOTES * s * (1.0 - s)
        grad[:, :m] += mk * PRIOR_PSEUDO_VOTES * (1.0 - 2.0 * s)
        idx = np.arange(m)
        info[:, idx, idx] = diag
        # Strengths stay centred (sum zero): project the theta block onto that subspace and add
        # a rank-one term along the all-ones direction so the system is invertible.
        block = info[:, :m, :m]
        if mk.any():
            block -= block.mean(axis=1, keepdims=True)
            block -= block.mean(axis=2, keepdims=True)
            grad[:, :m] -= grad[:, :m].mean(axis=1, keepdims=True)
        scale = np.maximum(diag.mean(axis=1), 1e-12)
        block += (scale / m)[:, None, None]
        if davidson:
            col = (incidence.T @ i_deta.T).T
            info[:, :m, m] = col
            info[:, m, :m] = col
            info[:, m, m] = np.maximum(i_etaeta, 1e-12)
            grad[:, m] = g_eta
        step = solve_batched(info, grad)
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, max_step / np.maximum(size, 1e-300))[:, None]
        theta[act] += step[:, :m]
        if davidson:
            # A sample without ties has nu -> 0; stop at a floor where ties are negligible.
            before = log_nu[act]
            log_nu[act] = np.maximum(before + step[:, m], MIN_LOG_NU)
            step[:, m] = log_nu[act] - before
            size = np.abs(step).max(axis=1)
        converged[act] = size < tol
    return NewtonResult(theta=theta, log_nu=log_nu, converged=converged, iterations=iterations)


def pair_terms(
    pc: PairCounts, counts: np.ndarray, theta: np.ndarray, ties: TiesMode, log_nu: float | None
) -> tuple[np.ndarray, ...]:
    """Per-pair gradient and information of the linear predictor d (one round; `counts`
    (pairs, 3)): g_d, i_dd, and under Davidson the tie parameter's g_eta, i_deta, i_etaeta."""
    n = counts.sum(axis=1)
    d = theta[pc.pair_i] - theta[pc.pair_j]
    if ties == "davidson":
        p1, pt, p2 = _davidson_probs(d, np.full_like(d, log_nu))
        diff = p1 - p2
        g_d = 0.5 * (counts[:, FIRST_WINS] - counts[:, SECOND_WINS]) - 0.5 * n * diff
        i_dd = 0.25 * n * ((p1 + p2) - diff**2)
        g_eta = float((counts[:, TIE] - n * pt).sum())
        return g_d, i_dd, g_eta, -0.5 * n * diff * pt, float((n * pt * (1.0 - pt)).sum())
    p = expit(d)
    return counts[:, FIRST_WINS] + 0.5 * counts[:, TIE] - n * p, n * p * (1.0 - p)


def centred_information(
    pc: PairCounts,
    i_dd: np.ndarray,
    prior_info: np.ndarray,
    davidson: tuple[np.ndarray, float] | None = None,
) -> tuple[LinearOperator, LinearOperator]:
    """The centred Newton system as sparse operators: (P H P + c 1 1^T) on the strengths, where
    H is the pair Laplacian plus the prior, P centres and c fixes the gauge; with Davidson's
    (column, corner) a last row/column for log nu. Returns the operator and a Jacobi preconditioner.
    """
    m = pc.n_models
    incidence = pc.incidence()
    laplacian = (incidence.T @ sparse.diags(i_dd) @ incidence).tocsr()
    diag = laplacian.diagonal() + prior_info
    c = max(float(diag.mean()), 1e-12) / m
    col, corner = davidson if davidson is not None else (None, 0.0)
    q = m + (1 if davidson is not None else 0)

    def matvec(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(-1)
        xt = x[:m]
        centred = xt - xt.mean()
        y = laplacian @ centred + prior_info * centred
        y -= y.mean()
        y += c * xt.sum()
        if col is None:
            return y
        return np.append(y + col * x[m], col @ centred + max(corner, 1e-12) * x[m])

    precondition = 1.0 / np.append(diag + c, max(corner, 1e-12) if col is not None else [])
    operator = LinearOperator((q, q), matvec=matvec, dtype=float)
    jacobi = LinearOperator((q, q), matvec=lambda x: precondition * np.ravel(x), dtype=float)
    return operator, jacobi


def newton_sparse(
    pc: PairCounts,
    counts: np.ndarray,
    *,
    ties: TiesMode = "half",
    prior_mask: np.ndarray | None = None,
    theta0: np.ndarray | None = None,
    log_nu0: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-9,
    max_step: float = 2.0,
) -> NewtonResult:
    """`newton_pairs` for many models: the same damped, centred Newton iteration, one round at a
    time, each step solved by preconditioned conjugate gradients on the sparse information
    matrix (memory and time grow with the pairs, not with models^2). Same optimum."""
    rounds, m = counts.shape[0], pc.n_models
    davidson = ties == "davidson"
    theta = np.zeros((rounds, m)) if theta0 is None else np.array(theta0, dtype=float, copy=True)
    theta -= theta.mean(axis=1, keepdims=True)
    log_nu = None
    if davidson:
        log_nu = np.zeros(rounds) if log_nu0 is None else np.array(log_nu0, dtype=float, copy=True)
    mask = (
        np.zeros((rounds, m), bool)
        if prior_mask is None
        else np.broadcast_to(prior_mask, (rounds, m))
    )
    incidence = pc.incidence()
    converged = np.zeros(rounds, bool)
    iterations = 0
    for r in range(rounds):
        th, mk = theta[r], mask[r]
        for it in range(1, max_iter + 1):
            iterations = max(iterations, it)
            nu = None if log_nu is None else float(log_nu[r])
            terms = pair_terms(pc, counts[r], th, ties, nu)
            grad = incidence.T @ terms[0]
            s = expit(th)
            prior_info = mk * 2.0 * PRIOR_PSEUDO_VOTES * s * (1.0 - s)
            grad = grad + mk * PRIOR_PSEUDO_VOTES * (1.0 - 2.0 * s)
            grad -= grad.mean()
            extra = None
            if davidson:
                extra = (incidence.T @ terms[3], terms[4])
                grad = np.append(grad, terms[2])
            operator, jacobi = centred_information(pc, terms[1], prior_info, extra)
            scale = max(float(np.abs(grad).max()), 1e-300)
            step, _ = cg(operator, grad / scale, rtol=1e-10, atol=0.0, M=jacobi, maxiter=20 * m)
            step *= scale
            size = float(np.abs(step).max())
            step *= min(1.0, max_step / max(size, 1e-300))
            th += step[:m]
            if davidson:
                before = log_nu[r]
                log_nu[r] = max(before + step[m], MIN_LOG_NU)
                step[m] = log_nu[r] - before
                size = float(np.abs(step).max())
            if size < tol:
                converged[r] = True
                break
        th -= th.mean()
    return NewtonResult(theta=theta, log_nu=log_nu, converged=converged, iterations=iterations)


def solve_batched(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Batched solve; a singular system (a round with no information) falls back to least squares."""
    try:
        return np.linalg.solve(matrix, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack(
            [np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(matrix, rhs, strict=True)]
        )


@dataclass
class BTFit:
    """One Bradley–Terry fit: strengths (natural log scale, mean 0) and their covariances."""

    pairs: PairCounts
    ties: TiesMode
    theta: np.ndarray
    prior_mask: np.ndarray
    flags: dict[str, str]
    log_nu: float | None = None
    converged: bool = True
    iterations: int = 0
    cov_model: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cov_sandwich: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cov_vote_sandwich: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # no clusters
    warnings: list[str] = field(default_factory=list)
    factor: tuple[np.ndarray, bool] | None = field(default=None, repr=False)  # see bootstrap
    # clusters x parameters: each cluster's summed vote scores at theta (see `cluster_scores`)
    cluster_scores: np.ndarray | sparse.csr_matrix | None = field(default=None, repr=False)

    @property
    def models(self) -> tuple[str, ...]:
        return self.pairs.models

    @property
    def tie_parameter(self) -> float | None:
        """Davidson's nu (tie propensity between equal models), if fitted."""
        return None if self.log_nu is None else float(np.exp(self.log_nu))


def fit_bradley_terry(
    pc: PairCounts, ties: TiesMode = "half", clusters: sparse.csr_matrix | None = None
) -> BTFit:
    """Maximum-likelihood strengths for connected pair counts, degenerate models kept finite.

    `clusters` (users x cells, see `cluster_cell_matrix`) makes the sandwich cluster-robust.
    """
    if ties not in ("half", "davidson"):
        raise RankingError(f"ties mode {ties!r}; expected 'half' or 'davidson'")
    labels = components(pc)
    if labels.max() > 0:
        raise DisconnectedComparisonError(
            "comparison graph is not connected; fit each component separately"
        )
    warnings: list[str] = []
    if ties == "davidson" and pc.counts[:, TIE].sum() == 0:
        warnings.append(
            "no ties in these votes: Davidson reduces to plain Bradley–Terry, fitted as such"
        )
        ties = "half"
    flagged = degenerate_models(pc)
    mask = np.zeros(pc.n_models, bool)
    mask[list(flagged)] = True
    flags = {pc.models[k]: why for k, why in flagged.items()}
    if needs_global_prior(pc, mask):
        mask[:] = True
        warnings.append(
            "some group of models won (or lost) every comparison with the rest; the "
            f"{PRIOR_PSEUDO_VOTES}-pseudo-vote prior is applied to every model to keep ratings finite"
        )
    if flags:
        flagged_names = [f"{m} ({why})" for m, why in sorted(flags.items())]
        names = ", ".join(flagged_names[:20])  # at most 20 names in one message
        if len(flagged_names) > 20:
            names += f" and {len(flagged_names) - 20} more models"
        warnings.append(
            f"{names}: no finite maximum-likelihood rating; kept finite by a prior of "
            f"{PRIOR_PSEUDO_VOTES} virtual win and loss against an average model"
        )
    result = newton_pairs(pc, pc.counts[None], ties=ties, prior_mask=mask[None])
    theta = result.theta[0] - result.theta[0].mean()
    log_nu = None if result.log_nu is None else float(result.log_nu[0])
    if not result.converged[0]:
        warnings.append(f"Bradley–Terry fit did not converge in {result.iterations} iterations")
    per_cluster = None
    if clusters is not None:  # kept on the fit: the one-step bootstrap reweights the same sums
        per_cluster = cluster_scores(pc, theta, ties, log_nu, clusters)
    cov_model, cov_sandwich, *vote_level = covariances(
        pc, theta, ties, log_nu, mask, clusters, vote_level=True, per_cluster=per_cluster
    )
    return BTFit(
        pairs=pc,
        ties=ties,
        theta=theta,
        prior_mask=mask,
        flags=flags,
        log_nu=log_nu,
        converged=bool(result.converged[0]),
        iterations=result.iterations,
        cov_model=cov_model,
        cov_sandwich=cov_sandwich,
        cov_vote_sandwich=vote_level[0] if vote_level else cov_sandwich,
        warnings=warnings,
        cluster_scores=per_cluster,
    )


def pair_laplacian(pc: PairCounts, weights: np.ndarray) -> np.ndarray:
    """sum over pairs of w (e_i - e_j)(e_i - e_j)^T, by scatter (no BLAS on tiny matrices)."""
    m = pc.n_models
    out = np.zeros((m, m))
    out[pc.pair_i, pc.pair_j] = -weights
    out[pc.pair_j, pc.pair_i] = -weights
    out[np.arange(m), np.arange(m)] = np.bincount(pc.pair_i, weights, m) + np.bincount(
        pc.pair_j, weights, m
    )
    return out


def covariances(
    pc: PairCounts,
    theta: np.ndarray,
    ties: TiesMode,
    log_nu: float | None,
    mask: np.ndarray,
    clusters: sparse.csr_matrix | None = None,
    vote_level: bool = False,
    per_cluster: np.ndarray | sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, ...]:
    """Model-based (inverse Fisher) and sandwich (robust) covariance of the centred strengths
    (and, with `clusters` and `vote_level`, the vote-level sandwich from the same inverse).

    With `clusters` (see `cluster_cell_matrix`) the sandwich's meat sums the scores of each
    cluster first (cluster-robust, Liang-Zeger, with the G/(G-1) small-sample factor), so
    votes of one user are not treated as independent. Above `EXACT_COVARIANCE_MAX_MODELS`
    both are empty (0 x 0): the caller estimates standard errors from score draws instead.
    """
    m = pc.n_models
    if m > EXACT_COVARIANCE_MAX_MODELS:
        return np.zeros((0, 0)), np.zeros((0, 0)), *([np.zeros((0, 0))] if vote_level else [])
    d = theta[pc.pair_i] - theta[pc.pair_j]
    c = pc.counts
    n = c.sum(axis=1)
    q = m + (1 if ties == "davidson" else 0)
    # per-vote scores of the linear predictor d (and log nu) for each of the three outcomes
    if ties == "davidson":
        p1, pt, p2 = _davidson_probs(d, np.full_like(d, log_nu))
        diff = p1 - p2
        s_d = np.stack([0.5 - diff / 2, -diff / 2, -0.5 - diff / 2], axis=1)
        s_eta = np.stack([-pt, 1 - pt, -pt], axis=1)
        i_dd = 0.25 * n * ((p1 + p2) - diff**2)
        i_deta = -0.5 * n * diff * pt
        i_etaeta = float((n * pt * (1 - pt)).sum())
    else:
        p = expit(d)
        s_d = np.stack([1 - p, 0.5 - p, -p], axis=1)
        s_eta = np.zeros_like(s_d)
        i_dd = n * p * (1 - p)
        i_deta = np.zeros_like(d)
        i_etaeta = 0.0
    incidence = pc.incidence()
    info = np.zeros((q, q))
    meat = np.zeros((q, q))
    info[:m, :m] = pair_laplacian(pc, i_dd)
    b_dd = (c * s_d**2).sum(axis=1)
    meat[:m, :m] = pair_laplacian(pc, b_dd)
    s = expit(theta)
    prior_info = mask * 2 * PRIOR_PSEUDO_VOTES * s * (1 - s)
    info[:m, :m] += np.diag(prior_info)
    if ties == "davidson":
        info[:m, m] = info[m, :m] = incidence.T @ i_deta
        info[m, m] = i_etaeta
        b_deta = (c * s_d * s_eta).sum(axis=1)
        meat[:m, m] = meat[m, :m] = incidence.T @ b_deta
        meat[m, m] = (c * s_eta**2).sum()
    vote_meat = meat
    if clusters is not None:
        if per_cluster is None:
            per_cluster = cluster_scores(pc, theta, ties, log_nu, clusters)
        meat = cluster_meat(per_cluster)
    gauge = np.zeros((q, q))
    gauge[:m, :m] = np.trace(info[:m, :m]) / m**2
    inverse = np.linalg.inv(info + gauge)
    centre = np.eye(q)
    centre[:m, :m] -= 1.0 / m
    cov_model = centre @ inverse @ centre.T
    bread = centre @ inverse
    cov_sandwich = bread @ meat @ bread.T
    if vote_level and clusters is not None:
        return cov_model[:m, :m], cov_sandwich[:m, :m], (bread @ vote_meat @ bread.T)[:m, :m]
    return cov_model[:m, :m], cov_sandwich[:m, :m]


def cluster_scores(
    pc: PairCounts,
    theta: np.ndarray,
    ties: TiesMode,
    log_nu: float | None,
    clusters: sparse.csr_matrix,
) -> np.ndarray | sparse.csr_matrix:
    """(clusters, parameters): each cluster's summed vote scores (strengths [, log nu]) at
    `theta`, dense up to `DENSE_CLUSTER_SCORES` entries; `clusters` is a users x cells count
    matrix (`cluster_cell_matrix`)."""
    summed = (clusters @ cell_score_matrix(pc, *vote_scores(pc, theta, ties, log_nu))).tocsr()
    return summed.toarray() if np.prod(summed.shape) <= DENSE_CLUSTER_SCORES else summed


def cluster_meat(per_cluster: np.ndarray | sparse.spmatrix) -> np.ndarray:
    """Sum over clusters of g g^T, g = a cluster's summed score (rows of `per_cluster`)."""
    g = per_cluster.shape[0]
    factor = g / (g - 1) if g > 1 else 1.0
    if isinstance(per_cluster, np.ndarray):
        return factor * (per_cluster.T @ per_cluster)
    per_cluster = per_cluster.tocsc()
    return factor * (per_cluster.T @ per_cluster).toarray()


def vote_scores(
    pc: PairCounts, theta: np.ndarray, ties: TiesMode, log_nu: float | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Score of one vote in each (pair, outcome) cell: of d (pairs, 3) and, under Davidson, of
    log nu (pairs, 3)."""
    d = theta[pc.pair_i] - theta[pc.pair_j]
    if ties == "davidson":
        p1, pt, p2 = _davidson_probs(d, np.full_like(d, log_nu))
        diff = p1 - p2
        s_d = np.stack([0.5 - diff / 2, -diff / 2, -0.5 - diff / 2], axis=1)
        return s_d, np.stack([-pt, 1 - pt, -pt], axis=1)
    p = expit(d)
    return np.stack([1 - p, 0.5 - p, -p], axis=1), None


def cell_score_matrix(
    pc: PairCounts, s_d: np.ndarray, s_eta: np.ndarray | None
) -> sparse.csr_matrix:
    """Sparse (pairs*3, parameters) score of one vote per cell (strengths [, log nu])."""
    m = pc.n_models
    n_pairs = len(pc.pair_i)
    # score of one vote in each cell, per parameter: +s_d at the first model, -s_d at the second
    cell_pair = np.repeat(np.arange(n_pairs), 3)
    flat_sd = s_d.reshape(-1)
    q = m + (1 if s_eta is not None else 0)
    rows = np.concatenate([np.arange(n_pairs * 3)] * 2)
    cols = np.concatenate([pc.pair_i[cell_pair], pc.pair_j[cell_pair]])
    vals = np.concatenate([flat_sd, -flat_sd])
    if s_eta is not None:
        rows = np.concatenate([rows, np.arange(n_pairs * 3)])
        cols = np.concatenate([cols, np.full(n_pairs * 3, m)])
        vals = np.concatenate([vals, s_eta.reshape(-1)])
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n_pairs * 3, q))


def to_ratings(theta: np.ndarray, anchor: tuple[int, float] | None = None) -> np.ndarray:
    """Strengths (..., models) to the Elo-like scale: mean 1000, or anchor model index = value."""
    theta = np.asarray(theta, dtype=float)
    if anchor is None:
        return DEFAULT_MEAN_RATING + ELO_SCALE * (theta - theta.mean(axis=-1, keepdims=True))
    index, value = anchor
    return value + ELO_SCALE * (theta - theta[..., index : index + 1])


def win_probability(rating_a: np.ndarray, rating_b: np.ndarray) -> np.ndarray:
    """P(A beats B) on the Elo-like scale: 1 / (1 + 10^((R_B - R_A)/400))."""
    return 1.0 / (1.0 + 10.0 ** ((np.asarray(rating_b) - np.asarray(rating_a)) / 400.0))


def rank_from_intervals(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """Rank = 1 + number of models whose lower bound exceeds this model's upper bound."""
    low, high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    ordered = np.sort(low[~np.isnan(low)])  # by sorting, not a models x models comparison
    return 1 + len(ordered) - np.searchsorted(ordered, high, side="right")
