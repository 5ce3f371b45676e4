"""From votes to a leaderboard: filter, fit, bootstrap (by vote or by user), sandwich CIs, ranks,
win rates, style/latency-controlled board, fragility of the order, a status per model."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse
from threadpoolctl import threadpool_limits

from arenalens.display import display_names
from arenalens.stats import Z95, percentile_interval
from ranking.bootstrap import (
    ONE_STEP_SANDWICH_DRAWS,
    bootstrap_bradley_terry,
    bootstrap_warnings,
    one_step_bootstrap,
    per_round_degenerate,
)
from ranking.bradley_terry import (
    DENSE_MAX_MODELS,
    ELO_SCALE,
    EXACT_COVARIANCE_MAX_MODELS,
    FIRST_WINS,
    SECOND_WINS,
    TIE,
    PairCounts,
    TiesMode,
    aggregate_codes,
    cluster_cell_matrix,
    components,
    covariances,
    encode_models,
    fit_bradley_terry,
    flat_cells,
    rank_from_intervals,
    to_ratings,
)
from ranking.covariates import MIN_VOTES as CONTROL_MIN_VOTES
from ranking.covariates import (
    REFIT_MAX_ROWS,
    fit_with_covariates,
    normalised_length_difference,
    standardise,
)
from ranking.errors import DisconnectedComparisonError, RankingError
from ranking.evidence import TOO_FEW_VOTES, EvidenceRule
from ranking.fragility import (
    FRAGILITY_TOP_MODELS,
    STATUS_RULE,
    PairFragility,
    model_status,
    order_fragility,
)
from ranking.weak_data import WEAK_JOIN_VOTES, joining_votes, weak_groups
from ranking.winrates import WinRateMatrix, win_rate_matrix

ClusterMode = Literal["auto", "user", "none"]
WIN_RATE_MAX_MODELS = 100  # pairwise win-rate tables (models^2 rows) only up to this many models
NAMED_IN_MESSAGES = 20  # model names listed in one message at most


@dataclass(frozen=True)
class RankingOptions:
    """How to rank: tie model, bootstrap, scale anchor, filters, clustering, controls."""

    ties: TiesMode = "half"
    bootstrap_rounds: int = 1000
    seed: int = 0
    anchor: tuple[str, float] | None = None
    min_votes: int = 1
    per_component: bool = False
    level: float = 0.95
    controls: tuple[str, ...] = ()  # covariates of the controlled board (names, for the record)
    cluster: ClusterMode = "auto"  # resample users when votes carry user ids
    fragility: bool = True
    progress: bool = False
    evidence: EvidenceRule | None = EvidenceRule()  # None: rank every model (slices)
    weak_join_votes: int = WEAK_JOIN_VOTES  # groups joined by fewer votes are ranked apart


@dataclass
class ModelRating:
    """One leaderboard row (keys of `asdict` are the `rank --json` contract); `rank` 0 and
    status 'too few votes': below the evidence rule, listed apart and not ranked."""

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
    status: str = ""


@dataclass
class Votes:
    """Vote rows ready to rank; a row may stand for `weight` identical votes (SQL aggregates)."""

    model_a: np.ndarray
    model_b: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    user: np.ndarray | None = None  # cluster ids (None/NaN: a cluster of its own)
    covariates: np.ndarray | None = None  # (rows, k) A-minus-B differences, NaN = missing
    covariate_names: tuple[str, ...] = ()

    def take(self, mask: np.ndarray) -> Votes:
        return replace(
            self,
            model_a=self.model_a[mask],
            model_b=self.model_b[mask],
            score=self.score[mask],
            weight=self.weight[mask],
            user=None if self.user is None else self.user[mask],
            covariates=None if self.covariates is None else self.covariates[mask],
        )

    @property
    def n_votes(self) -> int:
        return int(round(self.weight.sum()))


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
    win_rates: list[WinRateMatrix] = field(default_factory=list)
    clustering: dict[str, Any] = field(default_factory=dict)
    fragility: list[PairFragility] = field(default_factory=list)
    controlled: Leaderboard | None = None
    coefficients: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, with_win_rates: bool = True) -> dict[str, Any]:
        """JSON-ready dict: `ratings` rows sorted by rank, then rating."""
        out = {
            "ratings": [asdict(r) for r in self.ratings],
            "votes": self.n_votes,
            "ties_mode": self.options.ties,
            "tie_parameter": self.tie_parameter,
            "bootstrap_rounds": self.options.bootstrap_rounds,
            "seed": self.options.seed,
            "ci_method": self.ci_method,
            "clustering": self.clustering,
            "anchor": list(self.options.anchor) if self.options.anchor else None,
            "min_votes": self.options.min_votes,
            "excluded": self.excluded,
            "status_rule": STATUS_RULE,
            "evidence_rule": self.options.evidence.describe() if self.options.evidence else None,
            "too_few_votes": [
                {"model": r.model, "votes": r.votes, "component": r.component}
                for r in self.ratings
                if r.status == TOO_FEW_VOTES
            ],
            "fragility": [f.to_dict() for f in self.fragility],
            "warnings": self.warnings,
            "win_rates": [r for m in self.win_rates for r in m.records()] if with_win_rates else [],
            "controlled": None,
        }
        if self.controlled is not None:
            out["controlled"] = {
                "controls": list(self.options.controls),
                "coefficients": self.coefficients,
                "ratings": [asdict(r) for r in self.controlled.ratings],
                "votes": self.controlled.n_votes,
                "ci_method": self.controlled.ci_method,
                "tie_parameter": self.controlled.tie_parameter,
            }
        return out


def filter_min_votes(
    ia: np.ndarray,
    ib: np.ndarray,
    n_models: int,
    min_votes: int,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[int, int]]:
    """Mask of rows kept after repeatedly dropping models with fewer than `min_votes` votes."""
    keep = np.ones(len(ia), bool)
    w = np.ones(len(ia)) if weights is None else np.asarray(weights, float)
    dropped: dict[int, int] = {}
    while True:
        counts = np.bincount(ia[keep], w[keep], minlength=n_models) + np.bincount(
            ib[keep], w[keep], minlength=n_models
        )
        low = np.flatnonzero((counts > 0) & (counts < min_votes))
        if not len(low):
            return keep, dropped
        for k in low.tolist():
            dropped.setdefault(k, int(round(counts[k])))
        is_low = np.zeros(n_models, bool)
        is_low[low] = True
        keep &= ~is_low[ia] & ~is_low[ib]


def cluster_codes(user: np.ndarray) -> np.ndarray:
    """Integer cluster per row; rows without a user id each form a cluster of their own."""
    if np.issubdtype(np.asarray(user).dtype, np.integer):  # codes already (no missing ids)
        return pd.factorize(np.asarray(user), sort=True)[0].astype(np.int64)
    series = pd.Series(user)
    if not pd.api.types.is_string_dtype(series):  # ids of mixed types compare as text
        series = series.astype(object).map(_as_text)
    codes, uniques = pd.factorize(series, sort=True)
    missing = codes < 0
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes.astype(np.int64)


def _as_text(value: Any) -> Any:
    return value if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def rank_votes(
    model_a: np.ndarray | list[str],
    model_b: np.ndarray | list[str],
    score_a: np.ndarray,
    options: RankingOptions | None = None,
    *,
    weights: np.ndarray | None = None,
    users: np.ndarray | None = None,
    covariates: Mapping[str, np.ndarray] | None = None,
    length_a: np.ndarray | None = None,
    length_b: np.ndarray | None = None,
) -> Leaderboard:
    """Bradley–Terry leaderboard for votes (score of A: 1 win, 0.5 tie, 0 loss).

    `weights`: votes per row (aggregated input); `users`: a user id per row (user-clustered
    uncertainty); `covariates`: name -> per-row A-minus-B difference (style/latency control;
    NaN where missing); `length_a`/`length_b`: shorthand for a `response_length` control.
    """
    opts = options or RankingOptions()
    a = np.asarray(model_a, dtype=object)
    controls = dict(covariates or {})
    if length_a is not None and length_b is not None:
        controls["response_length"] = normalised_length_difference(length_a, length_b)
    if controls:
        opts = replace(opts, controls=tuple(controls))
    votes = Votes(
        model_a=a,
        model_b=np.asarray(model_b, dtype=object),
        score=np.asarray(score_a, dtype=float),
        weight=np.ones(len(a)) if weights is None else np.asarray(weights, dtype=float),
        user=None if users is None else np.asarray(users, dtype=object),
        covariates=(
            np.column_stack([np.asarray(v, float) for v in controls.values()]) if controls else None
        ),
        covariate_names=tuple(controls),
    )
    return rank(votes, opts)


def rank(votes: Votes, opts: RankingOptions) -> Leaderboard:
    """`rank_votes` on a `Votes` table."""
    if len(votes.score) == 0 or votes.n_votes == 0:
        raise RankingError("no votes to rank; ingest votes first (`arenalens ingest ...`)")
    votes = _split_anonymous(votes, opts)
    models, ia, ib = encode_models(votes.model_a, votes.model_b)
    warnings: list[str] = []
    self_votes = ia == ib
    if self_votes.any():
        n_self = int(round(votes.weight[self_votes].sum()))
        warnings.append(f"left out {n_self} votes comparing a model with itself")
        votes, ia, ib = votes.take(~self_votes), ia[~self_votes], ib[~self_votes]
        if len(ia) == 0:
            raise RankingError("every vote compares a model with itself; nothing to rank")
    keep, dropped = filter_min_votes(ia, ib, len(models), opts.min_votes, votes.weight)
    excluded = {models[k]: v for k, v in dropped.items()}
    if excluded:
        named = sorted(excluded.items())
        listed = ", ".join(f"{m} ({v})" for m, v in named[:NAMED_IN_MESSAGES])
        if len(named) > NAMED_IN_MESSAGES:
            listed += f" and {len(named) - NAMED_IN_MESSAGES} more models"
        warnings.append(f"excluded for fewer than {opts.min_votes} votes: {listed}")
    if not keep.any():
        raise RankingError(f"no model has at least {opts.min_votes} votes; lower --min-votes")
    if not keep.all():
        votes, ia, ib = votes.take(keep), ia[keep], ib[keep]
    present = np.zeros(len(models), bool)
    present[ia] = present[ib] = True
    recode = np.cumsum(present) - 1
    models = tuple(m for m, p in zip(models, present, strict=True) if p)
    ia, ib = recode[ia], recode[ib]
    if opts.anchor and opts.anchor[0] not in models:
        raise RankingError(f"--anchor model {opts.anchor[0]!r} is not among the ranked models")
    pc = aggregate_codes(ia, ib, votes.score, models, votes.weight)
    labels = components(pc)
    if labels.max() > 0:
        groups = [
            sorted(pc.models[k] for k in np.flatnonzero(labels == c))
            for c in range(labels.max() + 1)
        ]
        described = describe_groups(groups)
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
    clusters = _clusters(votes, opts)
    board = Leaderboard([], votes.n_votes, opts, "", warnings, excluded)
    if votes.covariates is not None:
        board.controlled = Leaderboard([], 0, opts, "")
    # two BLAS threads on a busy machine spin more than they compute on matrices of up to
    # EXACT_COVARIANCE_MAX_MODELS models (a 500-model Cholesky: 0.07-0.13 CPU-s, on one
    # thread 0.005); larger factorisations keep the threads
    blas_threads = 1 if pc.n_models <= EXACT_COVARIANCE_MAX_MODELS else None
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for comp in range(labels.max() + 1):
            sub = pc.subset(labels == comp) if labels.max() > 0 else pc
            in_comp = labels[ia] == comp
            codes = None if clusters is None else clusters[in_comp]
            part = votes.take(in_comp)
            comp_ia, comp_ib = (
                _recode(ia[in_comp], labels == comp),
                _recode(ib[in_comp], labels == comp),
            )
            _rank_component(board, sub, comp, part, comp_ia, comp_ib, codes, labels.max() == 0)
            if board.controlled is not None:
                _controlled_component(
                    board, sub, comp, part, comp_ia, comp_ib, codes, bool(labels.max() > 0)
                )
    if labels.max() > 0:  # fragility is per group: say which
        for item in board.fragility:
            members = groups[item.component]
            shown = ", ".join(members[:3]) + (", …" if len(members) > 3 else "")
            item.scope = f"in group {item.component + 1} ({shown})"
    board.ratings.sort(key=lambda r: (r.component, r.rank == 0, r.rank, -r.rating))
    if board.controlled is not None:  # by controlled rating; the CI-rank is printed beside it
        board.controlled.ratings.sort(key=lambda r: (r.component, r.rank == 0, -r.rating))
    return board


def describe_groups(groups: list[list[str]], limit: int = NAMED_IN_MESSAGES) -> str:
    """Groups of model names in braces, naming at most `limit` models in all (largest groups
    first), then how many models and groups were left unnamed."""
    ordered = sorted(groups, key=lambda g: (-len(g), g))
    shown, named = [], 0
    for group in ordered:
        if named >= limit:
            break
        part = group[: limit - named]
        named += len(part)
        more = f", and {len(group) - len(part)} more" if len(part) < len(group) else ""
        shown.append("{" + ", ".join(part) + more + "}")
    text = "; ".join(shown)
    left = len(ordered) - len(shown)
    if left:
        models = sum(len(g) for g in ordered[len(shown) :])
        text += f"; and {left} more groups of {models} models"
    return text


def _split_anonymous(votes: Votes, opts: RankingOptions) -> Votes:
    """Grouped rows without a user id stand for several votes, each its own cluster: when
    clustering applies, such rows are expanded to one row per vote."""
    if opts.cluster == "none" or votes.user is None:
        return votes
    anonymous = pd.isna(pd.Series(votes.user, dtype=object)).to_numpy()
    if anonymous.all() or not (anonymous & (votes.weight > 1)).any():
        return votes
    repeats = np.where(anonymous, votes.weight, 1).astype(np.int64)
    index = np.repeat(np.arange(len(votes.weight)), repeats)
    expanded = votes.take(index)
    expanded.weight = np.where(anonymous[index], 1.0, votes.weight[index])
    return expanded


def _recode(codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return (np.cumsum(keep) - 1)[codes]


def _clusters(votes: Votes, opts: RankingOptions) -> np.ndarray | None:
    """Cluster code per row when user-clustered uncertainty applies, else None."""
    if opts.cluster == "none":
        return None
    if votes.user is None or pd.isna(pd.Series(votes.user, dtype=object)).all():
        if opts.cluster == "user":
            raise RankingError("--cluster user: these votes carry no user ids; use --cluster none")
        return None
    codes = cluster_codes(votes.user)
    # codes run from 0 without gaps (`cluster_codes`): the largest one counts the clusters
    if opts.cluster == "auto" and int(codes.max(initial=-1)) + 1 >= votes.n_votes:
        return None  # every user cast one vote: clustering changes nothing
    return codes


def _anchor_index(models: tuple[str, ...], opts: RankingOptions) -> tuple[int, float] | None:
    if opts.anchor and opts.anchor[0] in models:
        return models.index(opts.anchor[0]), float(opts.anchor[1])
    return None


def _rank_component(
    board: Leaderboard,
    pc: PairCounts,
    comp: int,
    votes: Votes,
    ia: np.ndarray,
    ib: np.ndarray,
    codes: np.ndarray | None,
    connected: bool = False,
) -> None:
    opts = board.options
    cluster_matrix = (
        None if codes is None else cluster_cell_matrix(pc, ia, ib, votes.score, codes, votes.weight)
    )
    fit = fit_bradley_terry(pc, opts.ties, cluster_matrix)
    board.warnings.extend(fit.warnings)
    anchor = _anchor_index(pc.models, opts)
    boot_theta, boot_nu, boot = None, None, None
    one_step = pc.n_models > DENSE_MAX_MODELS
    if opts.bootstrap_rounds > 0:
        resample = one_step_bootstrap if one_step else bootstrap_bradley_terry
        boot = resample(
            fit, opts.bootstrap_rounds, opts.seed, progress=opts.progress, clusters=cluster_matrix
        )
        board.warnings.extend(bootstrap_warnings(boot))
        boot_theta, boot_nu = boot.theta, boot.log_nu
    board.tie_parameter = fit.tie_parameter
    ratings = to_ratings(fit.theta, anchor)
    sandwich_sd, drawn = _sandwich_sd(fit, anchor, boot_theta, cluster_matrix, opts.seed)
    s_low, s_high = ratings - Z95 * sandwich_sd, ratings + Z95 * sandwich_sd
    unit = "user-clustered " if cluster_matrix is not None else ""
    if boot_theta is not None:
        low, high = percentile_interval(to_ratings(boot_theta, anchor), opts.level)
        over = f" over {cluster_matrix.shape[0]} users" if cluster_matrix is not None else ""
        kind = "one-step bootstrap" if one_step else "bootstrap"
        board.ci_method = (
            f"{unit}{kind} percentile ({opts.bootstrap_rounds} rounds{over}, seed {opts.seed})"
        )
        if one_step:
            board.ci_method += (
                f"; above {DENSE_MAX_MODELS} models each round is one Newton step from the full fit"
            )
    else:
        low, high = s_low, s_high
        board.ci_method = f"{unit}sandwich (robust) normal interval"
        if drawn:
            board.ci_method += f", standard errors from {drawn} score draws"
    board.clustering = _clustering_summary(pc, fit, cluster_matrix, votes, opts.cluster)
    counts = _win_tie_loss(pc)
    admitted = _admitted(opts.evidence, counts.sum(axis=1), low, high)
    groups = weak_groups(pc, opts.weak_join_votes) if connected else None
    group_of = np.full(pc.n_models, comp) if groups is None else groups
    ranks = np.zeros(pc.n_models, dtype=np.int64)
    for g in np.unique(group_of):
        in_group = group_of == g
        ranks[in_group] = _ranks(low[in_group], high[in_group], admitted[in_group])
    if groups is not None:
        board.warnings.append(_weak_join_warning(pc, groups, boot))
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
                component=int(group_of[k]),
                status=model_status(int(wins + ties + losses), float(low[k]), float(high[k]))
                if admitted[k]
                else TOO_FEW_VOTES,
            )
        )
    if pc.n_models <= WIN_RATE_MAX_MODELS:
        board.win_rates.append(
            win_rate_matrix(pc, fit.theta, boot_theta, fit.ties, fit.log_nu, boot_nu, opts.level)
        )
    else:
        board.warnings.append(
            f"pairwise win rates are left out: {pc.n_models} models would need "
            f"{pc.n_models * (pc.n_models - 1):,} rows (they are kept up to "
            f"{WIN_RATE_MAX_MODELS} models)"
        )
    if opts.fragility and pc.n_models > EXACT_COVARIANCE_MAX_MODELS:
        board.warnings.append(f"fragility is searched for the leader only ({pc.n_models} models)")
    elif opts.fragility and pc.n_models > DENSE_MAX_MODELS:
        board.warnings.append(
            f"fragility is searched for the leader and the top {FRAGILITY_TOP_MODELS} models "
            f"only ({pc.n_models} models)"
        )
    if opts.fragility and groups is None:
        board.fragility += order_fragility(pc, fit.theta, fit.ties, admitted, comp, fit)
    elif opts.fragility:  # per weakly joined group, among its ranked models
        for g in np.unique(groups):
            items = order_fragility(pc, fit.theta, fit.ties, admitted & (groups == g), int(g), fit)
            members = sorted(pc.models[k] for k in np.flatnonzero(groups == g))
            for item in items:
                shown = ", ".join(members[:3]) + (", …" if len(members) > 3 else "")
                item.scope = f"in group {g + 1} ({shown})"
            board.fragility += items


def _weak_join_warning(pc: PairCounts, groups: np.ndarray, boot: Any) -> str:
    """One line: which groups are barely joined, how often the prior held them together."""
    described = "; ".join(
        "{" + ", ".join(sorted(pc.models[k] for k in np.flatnonzero(groups == g))) + "}"
        for g in np.unique(groups)
    )
    prior = (
        f" and the prior (needed in {boot.rounds_with_prior} of {boot.rounds} bootstrap rounds)"
        if boot
        else " and the prior"
    )
    return (
        f"groups of models joined by only {joining_votes(pc, groups)} votes ({described}): "
        f"the gap between groups rests on those votes{prior}, so models are ranked within each "
        "group and not compared across groups"
    )


def _admitted(
    rule: EvidenceRule | None, votes: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Models ranked on the main board under the evidence rule (all of them without one)."""
    if rule is None:
        return np.ones(len(votes), bool)
    return rule.admitted(votes, low, high)


def _ranks(low: np.ndarray, high: np.ndarray, admitted: np.ndarray) -> np.ndarray:
    """Interval ranks among the admitted models; 0 for those listed apart."""
    ranks = np.zeros(len(low), dtype=np.int64)
    if admitted.any():
        ranks[admitted] = rank_from_intervals(low[admitted], high[admitted])
    return ranks


def _sandwich_sd(
    fit: Any,
    anchor: tuple[int, float] | None,
    boot_theta: np.ndarray | None,
    cluster_matrix: sparse.csr_matrix | None,
    seed: int,
) -> tuple[np.ndarray, int]:
    """Sandwich standard errors (rating points) and how many score draws estimated them (0:
    exact, from the covariance matrix; many models have none, see `covariances`)."""
    if fit.cov_sandwich.size:
        variance = np.diag(_anchored(fit.cov_sandwich, anchor))
        return ELO_SCALE * np.sqrt(np.clip(variance, 0, None)), 0
    draws = boot_theta
    if draws is None:
        draws = one_step_bootstrap(
            fit, ONE_STEP_SANDWICH_DRAWS, seed, clusters=cluster_matrix
        ).theta
    return to_ratings(draws, anchor).std(axis=0, ddof=1), int(draws.shape[0])


def _clustering_summary(
    pc: PairCounts,
    fit: Any,
    cluster_matrix: sparse.csr_matrix | None,
    votes: Votes,
    opts_cluster: str,
) -> dict[str, Any]:
    """Which unit was resampled, and how much wider the user-clustered sandwich is than the
    vote-level one (mean ratio of standard errors over models)."""
    if cluster_matrix is None:
        if opts_cluster == "none":  # checked first: the user ids are then not even read
            reason = "user clustering was turned off with --cluster none"
        elif votes.user is None or pd.isna(pd.Series(votes.user, dtype=object)).all():
            reason = "the votes carry no user ids"
        else:
            reason = "every user cast a single vote, so resampling users would resample votes"
        return {"unit": "vote", "clusters": None, "width_ratio": None, "reason": reason}
    if not fit.cov_sandwich.size:
        return {
            "unit": "user",
            "clusters": int(cluster_matrix.shape[0]),
            "width_ratio": None,
            "reason": "votes carry user ids; users are resampled, not votes (the width ratio "
            f"is not computed for {pc.n_models} models)",
        }
    vote_level = fit.cov_vote_sandwich
    if not vote_level.size:
        _, vote_level = covariances(pc, fit.theta, fit.ties, fit.log_nu, fit.prior_mask)
    clustered = np.sqrt(np.clip(np.diag(fit.cov_sandwich), 0, None))
    plain = np.sqrt(np.clip(np.diag(vote_level), 1e-300, None))
    return {
        "unit": "user",
        "clusters": int(cluster_matrix.shape[0]),
        "width_ratio": float(np.mean(clustered / plain)),
        "reason": "votes carry user ids; users are resampled, not votes",
    }


def _controlled_component(
    board: Leaderboard,
    pc: PairCounts,
    comp: int,
    votes: Votes,
    ia: np.ndarray,
    ib: np.ndarray,
    codes: np.ndarray | None,
    several_components: bool = False,
) -> None:
    """Contextual Bradley–Terry with the covariates, on the votes that have all of them."""
    opts = board.options
    controlled = board.controlled
    assert controlled is not None and votes.covariates is not None
    complete = ~np.isnan(votes.covariates).any(axis=1)
    n_missing = int(round(votes.weight[~complete].sum()))
    n_used = int(round(votes.weight[complete].sum()))
    missing_by = {
        name: int(round(votes.weight[np.isnan(votes.covariates[:, k])].sum()))
        for k, name in enumerate(votes.covariate_names)
    }
    listed = ", ".join(f"{n} lack {name}" for name, n in missing_by.items() if n)
    if n_used < CONTROL_MIN_VOTES:
        message = (
            f"only {n_used} of {votes.n_votes} votes have every covariate"
            + (f" ({listed})" if listed else "")
            + f"; the controlled board needs at least {CONTROL_MIN_VOTES}"
        )
        if several_components:
            board.warnings.append(
                f"controlled board left out {{{', '.join(pc.models)}}}: {message}"
            )
            return
        raise RankingError(f"--control: {message}")
    if n_missing:
        board.warnings.append(
            f"controlled board: {n_missing} of {votes.n_votes} votes left out ({listed}); "
            "fitted on the rest"
        )
    keep_models = np.zeros(pc.n_models, bool)
    keep_models[ia[complete]] = keep_models[ib[complete]] = True
    if not keep_models.all():
        lost = [m for m, k in zip(pc.models, keep_models, strict=True) if not k]
        raise RankingError(
            f"--control: no vote of {', '.join(lost)} has every covariate; "
            "drop that control or filter those models out"
        )
    sub_votes = votes.take(complete)
    x = standardise(sub_votes.covariates)
    sia, sib = ia[complete], ib[complete]
    sub_pc = aggregate_codes(sia, sib, sub_votes.score, pc.models, sub_votes.weight)
    if components(sub_pc).max() > 0:
        raise DisconnectedComparisonError(
            "--control: the votes with every covariate do not connect all models; "
            "drop that control or rank fewer models"
        )
    base = fit_bradley_terry(sub_pc, opts.ties)
    ties = base.ties  # Davidson falls back to half when there are no ties
    sub_codes = None if codes is None else cluster_codes(codes[complete])
    point, boot = fit_with_covariates(
        sia,
        sib,
        sub_votes.score,
        pc.n_models,
        x,
        base.prior_mask,
        opts.bootstrap_rounds,
        opts.seed,
        opts.progress,
        round_prior_mask=_vote_round_mask(sub_pc, sia, sib, sub_votes.score),
        ties=ties,
        clusters=sub_codes,
        weights=sub_votes.weight,
    )
    m = pc.n_models
    anchor = _anchor_index(pc.models, opts)
    theta = point.theta[0]
    cov = point.cov_sandwich
    ratings = to_ratings(theta, anchor)
    sd = ELO_SCALE * np.sqrt(np.clip(np.diag(_anchored(cov[:m, :m], anchor)), 0, None))
    s_low, s_high = ratings - Z95 * sd, ratings + Z95 * sd
    unit = "user-clustered " if sub_codes is not None else ""
    if boot is not None:
        low, high = percentile_interval(to_ratings(boot.theta, anchor), opts.level)
        controlled.ci_method = f"{unit}bootstrap percentile ({opts.bootstrap_rounds} rounds)"
        if boot.one_step:
            controlled.ci_method = _one_step_method(boot, unit, opts.bootstrap_rounds)
        if (~boot.converged).any():
            board.warnings.append(
                f"{int((~boot.converged).sum())} controlled-board bootstrap rounds did not converge"
            )
    else:
        low, high = s_low, s_high
        controlled.ci_method = f"{unit}sandwich (robust) normal interval"
    controlled.n_votes += n_used
    if point.log_nu is not None:
        controlled.tie_parameter = float(np.exp(point.log_nu[0]))
    counts = _win_tie_loss(sub_pc)
    # the models of the main board: controlling widens intervals, it does not unrank a model
    apart = {r.model for r in board.ratings if r.status == TOO_FEW_VOTES}
    admitted = np.array([m not in apart for m in pc.models], dtype=bool)
    ranks = _ranks(low, high, admitted)
    for k, model in enumerate(pc.models):
        wins, ties_k, losses = counts[k]
        n_k = int(wins + ties_k + losses)
        controlled.ratings.append(
            ModelRating(
                model=model,
                rating=float(ratings[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                rank=int(ranks[k]),
                votes=n_k,
                wins=int(wins),
                ties=int(ties_k),
                losses=int(losses),
                sandwich_low=float(s_low[k]),
                sandwich_high=float(s_high[k]),
                flag=base.flags.get(model),
                component=comp,
                status=model_status(n_k, float(low[k]), float(high[k]))
                if admitted[k]
                else TOO_FEW_VOTES,
            )
        )
    if not board.coefficients:  # of the first group fitted (the only one, unless --per-component)
        for k, name in enumerate(sub_votes.covariate_names):
            beta = float(point.beta[0, k])
            se = float(np.sqrt(max(cov[m + k, m + k], 0.0)))
            row = {
                "covariate": name,
                "coefficient": beta,
                "odds_ratio_per_sd": float(np.exp(beta)),
                "sandwich_low": beta - Z95 * se,
                "sandwich_high": beta + Z95 * se,
                "ci_low": beta - Z95 * se,
                "ci_high": beta + Z95 * se,
            }
            if boot is not None:
                lo, hi = percentile_interval(boot.beta[:, k], opts.level)
                row.update(ci_low=float(lo), ci_high=float(hi))
            row["significant"] = bool(row["ci_low"] > 0 or row["ci_high"] < 0)
            board.coefficients.append(row)
        _flag_confounded_controls(
            board.coefficients,
            sia,
            sib,
            sub_votes,
            x,
            pc.n_models,
            base.prior_mask,
            ties,
            sub_codes,
            point.theta[0],
        )


def _one_step_method(boot: Any, unit: str, rounds: int) -> str:
    """The controlled board's interval method when its rounds are one Newton step each."""
    if unit:
        over = f"{boot.units} users"
    elif boot.units < boot.votes:
        over = f"{boot.votes} votes in {boot.units} random blocks"
    else:
        over = f"{boot.votes} votes"
    return (
        f"{unit}one-step bootstrap percentile ({rounds} rounds over {over}); above "
        f"{DENSE_MAX_MODELS} models or {REFIT_MAX_ROWS:,} vote rows each round is one Newton "
        "step from the full fit"
    )


def _flag_confounded_controls(
    coefficients: list[dict[str, Any]],
    ia: np.ndarray,
    ib: np.ndarray,
    votes: Votes,
    x: np.ndarray,
    n_models: int,
    prior_mask: np.ndarray,
    ties: TiesMode,
    codes: np.ndarray | None,
    theta: np.ndarray | None = None,
) -> None:
    """Each control fitted alone (sandwich interval; Newton starts from the joint fit's
    strengths `theta`): one that is significant alone but not beside the others (latency
    standing in for length) gets a `caution`; with a single control, the caution says it may
    stand in for another it correlates with."""
    names = [c["covariate"] for c in coefficients]
    if len(names) == 1:
        coefficients[0]["alone_significant"] = coefficients[0]["significant"]
        coefficients[0]["caution"] = (
            "fitted alone: it may stand in for a control it correlates with (latency with "
            "length, say); add that control too to check"
            if coefficients[0]["significant"]
            else ""
        )
        return
    for k, row in enumerate(coefficients):
        alone, _ = fit_with_covariates(
            ia, ib, votes.score, n_models, x[:, [k]], prior_mask,
            ties=ties, clusters=codes, weights=votes.weight, theta0=theta,
        )  # fmt: skip
        beta = float(alone.beta[0, 0])
        se = float(np.sqrt(max(alone.cov_sandwich[n_models, n_models], 0.0)))
        row["alone_coefficient"] = beta
        row["alone_significant"] = bool(abs(beta) > Z95 * se)
        others = display_names(
            n for n in names if n != row["covariate"]
        )  # words: a caution is read
        row["caution"] = (
            f"significant alone ({beta:+.2f} per SD) but not once {others} "
            f"{'is' if len(names) == 2 else 'are'} controlled: it stands in for "
            f"{'it' if len(names) == 2 else 'them'}"
            if row["alone_significant"] and not row["significant"]
            else ""
        )


def _vote_round_mask(
    pc: PairCounts, ia: np.ndarray, ib: np.ndarray, score: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Map vote-level resample counts to the per-round prior mask of the pair-level bootstrap."""
    m = pc.n_models
    position = np.full(m * m, -1)
    position[pc.pair_i * m + pc.pair_j] = np.arange(len(pc.pair_i))
    flat = flat_cells(ia, ib, score, m)
    cells = position[flat // 3] * 3 + flat % 3
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


__all__ = ["Leaderboard", "ModelRating", "RankingOptions", "Votes", "rank", "rank_votes"]
