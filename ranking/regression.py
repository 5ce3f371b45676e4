"""Do static benchmarks predict preferences? Model-level tests first, vote-level fits described.

The unit of evidence for "benchmark X predicts preference" is the model: significance comes only
from `ranking.model_inference` (permutation over models, Holm or Benjamini–Hochberg across the
benchmarks, leave-one-model-out prediction). The vote-level fits below describe the data; their
per-vote p-values treat votes as independent evidence about a handful of models and are not
reported as tests.

Outcome: A preferred over B (ties dropped, or kept as one A-win plus one B-win row). Fixed effects: standardised
benchmark score differences A - B, after a VIF pre-screen. Random effects: model identity coded
+1 for A and -1 for B (one variance component). Fitted with statsmodels' `BinomialBayesMixedGLM`
by the Laplace approximation at the posterior mode (`fit_map`); the variational fit (`fit_vb`)
understates the spread of the benchmark terms and is kept only as a recorded comparison;
compared with a plain logistic fit (statsmodels `Logit`).

R² follows Nakagawa & Schielzeth (2013) for the logit link: distribution variance pi^2/3. Each
vote's random part is u_A - u_B, whose variance is 2 sigma_u^2 (Johnson 2014's generalisation
for non-standard random-effect designs: mean of z' Sigma z), so

    R²_marginal    = s2_f / (s2_f + 2 sigma_u^2 + pi^2/3)
    R²_conditional = (s2_f + 2 sigma_u^2) / (s2_f + 2 sigma_u^2 + pi^2/3)

with s2_f the variance of the fixed-effect linear predictor over the votes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from arenalens.display import benchmark_label, join_words
from arenalens.stats import Z95
from ranking.benchmark_fit import (
    battles_from_votes,
    cv_summary,
    fit_strengths,
    lomo_cross_validation,
    null_fold_losses,
    permutation_test,
    select_benchmarks,
)
from ranking.bradley_terry import to_ratings
from ranking.errors import RankingError
from ranking.model_inference import (
    ALPHA,
    DEFAULT_EFFECT,
    DEFAULT_POWER,
    MIN_MODELS,
    BenchmarkTest,
    Correction,
    benchmark_tests,
    models_needed,
    random_effect_identifiability,
)

LOGIT_DISTRIBUTION_VARIANCE = math.pi**2 / 3.0
VIF_THRESHOLD = 10.0


@dataclass
class Coefficient:
    """One vote-level fixed effect: estimate, 95% interval, and a per-vote p-value (Logit) or
    posterior z (mixed). Descriptive: the votes are not independent evidence about benchmarks."""

    term: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool


@dataclass
class RegressionReport:
    """Everything `arenalens regress` reports."""

    n_votes: int
    n_models: int
    models: list[str]
    benchmarks_used: list[str]
    vif_threshold: float
    vif_dropped: dict[str, float]
    vif_kept: dict[str, float]
    mixed: list[Coefficient]
    random_effect_sd: float
    random_effects: dict[str, float]
    r2_marginal: float
    r2_conditional: float
    variance_fixed: float
    logit: list[Coefficient]
    logit_r2_nakagawa: float
    logit_r2_mcfadden: float
    log_loss_mixed: float
    log_loss_logit: float
    kendall_tau: list[dict[str, Any]]  # model-level test per benchmark (BenchmarkTest)
    pca_explained_variance: list[float]
    ties: str
    warnings: list[str] = field(default_factory=list)
    benchmarks_considered: list[str] = field(default_factory=list)
    cross_validation: dict[str, Any] = field(default_factory=dict)
    permutation: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] | None = None
    summary_line: str = ""
    arena_ratings: dict[str, float] = field(default_factory=dict)
    benchmark_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    min_models: int = MIN_MODELS
    correction: str = "holm"
    alpha: float = ALPHA
    effect: float = DEFAULT_EFFECT
    models_needed: int | None = None  # for `effect` at 80% power after the correction
    random_effect: dict[str, Any] = field(default_factory=dict)  # identifiability and the check
    caveat: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: infinite VIFs (exact collinearity) and NaNs become null."""
        return _json_safe(asdict(self))


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def benchmark_matrix(scores: pd.DataFrame) -> pd.DataFrame:
    """Long scores (model, dataset, task, metric, score[, higher_is_better]) -> models x benchmarks.

    Scores where lower is better are negated so that larger always means better.
    """
    needed = {"model", "dataset", "task", "score"}
    if missing := needed - set(scores.columns):
        raise RankingError(f"benchmark scores lack columns {sorted(missing)}")
    frame = scores.copy()
    if "higher_is_better" in frame:
        frame["score"] = np.where(
            frame["higher_is_better"].fillna(1).astype(int) == 0, -frame["score"], frame["score"]
        )
    frame["benchmark"] = frame["dataset"].astype(str) + ":" + frame["task"].astype(str)
    return frame.pivot_table(index="model", columns="benchmark", values="score", aggfunc="mean")


def variance_inflation(x: np.ndarray) -> np.ndarray:
    """VIF of each column: 1 / (1 - R²) of regressing it (with intercept) on the others."""
    n, k = x.shape
    out = np.empty(k)
    for j in range(k):
        others = np.column_stack([np.ones(n), np.delete(x, j, axis=1)])
        coef, *_ = np.linalg.lstsq(others, x[:, j], rcond=None)
        resid = x[:, j] - others @ coef
        total = ((x[:, j] - x[:, j].mean()) ** 2).sum()
        r2 = 1.0 - (resid**2).sum() / total if total > 0 else 1.0
        out[j] = np.inf if r2 >= 1.0 - 1e-12 else 1.0 / (1.0 - r2)
    return out


def vif_screen(
    x: np.ndarray, names: list[str], threshold: float = VIF_THRESHOLD
) -> tuple[list[int], dict[str, float]]:
    """Drop the highest-VIF column until every VIF is <= threshold; returns kept indices, dropped."""
    keep = list(range(x.shape[1]))
    dropped: dict[str, float] = {}
    while len(keep) > 1:
        vif = variance_inflation(x[:, keep])
        worst = int(np.argmax(vif))
        if vif[worst] <= threshold:
            break
        dropped[names[keep[worst]]] = float(vif[worst])
        keep.pop(worst)
    return keep, dropped


def nakagawa_r2(variance_fixed: float, variance_random: float) -> tuple[float, float]:
    """(marginal, conditional) R² for a logit-link binomial GLMM."""
    total = variance_fixed + variance_random + LOGIT_DISTRIBUTION_VARIANCE
    return variance_fixed / total, (variance_fixed + variance_random) / total


def _log_loss(y: np.ndarray, eta: np.ndarray) -> float:
    p = np.clip(1.0 / (1.0 + np.exp(-eta)), 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def regress_preferences(
    votes: pd.DataFrame,
    scores: pd.DataFrame,
    ratings: dict[str, float] | None = None,
    *,
    keep_ties: bool = False,
    vif_threshold: float = VIF_THRESHOLD,
    seed: int = 0,
    select: bool = False,
    min_models: int = MIN_MODELS,
    correction: Correction = "holm",
    effect: float = DEFAULT_EFFECT,
) -> RegressionReport:
    """Relate votes (model_a, model_b, winner[, n]) to benchmark scores; see the module doc.

    Model level: Kendall τ per benchmark with a permutation p-value over models, adjusted across
    benchmarks (`correction`), leave-one-model-out prediction, a joint permutation test and the
    number of models needed to detect `effect`. Vote level (descriptive): the mixed-effects fit,
    checked against a Laplace fit, and a plain logit. `select` searches benchmark subsets.
    """
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    notes: list[str] = []
    matrix = benchmark_matrix(scores)
    voted = sorted(set(votes["model_a"]) | set(votes["model_b"]))
    covered = [m for m in voted if m in matrix.index]
    if missing := sorted(set(voted) - set(covered)):
        notes.append(
            f"models without benchmark scores (their votes are left out): {join_words(missing)}"
        )
    if len(covered) < 3:
        raise RankingError(
            f"only {len(covered)} voted models have benchmark scores ({covered}); need at least 3. "
            "Map vote names to benchmark names with `arenalens aliases`"
        )
    matrix = matrix.loc[covered]
    incomplete = [c for c in matrix.columns if matrix[c].isna().any()]
    if incomplete:
        notes.append(
            "benchmarks missing for some models, left out: "
            + ", ".join(benchmark_label(b) for b in incomplete)
        )
    matrix = matrix.drop(columns=incomplete)
    sd = matrix.std(ddof=0)
    constant = list(sd.index[sd <= 0])
    if constant:
        notes.append(
            "benchmarks constant across models, left out: "
            + ", ".join(benchmark_label(b) for b in constant)
        )
    matrix = matrix.drop(columns=constant)
    if matrix.shape[1] == 0:
        raise RankingError("no benchmark has scores for every voted model")
    z = (matrix - matrix.mean()) / matrix.std(ddof=0)

    rows = votes[votes["model_a"].isin(covered) & votes["model_b"].isin(covered)]
    unknown = set(rows["winner"]) - {"model_a", "model_b", "tie"}
    if unknown:
        raise RankingError(f"winner values {sorted(unknown)}; expected model_a, model_b or tie")
    decisive = rows[rows["winner"] != "tie"]
    y = (decisive["winner"] == "model_a").to_numpy(float)
    if keep_ties:
        # A binomial GLMM cannot weight rows, so each tie enters as one A-win and one B-win row.
        ties = rows[rows["winner"] == "tie"]
        decisive = pd.concat([decisive, ties, ties])
        y = np.concatenate([y, np.ones(len(ties)), np.zeros(len(ties))])
    rows = decisive
    if len(rows) < 10:
        raise RankingError(
            f"only {len(rows)} usable votes between benchmarked models; need at least 10"
        )
    diff = z.loc[rows["model_a"]].to_numpy() - z.loc[rows["model_b"]].to_numpy()
    names = list(z.columns)
    keep, dropped = vif_screen(diff, names, vif_threshold)
    used = [names[k] for k in keep]
    x = diff[:, keep]
    vif_kept = (
        dict(zip(used, variance_inflation(x).tolist(), strict=True))
        if len(keep) > 1
        else {used[0]: 1.0}
    )

    models = covered
    index = {m: k for k, m in enumerate(models)}
    exog_vc = np.zeros((len(rows), len(models)))
    exog_vc[np.arange(len(rows)), rows["model_a"].map(index).to_numpy()] = 1.0
    exog_vc[np.arange(len(rows)), rows["model_b"].map(index).to_numpy()] = -1.0
    exog = np.column_stack([np.ones(len(rows)), x])
    terms = ["intercept (position A)"] + used
    glmm = BinomialBayesMixedGLM(
        y, exog, exog_vc, np.zeros(len(models), dtype=int), fep_names=terms, vcp_names=["model"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = glmm.fit_map()  # Laplace at the posterior mode: the fit reported
        variational = glmm.fit_vb(rng=np.random.default_rng(seed))  # the check
    fe_mean, fe_sd = np.asarray(fitted.fe_mean), np.asarray(fitted.fe_sd)
    sigma_u = float(np.exp(fitted.vcp_mean[0]))
    u = np.asarray(fitted.vc_mean)
    fixed_part = x @ fe_mean[1:]
    variance_fixed = float(np.var(fixed_part))
    r2_m, r2_c = nakagawa_r2(variance_fixed, 2.0 * sigma_u**2)
    mixed = [_coefficient(t, e, s) for t, e, s in zip(terms, fe_mean, fe_sd, strict=True)]
    random_effect = check_random_effect(
        z[used].to_numpy(), np.asarray(variational.fe_sd), fe_sd, sigma_u
    )
    if random_effect["degrees_of_freedom"] < MIN_RANDOM_EFFECT_DF:  # said, not printed
        sigma_u, r2_c = math.nan, math.nan

    logit_model = Logit(y, exog)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logit_fit = logit_model.fit(disp=0, maxiter=200)
    params, bse = np.asarray(logit_fit.params), np.asarray(logit_fit.bse)
    logit = [_coefficient(t, e, s) for t, e, s in zip(terms, params, bse, strict=True)]
    logit_var = float(np.var(x @ params[1:]))

    battles = battles_from_votes(votes, covered, keep_ties)
    theta = fit_strengths(votes, covered)
    cv = lomo_cross_validation(battles, matrix[used].to_numpy(float), used, theta)
    permutation = permutation_test(battles, z[used].to_numpy(), seed)
    selection = select_benchmarks(battles, matrix, theta) if select else None
    tests = benchmark_tests(
        matrix.to_numpy(float),
        theta,
        list(matrix.columns),
        min_models=min_models,
        correction=correction,
        seed=seed,
    )
    null = null_fold_losses(battles)
    for test, column in zip(tests, matrix.columns, strict=True):
        single = lomo_cross_validation(
            battles, matrix[[column]].to_numpy(float), [column], theta, null
        )
        test.held_out_r2 = single.r2_strength
    tests.sort(key=lambda t: (t.p_value, -abs(t.tau) if math.isfinite(t.tau) else 0.0))
    needed = models_needed(effect, len(tests), ALPHA, DEFAULT_POWER)
    arena = ratings or dict(zip(covered, to_ratings(theta).tolist(), strict=True))
    return RegressionReport(
        n_votes=int(len(rows)),
        n_models=len(models),
        models=models,
        benchmarks_used=used,
        vif_threshold=vif_threshold,
        vif_dropped=dropped,
        vif_kept=vif_kept,
        mixed=mixed,
        random_effect_sd=sigma_u,
        random_effects=dict(zip(models, u.tolist(), strict=True)),
        r2_marginal=r2_m,
        r2_conditional=r2_c,
        variance_fixed=variance_fixed,
        logit=logit,
        logit_r2_nakagawa=logit_var / (logit_var + LOGIT_DISTRIBUTION_VARIANCE),
        logit_r2_mcfadden=float(logit_fit.prsquared),
        log_loss_mixed=_log_loss(y, exog @ fe_mean + exog_vc @ u),
        log_loss_logit=_log_loss(y, exog @ params),
        kendall_tau=[t.to_dict() for t in tests],
        pca_explained_variance=pca_explained_variance(z.to_numpy()),
        ties="kept (one A-win and one B-win row each)" if keep_ties else "removed",
        warnings=notes,
        benchmarks_considered=list(matrix.columns),
        cross_validation=cv_summary(cv),
        permutation=permutation,
        selection=selection,
        summary_line=headline(cv.r2_strength, cv.r2_votes, len(models), tests, min_models),
        arena_ratings={m: float(arena[m]) for m in covered if m in arena},
        benchmark_scores={b: matrix[b].astype(float).to_dict() for b in matrix.columns},
        min_models=min_models,
        correction=correction,
        effect=effect,
        models_needed=needed,
        random_effect=random_effect,
        caveat=models_caveat(len(models), min_models, len(tests), effect, needed, correction),
    )


# Fewer residual degrees of freedom than this: the model-to-model spread is not worth a number.
MIN_RANDOM_EFFECT_DF = 3


def check_random_effect(
    model_design: np.ndarray, variational_sd: np.ndarray, laplace_sd: np.ndarray, sigma_u: float
) -> dict[str, Any]:
    """Whether the per-model random effect is identifiable beside the benchmark terms, and how
    the variational fit's posterior spread compares with the Laplace fit reported.

    statsmodels' variational fit (`fit_vb`) gives the benchmark terms about the plain logit's
    spread even when models differ beyond their benchmarks, which is where a random effect
    should widen them; the Laplace fit (`fit_map`) does widen them and agrees with a
    two-stage model-level regression (tests/ranking/test_ranking_model_inference.py)."""
    out = random_effect_identifiability(model_design)
    ratio = float(np.min(variational_sd / np.where(laplace_sd > 0, laplace_sd, np.nan)))
    out["variational_to_laplace_sd"] = ratio
    out["method"] = "Laplace approximation at the posterior mode (statsmodels fit_map)"
    free = out["degrees_of_freedom"]
    if not out["identifiable"]:
        out["sentence"] = (
            f"The per-model random effect is not identifiable: {out['rank']} benchmark terms "
            f"already account for every difference between the {out['models']} models, so no "
            "model-to-model spread is reported."
        )
    elif free < MIN_RANDOM_EFFECT_DF:
        out["sentence"] = (
            f"The mixed model's model-to-model spread rests on {free} degree"
            f"{'' if free == 1 else 's'} of freedom ({out['models']} models, {out['rank']} "
            "benchmark terms): too few to estimate, so it is not reported."
        )
    else:
        out["sentence"] = (
            f"Beyond the benchmarks, models differ with an SD of {sigma_u:.2f} on the logit "
            f"scale (mixed model, Laplace fit, {free} degrees of freedom)."
        )
    return out


def describe_held_out(r2_strength: float) -> str:
    """A held-out R² in plain words."""
    if not math.isfinite(r2_strength):
        return "could not be measured"
    if r2_strength < 0:
        return "does worse than predicting no difference between models"
    if r2_strength < 0.1:
        return "barely beats predicting no difference between models"
    return f"accounts for {r2_strength:.0%} of the differences between models"


def headline(
    r2_strength: float,
    r2_votes: float,
    n_models: int,
    tests: list[BenchmarkTest],
    min_models: int = MIN_MODELS,
) -> str:
    """One sentence: the held-out figure first, then what the model-level tests allow."""
    found = [t.benchmark for t in tests if t.significant]
    held = describe_held_out(r2_strength)
    first = (
        f"Predicting each model's strength from its benchmarks, fitted on the other "
        f"{n_models - 1} models, {held} (held-out R² {r2_strength:.2f}"
        + (f"; held-out votes {_vote_words(r2_votes)}" if math.isfinite(r2_votes) else "")
        + ")"
    )
    if n_models < min_models:
        return f"{first}; with {n_models} models no benchmark can be shown to predict preference."
    if not found:
        return f"{first}; no benchmark predicts preference after correcting for {len(tests)} tests."
    return (
        f"{first}; after correcting for {len(tests)} tests, "
        f"{', '.join(found)} {'predicts' if len(found) == 1 else 'predict'} preference."
    )


def _vote_words(r2_votes: float) -> str:
    """Predictive McFadden R² of held-out votes, in words."""
    if r2_votes < 0:
        return f"predicted {-r2_votes:.1%} worse than without benchmarks"
    return f"predicted {r2_votes:.1%} better than without benchmarks"


def models_caveat(
    n_models: int,
    min_models: int,
    n_tests: int,
    effect: float,
    needed: int | None,
    correction: str,
) -> str:
    """Why the number of models, not of votes, limits what can be said; and what would suffice."""
    method = "Holm" if correction == "holm" else "Benjamini–Hochberg"
    need = f"about {needed} models" if needed is not None else "more than 200 models"
    lines = [
        f"The evidence is {n_models} models, not the votes: each model has one score per "
        "benchmark, and votes only make its rating more precise."
    ]
    if n_models < min_models:
        lines.append(f"Below {min_models} models no benchmark is declared to predict preference.")
    lines.append(
        f"Detecting one benchmark whose correlation with model strength is {effect:g}, 80% of "
        f"the time after {method}'s correction for {n_tests} benchmarks, would take {need} "
        "with precise ratings."
    )
    return " ".join(lines)


def _coefficient(term: str, estimate: float, std_error: float) -> Coefficient:
    zscore = estimate / std_error if std_error > 0 else math.inf
    p = math.erfc(abs(zscore) / math.sqrt(2))  # two-sided normal p-value, 2 * sf(|z|)
    low, high = estimate - Z95 * std_error, estimate + Z95 * std_error
    return Coefficient(
        term,
        float(estimate),
        float(std_error),
        float(low),
        float(high),
        p,
        bool(low > 0 or high < 0),
    )


def pca_explained_variance(z: np.ndarray) -> list[float]:
    """Share of variance explained by each principal component of the standardised matrix."""
    centred = z - z.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    var = singular**2
    return (var / var.sum()).tolist() if var.sum() > 0 else []
