"""`arenalens rank` and `arenalens regress`: leaderboards and benchmarks-vs-preferences."""

from __future__ import annotations

from typing import Any

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from ranking import persist
from ranking.bradley_terry import winner_scores
from ranking.errors import RankingError
from ranking.leaderboard import RankingOptions, rank_votes
from ranking.regression import VIF_THRESHOLD, RegressionReport, regress_preferences
from ranking.slices import rank_slices


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


def compute_rankings(
    app: AppContext, options: RankingOptions, by: str | None = None
) -> dict[str, Any]:
    """Rank the workspace's votes (overall and per slice), store the run, return the JSON payload."""
    store = app.store
    votes = persist.votes_for_ranking(store)
    if options.length_control:
        votes = persist.with_lengths(store, votes)
    lengths = {}
    if options.length_control:
        lengths = {
            "length_a": votes["length_a"].to_numpy(),
            "length_b": votes["length_b"].to_numpy(),
        }
    slices = None
    if by:
        votes = votes.assign(slice=persist.slice_column(store, votes, by))
    config = {**options.__dict__, "by": by}
    with store.run(persist.STAGE, config) as run:
        board = rank_votes(
            votes["model_a"].to_numpy(),
            votes["model_b"].to_numpy(),
            winner_scores(votes["winner"]),
            options,
            **lengths,
        )
        persist.save_leaderboard(store, run.id, board)
        if by:
            slices = rank_slices(votes, by, options)
            for value, slice_board in slices.boards.items():
                persist.save_leaderboard(store, run.id, slice_board, by, value)
        top = board.ratings[0] if board.ratings else None
        run.summary.update(
            {
                "votes": board.n_votes,
                "models": len(board.ratings),
                "top": top.model if top else None,
                "slices": len(slices.boards) if slices else 0,
                "warnings": board.warnings,
            }
        )
    payload = {"run_id": run.id, **board.to_dict()}
    if slices is not None:
        payload["by"] = by
        payload["slices"] = slices.to_dict()["slices"]
        payload["skipped_slices"] = slices.skipped
    return payload


def format_leaderboard(board: dict[str, Any], title: str = "") -> str:
    """Plain-text leaderboard table."""
    lines = [title] if title else []
    lines.append(f"{'rank':>4}  {'model':<28} {'rating':>8}  {'95% CI':>17}  {'votes':>6}  flag")
    for r in board["ratings"]:
        ci = f"{r['ci_low']:.0f}..{r['ci_high']:.0f}"
        lines.append(
            f"{r['rank']:>4}  {r['model']:<28} {r['rating']:>8.1f}  {ci:>17}  {r['votes']:>6}  {r.get('flag') or ''}"
        )
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
    "--length-control", is_flag=True, help="Control for response-length difference (A - B)."
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
    length_control: bool,
    as_json: bool,
) -> None:
    """Bradley–Terry leaderboard with bootstrap and sandwich confidence intervals."""
    options = RankingOptions(
        ties=ties,  # type: ignore[arg-type]
        bootstrap_rounds=rounds,
        seed=seed,
        anchor=parse_anchor(anchor),
        min_votes=min_votes,
        per_component=per_component,
        length_control=length_control,
        progress=not as_json,
    )
    payload = compute_rankings(app, options, by)
    if as_json:
        echo_json(payload)
        return
    click.echo(
        format_leaderboard(
            payload, f"Bradley–Terry leaderboard ({payload['votes']} votes; {payload['ci_method']})"
        )
    )
    if payload.get("length_control"):
        lc = payload["length_control"]
        click.echo(
            f"length coefficient: {lc['coefficient']:.3f} per SD (odds ratio {lc['odds_ratio_per_sd']:.2f})"
        )
    for s in payload.get("slices", []):
        click.echo("")
        click.echo(format_leaderboard(s, f"{by} = {s['value']} ({s['votes']} votes)"))
    for value, why in payload.get("skipped_slices", {}).items():
        click.echo(f"skipped {by} = {value}: {why}")
    for note in payload["warnings"]:
        click.echo(f"warning: {note}", err=True)


def compute_regression(
    app: AppContext, keep_ties: bool = False, vif_threshold: float = VIF_THRESHOLD, seed: int = 0
) -> RegressionReport:
    """Run the benchmarks-vs-preferences regression on the workspace and store it."""
    store = app.store
    votes = persist.votes_for_ranking(store)
    scores = store.benchmark_frame()
    if scores.empty:
        raise RankingError(
            "no benchmark scores: load some with `arenalens benchmarks ingest FILE.csv`"
        )
    board = rank_votes(
        votes["model_a"].to_numpy(),
        votes["model_b"].to_numpy(),
        winner_scores(votes["winner"]),
        RankingOptions(bootstrap_rounds=0, per_component=True),
    )
    ratings = {r.model: r.rating for r in board.ratings}
    config = {"keep_ties": keep_ties, "vif_threshold": vif_threshold, "seed": seed}
    with store.run(persist.REGRESSION_STAGE, config) as run:
        report = regress_preferences(
            votes, scores, ratings, keep_ties=keep_ties, vif_threshold=vif_threshold, seed=seed
        )
        persist.save_regression(store, run.id, report)
        summary = report.to_dict()
        summary.pop("mixed")
        summary.pop("logit")
        run.summary.update(summary)
    return report


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
    if report.kendall_tau:
        best = report.kendall_tau[0]
        lines.append(
            f"Kendall tau vs Bradley–Terry: best {best['benchmark']} ({best['tau']:.2f}); {len(report.kendall_tau)} benchmarks"
        )
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


@click.command("regress")
@click.option(
    "--keep-ties",
    is_flag=True,
    help="Keep ties (as one A-win and one B-win row) instead of dropping them.",
)
@click.option("--vif-threshold", type=float, default=VIF_THRESHOLD, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as one JSON object.")
@click.pass_obj
def regress_command(
    app: AppContext, keep_ties: bool, vif_threshold: float, seed: int, as_json: bool
) -> None:
    """Mixed-effects logistic regression of votes on benchmark score differences."""
    report = compute_regression(app, keep_ties, vif_threshold, seed)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(format_regression(report))


COMMANDS: list[click.Command] = [rank_command, regress_command]


def demo(app: AppContext) -> str:
    """Rank the demo workspace and regress its votes on its benchmark scores."""
    options = RankingOptions(bootstrap_rounds=1000, seed=app.settings.seed)
    # per-category leaderboards when the taxonomy has run (it runs before ranking in the demo)
    by = "category" if app.store.latest_run("taxonomy") else None
    payload = compute_rankings(app, options, by=by)
    top = payload["ratings"][0]
    line = f"ranking: {len(payload['ratings'])} models from {payload['votes']} votes, top {top['model']} ({top['rating']:.0f})"
    if by:
        line += f", {len(payload.get('slices') or [])} per-category leaderboards"
    try:
        report = compute_regression(app, seed=app.settings.seed)
    except RankingError as exc:
        return f"{line}; regression skipped: {exc}"
    return f"{line}; benchmarks vs preferences: marginal R² {report.r2_marginal:.2f}, conditional {report.r2_conditional:.2f}"
