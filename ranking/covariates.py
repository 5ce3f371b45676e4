"""Bradley–Terry with per-vote covariates (style and latency control), as arena style control does.

P(A beats B) = sigmoid(theta_A - theta_B + beta . x) with ties as half a win, or Davidson's
three-outcome model with the same linear predictor, where x holds per-vote covariates such as
the standardised normalised length difference (len_A - len_B) / (len_A + len_B). Each
coefficient has a weak N(0, 2²) prior so that a covariate which happens to separate the outcomes
of a small sample cannot run off to infinity; it is negligible with real data sizes.
Covariates make votes (almost) unique, so rows are votes; the solver keeps the design sparse
(`ranking.covariate_design`). The bootstrap refits every round up to `DENSE_MAX_MODELS` models
and `REFIT_MAX_ROWS` rows; beyond that each round is one Newton step from the full fit, as for
the plain board (`ranking.bootstrap.one_step_bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg, sparse
from tqdm import tqdm

from ranking.bootstrap import cluster_draws
from ranking.bradley_terry import (
    DENSE_CLUSTER_SCORES,
    DENSE_MAX_MODELS,
    EXACT_COVARIANCE_MAX_MODELS,
    FIRST_WINS,
    MIN_LOG_NU,
    SECOND_WINS,
    TIE,
    TiesMode,
)
from ranking.covariate_design import (
    PairDesign,
    centred_factor,
    newton_design,
    sandwich,
    vote_scores,
)
from ranking.errors import RankingError

MAX_CELLS_PER_CHUNK = 1_000_000  # rounds x rows refitted at once (several arrays of that size)
MIN_VOTES = 50  # fewer votes cannot separate strength from style reliably
REFIT_MAX_ROWS = 100_000  # beyond this many vote rows, bootstrap rounds are one Newton step
VOTE_BLOCKS = 20_000  # without user ids, many votes are resampled in this many random blocks


@dataclass
class CovariateFit:
    """Strengths (rounds, models), coefficients (rounds, covariates), Davidson log-nu (rounds,)."""

    theta: np.ndarray
    beta: np.ndarray
    converged: np.ndarray
    log_nu: np.ndarray | None = None
    cov_sandwich: np.ndarray | None = None  # of (centred theta, beta), point fit only
    one_step: bool = False  # bootstrap rounds are one Newton step from the point fit
    units: int = 0  # what a one-step round resampled: users, or random blocks of votes
    votes: int = 0  # votes fitted (a one-step over votes has units < votes when it blocks them)


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


def outcomes(score_a: np.ndarray) -> np.ndarray:
    """Score of A (1, 0.5, 0) -> outcome column (first wins, tie, second wins)."""
    score = np.asarray(score_a, dtype=float)
    return np.select([score == 1.0, score == 0.5], [FIRST_WINS, TIE], default=SECOND_WINS)


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
    theta0: np.ndarray | None = None,
) -> tuple[CovariateFit, CovariateFit | None]:
    """Point fit (Newton from strengths `theta0`, or zeros) and (optionally) a bootstrap over
    votes, or over clusters (users).

    Up to `DENSE_MAX_MODELS` models and `REFIT_MAX_ROWS` rows every round is refitted
    (batched); `round_prior_mask` maps its resampled vote counts (rounds, votes) to the
    (rounds, models) mask of models that need the prior (see
    `ranking.bootstrap.per_round_degenerate`). Beyond that each round is one Newton step from
    the point fit, resampling users, or votes in random blocks (`CovariateFit.one_step`).
    """
    if n_models > EXACT_COVARIANCE_MAX_MODELS:
        raise RankingError(
            f"--control: {n_models:,} models; the controlled board is fitted for up to "
            f"{EXACT_COVARIANCE_MAX_MODELS:,} models (leave some out with --where or --min-votes)"
        )
    x = np.asarray(covariates, dtype=float).reshape(len(ia), -1)
    design = PairDesign.build(ia, ib, x, n_models)
    outcome = outcomes(score_a)
    n = len(outcome)
    weight = np.ones(n) if weights is None else np.asarray(weights, float)
    start = np.zeros((1, n_models + design.k + (1 if ties == "davidson" else 0)))
    if theta0 is not None:
        start[0, :n_models] = theta0
    params, converged = newton_design(design, outcome, weight[None], prior_mask[None], ties, start)
    codes = None if clusters is None else np.asarray(clusters, np.int64)
    per_cluster = None
    if codes is not None:
        by_cluster = sparse.csr_matrix(
            (weight, (codes, np.arange(n))), shape=(int(codes.max()) + 1, n)
        )
        per_cluster = _summed_scores(by_cluster, design, outcome, params[0], ties)
    point = _covariate_fit(params, converged, design, ties)
    point.cov_sandwich = sandwich(design, outcome, params[0], prior_mask, ties, weight, per_cluster)
    point.votes = int(round(weight.sum()))
    if bootstrap_rounds <= 0:
        return point, None
    rng = np.random.default_rng(seed)
    if n_models > DENSE_MAX_MODELS or n > REFIT_MAX_ROWS:
        if per_cluster is None:
            per_cluster = _summed_scores(
                _vote_blocks(weight, rng), design, outcome, params[0], ties
            )
        factor = centred_factor(design, outcome, params[0], prior_mask, ties, weight)
        boot = _one_step_rounds(params[0], factor, per_cluster, design, ties, bootstrap_rounds, rng)
        boot.units, boot.votes = per_cluster.shape[0], point.votes
        return point, boot
    n_clusters = 0 if codes is None else int(codes.max()) + 1
    q = params.shape[1]
    chunk = max(1, MAX_CELLS_PER_CHUNK // max(n, q * q, n_clusters, 1))
    parts: list[np.ndarray] = []
    done_ok: list[np.ndarray] = []
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
        start = np.repeat(params, size, axis=0)  # from the point fit: fewer steps, same optimum
        fitted, ok = newton_design(design, outcome, counts, mask, ties, start=start)
        parts.append(fitted)
        done_ok.append(ok)
        done += size
        bar.update(size)
    bar.close()
    boot = _covariate_fit(np.concatenate(parts), np.concatenate(done_ok), design, ties)
    boot.votes = point.votes
    return point, boot


def _covariate_fit(
    params: np.ndarray, converged: np.ndarray, design: PairDesign, ties: TiesMode
) -> CovariateFit:
    m, p = design.n_models, design.n_models + design.k
    return CovariateFit(
        theta=params[:, :m],
        beta=params[:, m:p],
        converged=converged,
        log_nu=params[:, p] if ties == "davidson" else None,
    )


def _summed_scores(
    by_unit: sparse.csr_matrix,
    design: PairDesign,
    outcome: np.ndarray,
    params: np.ndarray,
    ties: TiesMode,
) -> np.ndarray | sparse.csr_matrix:
    """(units, q): each unit's (user's, block's) summed vote scores at `params`; `by_unit`
    (units x rows) holds each row's votes in the unit. Dense up to `DENSE_CLUSTER_SCORES`."""
    summed = (by_unit @ vote_scores(design, outcome, params, ties)).tocsr()
    return summed.toarray() if np.prod(summed.shape) <= DENSE_CLUSTER_SCORES else summed


def _vote_blocks(weight: np.ndarray, rng: np.random.Generator) -> sparse.csr_matrix:
    """(blocks, rows) votes of each row in each block: every vote its own block up to
    `VOTE_BLOCKS` votes, else votes dealt at random into `VOTE_BLOCKS` blocks. Blocks of
    independent votes, drawn with replacement, resample votes: the block sums are independent
    and their variance adds up to the votes' (a row standing for several votes is split)."""
    whole = np.allclose(weight, np.rint(weight)) and (weight >= 1).all()
    per_row = np.rint(weight).astype(np.int64) if whole else np.ones(len(weight), np.int64)
    row_of_vote = np.repeat(np.arange(len(weight)), per_row)
    values = np.ones(len(row_of_vote)) if whole else weight
    votes = len(row_of_vote)
    if votes <= VOTE_BLOCKS:
        block, n_blocks = np.arange(votes), votes
    else:
        block, n_blocks = rng.integers(0, VOTE_BLOCKS, votes), VOTE_BLOCKS
    matrix = sparse.csr_matrix((values, (block, row_of_vote)), shape=(n_blocks, len(weight)))
    matrix.sum_duplicates()
    return matrix


def _one_step_rounds(
    params: np.ndarray,
    factor: tuple[np.ndarray, bool],
    per_unit: np.ndarray | sparse.csr_matrix,
    design: PairDesign,
    ties: TiesMode,
    rounds: int,
    rng: np.random.Generator,
) -> CovariateFit:
    """Each round: the units (users or blocks) redrawn with replacement reweight their summed
    scores at the point fit; one solve with the point fit's factorised information, shared by
    every round, gives the round's parameters (as `ranking.bootstrap.one_step_bootstrap`)."""
    m = design.n_models
    # dense, the product is BLAS's; single precision halves its cost and its rounding (~1e-7
    # of a score) is far below the one-step's own O(1/votes) error
    by_parameter = per_unit.T.astype(np.float32) if isinstance(per_unit, np.ndarray) else per_unit.T
    units = per_unit.shape[0]
    chunk = int(max(1, min(rounds, 4 * MAX_CELLS_PER_CHUNK // max(units, 1))))
    out: list[np.ndarray] = []
    done = 0
    while done < rounds:
        size = min(chunk, rounds - done)
        weights = cluster_draws(units, size, rng, by_parameter.dtype, shift=-1.0)
        grad = np.asarray(by_parameter @ weights.T, dtype=float)  # (q, size)
        grad[:m] -= grad[:m].mean(axis=0, keepdims=True)
        drawn = params[None, :] + linalg.cho_solve(factor, grad, check_finite=False).T
        drawn[:, :m] -= drawn[:, :m].mean(axis=1, keepdims=True)
        if ties == "davidson":
            drawn[:, -1] = np.maximum(drawn[:, -1], MIN_LOG_NU)
        out.append(drawn)
        done += size
    fit = _covariate_fit(np.concatenate(out), np.ones(rounds, bool), design, ties)
    fit.one_step = True
    return fit
