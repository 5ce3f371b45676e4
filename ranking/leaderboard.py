"""From votes to a leaderboard: filter, fit, bootstrap, sandwich CIs, ranks, win rates, warnings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from ranking.bootstrap import (
    bootstrap_bradley_terry,
    bootstrap_warnings,
    per_round_degenerate,
    percentile_interval,
)
from ranking.bradley_terry import (
    ELO_SCALE,
    FIRST_WINS,
    PRIOR_PSEUDO_VOTES,
    SECOND_WINS,
    TIE,
    PairCounts,
    TiesMode,
    aggregate_codes,
    components,
    encode_models,
    fit_bradley_terry,
    model_codes,
    rank_from_intervals,
    to_ratings,
)
from ranking.errors import DisconnectedComparisonError, RankingError
from ranking.length_control import MIN_VOTES as LENGTH_MIN_VOTES
from ranking.length_control import fit_with_covariates, normalised_length_difference, standardise
from ranking.winrates import WinRateMatrix, win_rate_matrix

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class RankingOptions:
    """How to rank: tie model, bootstrap, scale anchor, filters, degenerate-graph policy."""

    ties: TiesMode = "half"
    bootstrap_rounds: int = 1000
    seed: int = 0
    anchor: tuple[str, float] | None = None
    min_votes: int = 1
    per_component: bool = False
    level: float = 0.95
    length_control: bool = False
    progress: bool = False


@dataclass
class ModelRating:
    """One leaderboard row (keys of `asdict` are the `rank --json` contract)."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    rank: int
    votes: int
    wins: int
    ties: int
    losses: int
    sandwich_low: float
    sandwich_high: float
    flag: str | None = None
    component: int = 0


@dataclass
class Leaderboard:
    """Ratings plus everything needed to judge them."""

    ratings: list[ModelRating]
    n_votes: int
    options: RankingOptions
    ci_method: str
    warnings: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    tie_parameter: float | None = None
    length_coefficient: dict[str, float] | None = None
    win_rates: list[WinRateMatrix] = field(default_factory=list)

    def to_dict(self, with_win_rates: bool = True) -> dict[str, Any]:
        """JSON-ready dict: `ratings` rows sorted by rank, then rating."""
        return {
            "ratings": [asdict(r) for r in self.ratings],
            "votes": self.n_votes,
            "ties_mode": self.options.ties,
            "tie_parameter": self.tie_parameter,
            "bootstrap_rounds": self.options.bootstrap_rounds,
            "seed": self.options.seed,
            "ci_method": self.ci_method,
            "anchor": list(self.options.anchor) if self.options.anchor else None,
            "min_votes": self.options.min_votes,
            "length_control": self.length_coefficient,
            "excluded": self.excluded,
            "warnings": self.warnings,
            "win_rates": [r for m in self.win_rates for r in m.records()] if with_win_rates else [],
        }


def filter_min_votes(
    ia: np.ndarray, ib: np.ndarray, n_models: int, min_votes: int
) -> tuple[np.ndarray, dict[int, int]]:
    """Mask of votes kept after repeatedly dropping models with fewer than `min_votes` votes."""
    keep = np.ones(len(ia), bool)
    dropped: dict[int, int] = {}
    while True:
        counts = np.bincount(ia[keep], minlength=n_models) + np.bincount(
            ib[keep], minlength=n_models
        )
        low = [k for k in range(n_models) if 0 < counts[k] < min_votes]
        if not low:
            return keep, dropped
        for k in low:
            dropped.setdefault(k, int(counts[k]))
        low_arr = np.array(low)
        keep &= ~np.isin(ia, low_arr) & ~np.isin(ib, low_arr)


def rank_votes(
    model_a: np.ndarray | list[str],
    model_b: np.ndarray | list[str],
    score_a: np.ndarray,
    options: RankingOptions | None = None,
    *,
    length_a: np.ndarray | None = None,
    length_b: np.ndarray | None = None,
) -> Leaderboard:
    """Bradley–Terry leaderboard for votes (score of A: 1 win, 0.5 tie, 0 loss)."""
    opts = options or RankingOptions()
    a = np.asarray(model_a, dtype=object)
    b = np.asarray(model_b, dtype=object)
    score = np.asarray(score_a, dtype=float)
    if len(a) == 0:
        raise RankingError("no votes to rank; ingest votes first (`arenalens ingest ...`)")
    if opts.length_control and (length_a is None or length_b is None):
        raise RankingError("length control needs response lengths of both sides of each vote")
    la = np.asarray(length_a, float) if opts.length_control else np.zeros(len(a))
    lb = np.asarray(length_b, float) if opts.length_control else np.zeros(len(a))
    models, ia, ib = encode_models(a, b)
    warnings: list[str] = []
    self_votes = ia == ib
    if self_votes.any():
        warnings.append(f"left out {int(self_votes.sum())} votes comparing a model with itself")
        a, b, score, ia, ib, la, lb = (x[~self_votes] for x in (a, b, score, ia, ib, la, lb))
        if len(a) == 0:
            raise RankingError("every vote compares a model with itself; nothing to rank")
    keep, dropped = filter_min_votes(ia, ib, len(models), opts.min_votes)
    excluded = {models[k]: v for k, v in dropped.items()}
    if excluded:
        listed = ", ".join(f"{m} ({v})" for m, v in sorted(excluded.items()))
        warnings.append(f"excluded for fewer than {opts.min_votes} votes: {listed}")
    if not keep.any():
        raise RankingError(f"no model has at least {opts.min_votes} votes; lower --min-votes")
    if not keep.all():
        a, b, score, ia, ib, la, lb = (x[keep] for x in (a, b, score, ia, ib, la, lb))
    present = np.zeros(len(models), bool)
    present[ia] = present[ib] = True
    recode = np.cumsum(present) - 1
    models = tuple(m for m, p in zip(models, present, strict=True) if p)
    ia, ib = recode[ia], recode[ib]
    if opts.anchor and opts.anchor[0] not in models:
        raise RankingError(f"--anchor model {opts.anchor[0]!r} is not among the ranked models")
    pc = aggregate_codes(ia, ib, score, models)
    labels = components(pc)
    if labels.max() > 0:
        groups = [
            sorted(pc.models[k] for k in np.flatnonzero(labels == c))
            for c in range(labels.max() + 1)
        ]
        described = "; ".join("{" + ", ".join(g) + "}" for g in groups)
        if not opts.per_component:
            raise DisconnectedComparisonError(
                f"the comparison graph has {len(groups)} disconnected groups ({described}); "
                "ratings across them are not comparable. Collect votes between the groups, "
                "or rank each group separately (--per-component)"
            )
        warnings.append(
            f"comparison graph has {len(groups)} disconnected groups ({described}); each is "
            "rated on its own scale (mean 1000) and ranks are within a group"
        )
    board = Leaderboard([], int(len(score)), opts, "", warnings, excluded)
    for comp in range(labels.max() + 1):
        sub = pc.subset(labels == comp)
        in_comp = labels[ia] == comp if labels.max() > 0 else np.ones(len(a), bool)
        lengths = None
        if opts.length_control:
            if int(in_comp.sum()) < LENGTH_MIN_VOTES:
                raise RankingError(
                    f"length control needs at least {LENGTH_MIN_VOTES} votes, got {int(in_comp.sum())}"
                )
            lengths = (la[in_comp], lb[in_comp])
        _rank_component(board, sub, comp, (a[in_comp], b[in_comp], score[in_comp]), lengths)
    board.ratings.sort(key=lambda r: (r.component, r.rank, -r.rating))
    return board


def _rank_component(
    board: Leaderboard,
    pc: PairCounts,
    comp: int,
    votes: tuple[np.ndarray, np.ndarray, np.ndarray],
    lengths: tuple[np.ndarray, np.ndarray] | None,
) -> None:
    opts = board.options
    fit = fit_bradley_terry(pc, opts.ties)
    board.warnings.extend(fit.warnings)
    anchor = None
    if opts.anchor and opts.anchor[0] in pc.models:
        anchor = (pc.models.index(opts.anchor[0]), float(opts.anchor[1]))
    theta, boot_theta, boot_nu, cov = fit.theta, None, None, fit.cov_sandwich
    if lengths is not None:
        if fit.ties == "davidson":
            raise RankingError("length control is available with --ties half only")
        theta, boot_theta, cov = _length_controlled(board, pc, fit.prior_mask, votes, lengths)
    elif opts.bootstrap_rounds > 0:
        boot = bootstrap_bradley_terry(
            fit, opts.bootstrap_rounds, opts.seed, progress=opts.progress
        )
        board.warnings.extend(bootstrap_warnings(boot))
        boot_theta, boot_nu = boot.theta, boot.log_nu
    board.tie_parameter = fit.tie_parameter
    ratings = to_ratings(theta, anchor)
    sandwich_sd = ELO_SCALE * np.sqrt(np.clip(np.diag(_anchored(cov, anchor)), 0, None))
    s_low, s_high = ratings - Z_95 * sandwich_sd, ratings + Z_95 * sandwich_sd
    if boot_theta is not None:
        low, high = percentile_interval(to_ratings(boot_theta, anchor), opts.level)
        board.ci_method = f"bootstrap percentile ({opts.bootstrap_rounds} rounds, seed {opts.seed})"
    else:
        low, high = s_low, s_high
        board.ci_method = "sandwich (robust) normal interval"
    ranks = rank_from_intervals(low, high)
    counts = _win_tie_loss(pc)
    for k, model in enumerate(pc.models):
        wins, ties, losses = counts[k]
        board.ratings.append(
            ModelRating(
                model=model,
                rating=float(ratings[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                rank=int(ranks[k]),
                votes=int(wins + ties + losses),
                wins=int(wins),
                ties=int(ties),
                losses=int(losses),
                sandwich_low=float(s_low[k]),
                sandwich_high=float(s_high[k]),
                flag=fit.flags.get(model),
                component=comp,
            )
        )
    board.win_rates.append(
        win_rate_matrix(pc, theta, boot_theta, fit.ties, fit.log_nu, boot_nu, opts.level)
    )


def _length_controlled(
    board: Leaderboard,
    pc: PairCounts,
    prior_mask: np.ndarray,
    votes: tuple[np.ndarray, np.ndarray, np.ndarray],
    lengths: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    opts = board.options
    ia, ib = model_codes(votes[0], pc.models), model_codes(votes[1], pc.models)
    x = standardise(normalised_length_difference(*lengths))[:, None]
    point, boot = fit_with_covariates(
        ia,
        ib,
        votes[2],
        pc.n_models,
        x,
        prior_mask,
        opts.bootstrap_rounds,
        opts.seed,
        opts.progress,
        round_prior_mask=_vote_round_mask(pc, ia, ib, votes[2]),
    )
    beta = float(point.beta[0, 0])
    beta_se = float(np.sqrt(point.cov_sandwich[pc.n_models, pc.n_models]))
    info: dict[str, float] = {
        "coefficient": beta,
        "odds_ratio_per_sd": float(np.exp(beta)),
        "sandwich_low": beta - Z_95 * beta_se,
        "sandwich_high": beta + Z_95 * beta_se,
    }
    if boot is not None:
        lo, hi = percentile_interval(boot.beta[:, 0], opts.level)
        info.update(ci_low=float(lo), ci_high=float(hi))
        if (~boot.converged).any():
            board.warnings.append(
                f"{int((~boot.converged).sum())} length-control bootstrap rounds did not converge"
            )
    board.length_coefficient = info
    board.warnings.append(
        "length-controlled: ratings are at equal response length; the coefficient is per "
        "standard deviation of (len_A - len_B) / (len_A + len_B)"
    )
    m = pc.n_models
    return point.theta[0], None if boot is None else boot.theta, point.cov_sandwich[:m, :m]


def _vote_round_mask(
    pc: PairCounts, ia: np.ndarray, ib: np.ndarray, score: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Map vote-level resample counts to the per-round prior mask of the pair-level bootstrap."""
    pair_index = {
        (int(i), int(j)): k for k, (i, j) in enumerate(zip(pc.pair_i, pc.pair_j, strict=True))
    }
    swap = ia > ib
    lo, hi = np.where(swap, ib, ia), np.where(swap, ia, ib)
    outcome = np.select([score == 1.0, score == 0.5], [FIRST_WINS, TIE], default=SECOND_WINS)
    outcome = np.where(swap, 2 - outcome, outcome)
    cells = (
        np.array([pair_index[(int(a), int(b))] for a, b in zip(lo, hi, strict=True)]) * 3 + outcome
    )
    shape = (len(cells), pc.counts.size)
    to_cells = sparse.csr_matrix((np.ones(len(cells)), (np.arange(len(cells)), cells)), shape=shape)

    def mask(counts: np.ndarray) -> np.ndarray:
        per_pair = (to_cells.T @ counts.T).T.reshape(counts.shape[0], *pc.counts.shape)
        return per_round_degenerate(pc, per_pair)

    return mask


def _anchored(cov: np.ndarray, anchor: tuple[int, float] | None) -> np.ndarray:
    """Covariance of theta - theta[anchor] (the anchored scale) from that of centred theta."""
    if anchor is None:
        return cov
    m = cov.shape[0]
    shift = np.eye(m)
    shift[:, anchor[0]] -= 1.0
    return shift @ cov @ shift.T


def _win_tie_loss(pc: PairCounts) -> np.ndarray:
    m = pc.n_models
    out = np.zeros((m, 3))
    c = pc.counts
    np.add.at(out, pc.pair_i, c[:, [FIRST_WINS, TIE, SECOND_WINS]])
    np.add.at(out, pc.pair_j, c[:, [SECOND_WINS, TIE, FIRST_WINS]])
    return np.rint(out).astype(int)


__all__ = ["PRIOR_PSEUDO_VOTES", "Leaderboard", "ModelRating", "RankingOptions", "rank_votes"]
