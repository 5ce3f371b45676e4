"""Multinomial bootstrap of Bradley–Terry fits, vectorised across rounds.

Resampling N votes with replacement is the same as drawing the counts of the unique
(pair, outcome) rows from a multinomial with the observed proportions, so each round costs
O(unique rows), not O(votes). All rounds of a chunk are fitted together by the batched Newton
solver, warm-started from the point estimate.

Many models (above `DENSE_MAX_MODELS`): a full refit of every round would cost rounds x pairs x
iterations, so each round takes one Newton step from the full fit instead (`one_step_bootstrap`):
the resample's counts (or users) reweight the per-cell scores at the full fit, and one solve
with the full fit's information, factorised once for all rounds, gives the round's strengths.
It differs from the refit by O(1/votes) where the refit's spread is O(1/sqrt(votes)).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from scipy.special import expit
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ranking.bradley_terry import (
    MIN_LOG_NU,
    PRIOR_PSEUDO_VOTES,
    TIE,
    BTFit,
    NewtonResult,
    PairCounts,
    _davidson_probs,
    cell_score_matrix,
    cluster_scores,
    needs_global_prior,
    newton_pairs,
    pair_terms,
    vote_scores,
)

# bounds memory: rounds x max(unique rows, models^2, clusters) per chunk
MAX_CELLS_PER_CHUNK = 4_000_000
THREADED_CELLS = 1_000_000  # rounds x clusters from which a chunk is resampled on two threads
ONE_STEP_SANDWICH_DRAWS = 400  # score draws estimating standard errors where no covariance is
BOOTSTRAP_TOLERANCE = (
    1e-7  # largest Newton step at convergence, in log-strength (~2e-5 rating points)
)


@dataclass
class BootstrapResult:
    """Bootstrap strengths (rounds, models), centred; plus how many rounds needed care."""

    theta: np.ndarray
    log_nu: np.ndarray | None
    rounds_with_prior: int
    rounds_not_converged: int
    seed: int

    @property
    def rounds(self) -> int:
        return int(self.theta.shape[0])


def resample_pair_counts(pc: PairCounts, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """(rounds, pairs, 3) counts: N votes redrawn with replacement from the observed ones."""
    flat = pc.counts.reshape(-1)
    total = int(round(flat.sum()))
    draws = rng.multinomial(total, flat / flat.sum(), size=rounds)
    return draws.reshape(rounds, *pc.counts.shape).astype(float)


def resample_clusters(
    pc: PairCounts, clusters: sparse.csr_matrix, rounds: int, rng: np.random.Generator
) -> np.ndarray:
    """(rounds, pairs, 3) counts: G clusters (users) redrawn with replacement, all their votes kept.

    Large chunks are drawn and summed in two halves on two threads, each half from its own
    generator spawned from `rng`: the same result on any number of cores.
    """
    by_cell = clusters.T  # cells x G
    if rounds < 2 or rounds * clusters.shape[0] < THREADED_CELLS:
        return _resampled_counts(by_cell, rounds, rng).reshape(rounds, *pc.counts.shape)
    half = rounds // 2
    with ThreadPoolExecutor(max_workers=2) as pool:  # numpy and scipy release the GIL here
        parts = list(
            pool.map(_resampled_counts, [by_cell] * 2, [half, rounds - half], rng.spawn(2))
        )
    return np.concatenate(parts).reshape(rounds, *pc.counts.shape)


def _resampled_counts(
    by_cell: sparse.csc_matrix, rounds: int, rng: np.random.Generator
) -> np.ndarray:
    """(rounds, cells) counts of `rounds` resamples of the G clusters (`by_cell`: cells x G)."""
    draws = cluster_draws(by_cell.shape[1], rounds, rng)
    return np.asarray(by_cell @ draws.T, dtype=float).T


def cluster_draws(
    n_clusters: int,
    rounds: int,
    rng: np.random.Generator,
    dtype: type = np.float64,
    shift: float = 0.0,
) -> np.ndarray:
    """(rounds, G) multinomial(G, 1/G) weights (plus `shift`): G uniform draws per round,
    counted. Drawing G binomials in sequence per round would be slower (1,000 rounds of 20,000
    users: 1 s -> 0.15 s), and so is one bincount over every round (bins beyond the cache)."""
    picks = rng.integers(0, n_clusters, size=(rounds, n_clusters))
    out = np.empty((rounds, n_clusters), dtype)
    for r in range(rounds):
        np.add(np.bincount(picks[r], minlength=n_clusters), shift, out=out[r], casting="unsafe")
    return out


def per_round_degenerate(pc: PairCounts, counts: np.ndarray) -> np.ndarray:
    """(rounds, models) mask of models needing the prior in a round.

    A model that never lost, never won or vanished from the resample gets it; in a round where
    that does not keep every strength finite (the resampled graph fell apart, or a group of
    models beat all the others), every model gets it.
    """
    m, n_pairs = pc.n_models, len(pc.pair_i)
    rows = np.arange(n_pairs)
    first_of = sparse.csr_matrix((np.ones(n_pairs), (rows, pc.pair_i)), shape=(n_pairs, m))
    second_of = sparse.csr_matrix((np.ones(n_pairs), (rows, pc.pair_j)), shape=(n_pairs, m))
    n = counts[..., 0] + counts[..., 1] + counts[..., 2]
    first = counts[..., 0] + 0.5 * counts[..., TIE]
    votes = (first_of.T @ n.T + second_of.T @ n.T).T
    scores = (first_of.T @ first.T + second_of.T @ (n - first).T).T
    mask = (scores <= 0) | (scores >= votes)
    one_sided = (first <= 0) | (first >= n)  # includes pairs absent from the resample
    for r in np.flatnonzero(one_sided.any(axis=1)):
        if needs_global_prior(PairCounts(pc.models, pc.pair_i, pc.pair_j, counts[r]), mask[r]):
            mask[r] = True
    return mask


def bootstrap_bradley_terry(
    fit: BTFit,
    rounds: int = 1000,
    seed: int = 0,
    *,
    progress: bool = False,
    clusters: sparse.csr_matrix | None = None,
) -> BootstrapResult:
    """Refit `fit` on `rounds` resamples of its votes, many rounds per Newton solve.

    Without `clusters`, votes are resampled (multinomial over unique rows); with `clusters`
    (users x cells, `ranking.bradley_terry.cluster_cell_matrix`) whole users are resampled.
    """
    pc = fit.pairs
    rng = np.random.default_rng(seed)
    cells = max(pc.counts.size, pc.n_models**2, 0 if clusters is None else clusters.shape[0], 1)
    chunk = int(max(1, min(rounds, MAX_CELLS_PER_CHUNK // cells)))
    thetas, log_nus = [], []
    with_prior = not_converged = 0
    bar = tqdm(total=rounds, desc="bootstrap", unit="round", disable=not progress)
    done = 0
    while done < rounds:
        size = min(chunk, rounds - done)
        if clusters is None:
            counts = resample_pair_counts(pc, size, rng)
        else:
            counts = resample_clusters(pc, clusters, size, rng)
        mask = per_round_degenerate(pc, counts) | fit.prior_mask[None, :]
        with_prior += int((mask & ~fit.prior_mask[None, :]).any(axis=1).sum())
        result = newton_pairs(
            pc,
            counts,
            ties=fit.ties,
            prior_mask=mask,
            theta0=np.broadcast_to(fit.theta, (size, pc.n_models)),
            log_nu0=None if fit.log_nu is None else np.full(size, fit.log_nu),
            tol=BOOTSTRAP_TOLERANCE,
        )
        not_converged += int((~result.converged).sum())
        thetas.append(result.theta - result.theta.mean(axis=1, keepdims=True))
        if result.log_nu is not None:
            log_nus.append(result.log_nu)
        done += size
        bar.update(size)
    bar.close()
    return BootstrapResult(
        theta=np.concatenate(thetas),
        log_nu=np.concatenate(log_nus) if log_nus else None,
        rounds_with_prior=with_prior,
        rounds_not_converged=not_converged,
        seed=seed,
    )


def centred_information_factor(fit: BTFit) -> tuple[np.ndarray, bool]:
    """Cholesky factor of the full fit's centred information (P H P + c 1 1^T [, log nu]),
    dense; the same system `newton_pairs` solves at its last step."""
    pc, m = fit.pairs, fit.pairs.n_models
    terms = pair_terms(pc, pc.counts, fit.theta, fit.ties, fit.log_nu)
    q = m + (1 if fit.ties == "davidson" else 0)
    info = np.zeros((q, q))
    i_dd = terms[1]
    info[pc.pair_i, pc.pair_j] = -i_dd  # each unordered pair occurs once
    info[pc.pair_j, pc.pair_i] = -i_dd
    s = expit(fit.theta)
    diag = np.bincount(pc.pair_i, i_dd, m) + np.bincount(pc.pair_j, i_dd, m)
    diag = diag + fit.prior_mask * 2.0 * PRIOR_PSEUDO_VOTES * s * (1.0 - s)
    info[np.arange(m), np.arange(m)] = diag
    block = info[:m, :m]
    means = block.mean(axis=1)
    block -= means[:, None]
    block -= means[None, :]
    block += means.mean() + max(float(diag.mean()), 1e-12) / m
    if fit.ties == "davidson":
        col = pc.incidence().T @ terms[3]
        info[:m, m] = info[m, :m] = col
        info[m, m] = max(terms[4], 1e-12)
    return linalg.cho_factor(info, overwrite_a=True, check_finite=False)


def information_factor(fit: BTFit) -> tuple[np.ndarray, bool]:
    """`centred_information_factor` of `fit`, computed once and kept on the fit."""
    if fit.factor is None:
        fit.factor = centred_information_factor(fit)
    return fit.factor


def chord_refit(
    fit: BTFit,
    counts: np.ndarray,
    prior_mask: np.ndarray,
    *,
    max_iter: int = 40,
    tol: float = 1e-9,
) -> NewtonResult:
    """Refit count tables (rounds, pairs, 3) close to `fit`'s (e.g. a few votes removed) by
    Newton steps that reuse the full fit's factorised information (a chord method): every round
    in one solve per step. Rounds that do not converge are refitted by `newton_pairs`."""
    pc, rounds = fit.pairs, counts.shape[0]
    factor = information_factor(fit)
    theta = np.repeat(fit.theta[None, :], rounds, axis=0)
    log_nu = None if fit.log_nu is None else np.full(rounds, fit.log_nu)
    with threadpool_limits(limits=1, user_api="blas"):  # tiny solves: threads only spin
        theta, log_nu, converged, iterations = _chord_steps(
            fit, factor, counts, prior_mask, theta, log_nu, max_iter, tol
        )
    theta -= theta.mean(axis=1, keepdims=True)
    rest = np.flatnonzero(~converged)
    if len(rest):
        again = newton_pairs(
            pc,
            counts[rest],
            ties=fit.ties,
            prior_mask=prior_mask[rest],
            theta0=theta[rest],
            log_nu0=None if log_nu is None else log_nu[rest],
        )
        theta[rest] = again.theta
        if log_nu is not None:
            log_nu[rest] = again.log_nu
        converged[rest] = again.converged
    return NewtonResult(theta=theta, log_nu=log_nu, converged=converged, iterations=iterations)


def _chord_steps(
    fit: BTFit,
    factor: tuple[np.ndarray, bool],
    counts: np.ndarray,
    prior_mask: np.ndarray,
    theta: np.ndarray,
    log_nu: np.ndarray | None,
    max_iter: int,
    tol: float,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, int]:
    """`chord_refit`'s iterations: strengths, log nu, converged per round, iterations run."""
    pc, m = fit.pairs, fit.pairs.n_models
    rounds = counts.shape[0]
    davidson = fit.ties == "davidson"
    converged = np.zeros(rounds, bool)
    iterations = 0
    # pairs x rounds throughout, so the sparse products need no transposed copies
    totals = np.ascontiguousarray((counts[..., 0] + counts[..., 1] + counts[..., 2]).T)
    if davidson:
        observed = np.ascontiguousarray(0.5 * (counts[..., 0] - counts[..., 2]).T)
        tied = np.ascontiguousarray(counts[..., TIE].T)
    else:
        observed = np.ascontiguousarray((counts[..., 0] + 0.5 * counts[..., TIE]).T)
    incidence = pc.incidence()  # pairs x models: the pairs' strength differences
    by_model = incidence.T.tocsr()  # models x pairs: a pair's gradient to its two models
    for iterations in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        act = np.flatnonzero(~converged)
        if len(act) == 0:
            break
        every = len(act) == rounds
        th = theta[act]
        n = totals if every else totals[:, act]
        seen = observed if every else observed[:, act]
        d = incidence @ th.T
        grad = np.zeros((len(act), m + (1 if davidson else 0)))
        if davidson:
            p1, pt, p2 = _davidson_probs(d, log_nu[None, act])
            g_d = seen - 0.5 * n * (p1 - p2)
            grad[:, m] = ((tied if every else tied[:, act]) - n * pt).sum(axis=0)
        else:
            g_d = expit(d, out=d)
            g_d *= n
            np.subtract(seen, g_d, out=g_d)
        grad[:, :m] = (by_model @ g_d).T
        s = expit(th)
        grad[:, :m] += prior_mask[act] * PRIOR_PSEUDO_VOTES * (1.0 - 2.0 * s)
        grad[:, :m] -= grad[:, :m].mean(axis=1, keepdims=True)
        step = linalg.cho_solve(factor, grad.T, check_finite=False).T
        step *= np.minimum(1.0, 2.0 / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
        theta[act] += step[:, :m]
        if davidson:
            before = log_nu[act]
            log_nu[act] = np.maximum(before + step[:, m], MIN_LOG_NU)
            step[:, m] = log_nu[act] - before
        converged[act] = np.abs(step).max(axis=1) < tol
    return theta, log_nu, converged, iterations


def one_step_bootstrap(
    fit: BTFit,
    rounds: int = 1000,
    seed: int = 0,
    *,
    progress: bool = False,
    clusters: sparse.csr_matrix | None = None,
) -> BootstrapResult:
    """Bootstrap for many models: each round is one Newton step from the full fit.

    Votes are reweighted by Poisson counts per unique (pair, outcome) row; with `clusters`
    (users x cells) whole users are redrawn (multinomial weights). The round's score at the
    full fit is the weighted sum of per-cell (or per-user) scores, and one solve with the
    full fit's centred information, shared by every round, gives its strengths.
    """
    pc, m = fit.pairs, fit.pairs.n_models
    rng = np.random.default_rng(seed)
    s_d, s_eta = vote_scores(pc, fit.theta, fit.ties, fit.log_nu)
    scores = cell_score_matrix(pc, s_d, s_eta)  # cells x parameters
    factor = information_factor(fit)
    flat = pc.counts.reshape(-1)
    per_user = None
    if clusters is not None:  # parameters x users (the fit's own sums when it has them)
        shared = fit.cluster_scores
        if shared is None or shared.shape[0] != clusters.shape[0]:
            shared = cluster_scores(pc, fit.theta, fit.ties, fit.log_nu, clusters)
        # dense (up to DENSE_CLUSTER_SCORES), the product is BLAS's; single precision halves
        # its cost and its rounding (~1e-7 of a score) is far below the one-step's O(1/votes)
        per_user = shared.T.astype(np.float32) if isinstance(shared, np.ndarray) else shared.T
    width = flat.size if per_user is None else per_user.shape[1]
    chunk = int(max(1, min(rounds, MAX_CELLS_PER_CHUNK // max(width, m, 1))))
    thetas, log_nus = [], []
    bar = tqdm(total=rounds, desc="bootstrap", unit="round", disable=not progress)
    done = 0
    while done < rounds:
        size = min(chunk, rounds - done)
        if per_user is None:
            # Poisson(count) votes per row: the resample's score minus the full data's (zero)
            weights = rng.poisson(flat, size=(size, flat.size)) - flat
            grad = np.asarray(scores.T @ weights.T)
        else:
            # the resample's change of each user's weight
            weights = cluster_draws(per_user.shape[1], size, rng, per_user.dtype, shift=-1.0)
            grad = np.asarray(per_user @ weights.T, dtype=float)
        grad[:m] -= grad[:m].mean(axis=0, keepdims=True)
        step = linalg.cho_solve(factor, grad, check_finite=False).T  # (size, parameters)
        theta = fit.theta[None, :] + step[:, :m]
        thetas.append(theta - theta.mean(axis=1, keepdims=True))
        if fit.log_nu is not None:
            log_nus.append(np.maximum(fit.log_nu + step[:, m], MIN_LOG_NU))
        done += size
        bar.update(size)
    bar.close()
    return BootstrapResult(
        theta=np.concatenate(thetas),
        log_nu=np.concatenate(log_nus) if log_nus else None,
        rounds_with_prior=0,
        rounds_not_converged=0,
        seed=seed,
    )


def bootstrap_warnings(result: BootstrapResult) -> list[str]:
    """Plain-language notes on rounds that needed the prior or did not converge."""
    notes = []
    if result.rounds_with_prior:
        notes.append(
            f"{result.rounds_with_prior} of {result.rounds} bootstrap rounds had a model that never "
            f"lost or never won in the resample; it got the {PRIOR_PSEUDO_VOTES}-pseudo-vote prior"
        )
    if result.rounds_not_converged:
        notes.append(f"{result.rounds_not_converged} bootstrap rounds did not converge")
    return notes
