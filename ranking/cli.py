"""`arenalens rank` and `arenalens regress`: leaderboards and benchmarks-vs-preferences."""

from __future__ import annotations

from typing import Any

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from ranking.leaderboard import RankingOptions
from ranking.pipeline import compute_rankings, compute_regression, demo
from ranking.regression import VIF_THRESHOLD, RegressionReport


def parse_anchor(value: str | None) -> tuple[str, float] | None:
    """`MODEL=VALUE` -> (model, value)."""
    if not value:
        return None
    model, sep, number = value.rpartition("=")
    try:
        rating = float(number)
    except ValueError:
        rating = None
    if not sep or not model or rating is None:
        raise click.BadParameter(
            f"expected MODEL=VALUE (e.g. gpt4o=1200), got {value!r}", param_hint="--anchor"
        )
    return model, rating


def format_leaderboard(board: dict[str, Any], title: str = "", last: str = "flag") -> str:
    """Plain-text leaderboard table (`last`: header of the last column, the rows' `flag`)."""
    lines = [title] if title else []
    lines.append(
        f"{'rank':>4}  {'model':<28} {'rating':>8}  {'95% CI':>17}  {'votes':>6}  {'status':<12} {last}"
    )
    for r in board["ratings"]:
        ci = f"{r['ci_low']:.0f}..{r['ci_high']:.0f}"
        lines.append(
            f"{r['rank']:>4}  {r['model']:<28} {r['rating']:>8.1f}  {ci:>17}  {r['votes']:>6}  "
            f"{r.get('status') or '':<12} {r.get('flag') or ''}"
        )
    return "\n".join(lines)


def format_uncertainty(payload: dict[str, Any]) -> str:
    """One line: which unit was resampled and how much wider that is than vote-level."""
    clustering = payload.get("clustering") or {}
    if clustering.get("unit") == "user":
        return (
            f"CIs clustered by user ({clustering['clusters']} users): "
            f"{clustering['width_ratio']:.2f}x as wide as vote-level (sandwich standard errors)"
        )
    return f"CIs treat votes as independent ({clustering.get('reason', 'no user ids')})"


def format_controlled(payload: dict[str, Any]) -> str:
    """Coefficients of the controls and the controlled board beside the raw ranks."""
    controlled = payload["controlled"]
    lines = [
        f"Controlled for {', '.join(controlled['controls'])} ({controlled['votes']} votes; "
        f"{controlled['ci_method']}):",
        f"  {'covariate':<24} {'coef/SD':>8}  {'95% CI':>17}  odds ratio per SD",
    ]
    for c in controlled["coefficients"]:
        ci = f"{c['ci_low']:.3f}..{c['ci_high']:.3f}"
        star = "*" if c["significant"] else " "
        lines.append(
            f"  {c['covariate']:<24} {c['coefficient']:>8.3f}  {ci:>17}{star} {c['odds_ratio_per_sd']:.2f}"
        )
    raw = {r["model"]: r for r in payload["ratings"]}
    rows = [
        {**r, "flag": f"{raw[r['model']]['rating']:.0f} (rank {raw[r['model']]['rank']})"}
        for r in controlled["ratings"]
        if r["model"] in raw
    ]
    lines.append(format_leaderboard({"ratings": rows}, "Controlled leaderboard:", "raw rating"))
    return "\n".join(lines)


@click.command("rank")
@click.option(
    "--by",
    "by",
    metavar="FIELD",
    help="Also rank per slice: category, modality, cluster, language, reason, or a metadata field.",
)
@click.option(
    "--bootstrap",
    "rounds",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap rounds (0: sandwich CIs only).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--ties",
    type=click.Choice(["half", "davidson"]),
    default="half",
    show_default=True,
    help="Ties as half a win, or Davidson's tie model.",
)
@click.option("--anchor", metavar="MODEL=VALUE", help="Put MODEL at VALUE instead of mean 1000.")
@click.option(
    "--min-votes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Leave out models with fewer votes.",
)
@click.option(
    "--per-component",
    is_flag=True,
    help="Rate disconnected groups of models separately instead of failing.",
)
@click.option(
    "--where",
    metavar="EXPR",
    help="Rank only votes matching EXPR over vote fields and metadata, e.g. "
    "\"language == 'en' and time_to_first_token_a < 3\".",
)
@click.option(
    "--control",
    "controls",
    multiple=True,
    metavar="FIELD",
    help="Also fit a board controlled for FIELD (repeatable): X uses the A-minus-B difference "
    "of metadata X_a/X_b (e.g. response_length, time_to_first_token, total_time), or X itself.",
)
@click.option("--length-control", is_flag=True, help="Same as --control response_length.")
@click.option(
    "--cluster",
    type=click.Choice(["auto", "user", "none"]),
    default="auto",
    show_default=True,
    help="Resample users instead of votes (auto: when votes carry user ids).",
)
@click.option("--no-fragility", is_flag=True, help="Skip the search for votes that flip the order.")
@click.option(
    "--exclude-raters",
    type=click.Choice(["failing"]),
    default=None,
    help="failing: leave out raters below 80% on the rater app's attention pairs (says how "
    "many votes that removes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (key `ratings`).")
@click.pass_obj
def rank_command(
    app: AppContext,
    by: str | None,
    rounds: int,
    seed: int,
    ties: str,
    anchor: str | None,
    min_votes: int,
    per_component: bool,
    where: str | None,
    controls: tuple[str, ...],
    length_control: bool,
    cluster: str,
    no_fragility: bool,
    exclude_raters: str | None,
    as_json: bool,
) -> None:
    """Bradley–Terry leaderboard with user-clustered bootstrap and sandwich confidence intervals,
    an optional style/latency-controlled board, the fragility of the order and a status per model."""
    if length_control and "response_length" not in controls:
        controls = (*controls, "response_length")
    options = RankingOptions(
        ties=ties,  # type: ignore[arg-type]
        bootstrap_rounds=rounds,
        seed=seed,
        anchor=parse_anchor(anchor),
        min_votes=min_votes,
        per_component=per_component,
        controls=tuple(dict.fromkeys(controls)),
        cluster=cluster,  # type: ignore[arg-type]
        fragility=not no_fragility,
        progress=not as_json,
    )
    payload = compute_rankings(app, options, by, where, exclude_raters)
    if as_json:
        echo_json(payload)
        return
    click.echo(
        format_leaderboard(
            payload, f"Bradley–Terry leaderboard ({payload['votes']} votes; {payload['ci_method']})"
        )
    )
    click.echo(format_uncertainty(payload))
    for item in payload.get("fragility") or []:
        click.echo(f"fragility: {item['sentence']}")
    click.echo(f"status: {payload['status_rule']}")
    if payload.get("controlled"):
        click.echo("")
        click.echo(format_controlled(payload))
    for s in payload.get("slices", []):
        click.echo("")
        click.echo(format_leaderboard(s, f"{by} = {s['value']} ({s['votes']} votes)"))
    for value, why in payload.get("skipped_slices", {}).items():
        click.echo(f"skipped {by} = {value}: {why}")
    for note in payload["warnings"]:
        click.echo(f"warning: {note}", err=True)


def format_regression(report: RegressionReport) -> str:
    """Plain-text summary of both fits."""
    lines = [
        f"Benchmarks vs preferences: {report.n_votes} votes among {report.n_models} models (ties {report.ties})",
        f"VIF pre-screen (threshold {report.vif_threshold:g}): kept {len(report.benchmarks_used)}, dropped {len(report.vif_dropped)}",
        "",
        f"{'term':<40} {'mixed':>8} {'95% interval':>18}   {'logit':>8} {'95% interval':>18}  p(logit)",
    ]
    for m, lg in zip(report.mixed, report.logit, strict=True):
        star = "*" if m.significant else " "
        lines.append(
            f"{m.term[:40]:<40} {m.estimate:>8.3f} {m.ci_low:>8.3f}..{m.ci_high:<8.3f}{star}  "
            f"{lg.estimate:>8.3f} {lg.ci_low:>8.3f}..{lg.ci_high:<8.3f}  {lg.p_value:.3g}"
        )
    lines += [
        "",
        f"mixed model (Nakagawa): marginal R² {report.r2_marginal:.3f}, conditional R² {report.r2_conditional:.3f} "
        f"(model SD {report.random_effect_sd:.3f}); log loss {report.log_loss_mixed:.3f}",
        f"plain logistic: R² {report.logit_r2_nakagawa:.3f} (latent-scale), McFadden {report.logit_r2_mcfadden:.3f}; "
        f"log loss {report.log_loss_logit:.3f}",
    ]
    if report.pca_explained_variance:
        shares = ", ".join(f"{v:.2f}" for v in report.pca_explained_variance[:4])
        lines.append(f"benchmark matrix PCA, variance explained by PC1..: {shares}")
    cv = report.cross_validation
    if cv:
        lines += [
            "",
            f"leave-one-model-out ({report.n_models} folds, benchmarks {', '.join(cv['benchmarks'])}): "
            f"log loss {cv['log_loss']:.4f} vs {cv['log_loss_null']:.4f} intercept-only "
            f"(predictive R² {cv['r2_votes']:.3f}); held-out model strength R² {cv['r2_strength']:.2f}",
        ]
    perm = report.permutation
    if perm:
        lines.append(
            f"permutation test ({perm['permutations']} {perm['kind']} permutations of benchmark rows "
            f"across models): in-sample R² {perm['r2_observed']:.3f}, p = {perm['p_value']:.2g} "
            f"(median under shuffling {perm['null_median_r2']:.3f})"
        )
    if report.kendall_tau:
        lines += ["", f"{'benchmark':<40} {'Kendall τ':>9}  {'95% CI (vote bootstrap)':>24}  p"]
        for row in report.kendall_tau:
            ci = f"{row['ci_low']:.2f}..{row['ci_high']:.2f}"
            lines.append(
                f"{row['benchmark'][:40]:<40} {row['tau']:>9.2f}  {ci:>24}  {row['p_value']:.2g}"
            )
    if report.selection:
        sel = report.selection
        lines += [
            "",
            f"subset search ({sel['subsets_evaluated']} subsets of up to {sel['max_size']} benchmarks; "
            f"{sel['rule']}):",
            f"  selected: {', '.join(sel['selected'])} (LOMO log loss {sel['selected_log_loss']:.4f}, "
            f"strength R² {sel['selected_r2_strength']:.2f})",
            f"  best: {', '.join(sel['best'])} (LOMO log loss {sel['best_log_loss']:.4f}; "
            f"intercept-only {sel['null_log_loss']:.4f})",
            f"  note: {sel['caveat']}",
        ]
    lines += [f"warning: {w}" for w in report.warnings]
    if report.summary_line:
        lines += ["", report.summary_line]
    return "\n".join(lines)


@click.command("regress")
@click.option(
    "--keep-ties",
    is_flag=True,
    help="Keep ties (as one A-win and one B-win row) instead of dropping them.",
)
@click.option("--vif-threshold", type=float, default=VIF_THRESHOLD, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--select",
    is_flag=True,
    help="Search benchmark subsets for the smallest one with the best leave-one-model-out fit.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as one JSON object.")
@click.pass_obj
def regress_command(
    app: AppContext, keep_ties: bool, vif_threshold: float, seed: int, select: bool, as_json: bool
) -> None:
    """Do static benchmarks predict preferences? Mixed-effects and plain logistic fits, with
    leave-one-model-out cross-validation, a permutation test and Kendall τ per benchmark."""
    report = compute_regression(app, keep_ties, vif_threshold, seed, select)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(format_regression(report))


COMMANDS: list[click.Command] = [rank_command, regress_command]
__all__ = ["COMMANDS", "compute_rankings", "compute_regression", "demo"]
