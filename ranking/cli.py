"""`arenalens rank` and `arenalens regress`: leaderboards and benchmarks-vs-preferences."""

from __future__ import annotations

import math
from typing import Any

import click
import pandas as pd

from arenalens.cli_output import echo_json, text_table
from arenalens.context import AppContext
from arenalens.display import benchmark_label, display_name, display_names, display_value, plural
from ranking.evidence import EvidenceRule, leader_headline, listed_apart
from ranking.leaderboard import RankingOptions
from ranking.model_inference import (
    DEFAULT_EFFECT,
    EXACT_PERMUTATION_MODELS,
    MIN_MODELS,
    MONTE_CARLO_PERMUTATIONS,
    format_p,
)
from ranking.pipeline import SPEECH_CONTROLS, compute_rankings, compute_regression, demo
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


def format_leaderboard(board: dict[str, Any], title: str = "", last: str | None = None) -> str:
    """Plain-text leaderboard table (`last`: the heading of an extra last column, the rows'
    `flag`); models below the evidence rule (rank 0) are listed apart with their votes."""
    lines = [title] if title else []
    apart = [r for r in board["ratings"] if r["rank"] == 0]
    rows = [
        {
            "rank": r["rank"],
            "model": r["model"],
            "rating": r["rating"],
            "95% CI": f"{r['ci_low']:.0f} to {r['ci_high']:.0f}",
            "votes": r["votes"],
            "status": r.get("status"),
            **({last: r.get("flag")} if last else {}),
        }
        for r in board["ratings"]
        if r["rank"] != 0
    ]
    if rows:
        lines.append(text_table(pd.DataFrame(rows), digits={"rating": 1}))
    if apart:
        lines.append(
            f"Too few votes to rank: {listed_apart([r['model'] for r in apart], [r['votes'] for r in apart])}"
        )
    return "\n".join(lines)


#: slices whose values are stored codes (shown in words); other values are shown as given
CODED_SLICES = frozenset({"category", "modality", "reason", "output_modality"})


def slice_title(by: str, value: object, votes: int | None = None) -> str:
    """'Category: Task execution (233 votes)': a slice named in words."""
    shown = display_value(by, value) if by in CODED_SLICES else str(value)
    count = f" ({plural(votes, 'vote')})" if votes is not None else ""
    return f"{display_name(by)}: {shown}{count}"


def format_headline(payload: dict[str, Any]) -> str:
    """Who leads, under the evidence rule."""
    ranked = [r for r in payload["ratings"] if r["rank"] > 0]
    if not ranked:
        return "No model has enough votes to be ranked: " + (payload.get("evidence_rule") or "")
    return leader_headline(ranked)


def format_uncertainty(payload: dict[str, Any]) -> str:
    """One line: which unit was resampled and how much wider that is than vote-level."""
    clustering = payload.get("clustering") or {}
    if clustering.get("unit") == "user" and clustering.get("width_ratio") is None:
        return f"CIs clustered by user ({clustering['clusters']} users)"
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
        f"Controlled for {display_names(controlled['controls'])} "
        f"({plural(controlled['votes'], 'vote')}; {controlled['ci_method']}):",
    ]
    coefficients = pd.DataFrame(
        [
            {
                "covariate": display_name(c["covariate"]),
                "coefficient": c["coefficient"],
                "95% CI": f"{c['ci_low']:.3f} to {c['ci_high']:.3f}",
                "odds_ratio_per_sd": c["odds_ratio_per_sd"],
                "significant": bool(c["significant"]),
            }
            for c in controlled["coefficients"]
        ]
    )
    lines.append(
        text_table(
            coefficients,
            digits={"odds_ratio_per_sd": 2},
            headings={"coefficient": "log-odds per SD", "significant": "interval excludes 0"},
        )
    )
    for c in controlled["coefficients"]:
        if c.get("caution"):
            lines.append(f"caution: {display_name(c['covariate'])} {c['caution']}")
    raw = {r["model"]: r for r in payload["ratings"]}
    rows = [
        {**r, "flag": f"{raw[r['model']]['rating']:.0f} (rank {raw[r['model']]['rank']})"}
        for r in controlled["ratings"]
        if r["model"] in raw
    ]
    lines.append(
        format_leaderboard(
            {"ratings": rows},
            "Controlled leaderboard, sorted by controlled rating (rank: 1 + models whose interval "
            "lies entirely above):",
            "raw rating",
        )
    )
    return "\n".join(lines)


@click.command("rank")
@click.option(
    "--by",
    "by",
    metavar="FIELD",
    help="Also rank per slice: category, modality, cluster, language, reason, output_modality "
    "(text or spoken answers; prints how alike the two boards order the models), turn_depth, "
    "or a metadata field.",
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
    "of metadata X_a/X_b (e.g. response_length, time_to_first_token, total_time), or X itself; "
    "response_length falls back to the length of the stored responses. Up to 2,000 models.",
)
@click.option("--length-control", is_flag=True, help="Same as --control response_length.")
@click.option(
    "--speech-control",
    is_flag=True,
    help="Also control for how the answers sound: answer_duration_s, speaking_rate_wps and "
    "time_to_first_audio_s (votes on spoken answers only; measured from response audio, else "
    "the record's own fields).",
)
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
    speech_control: bool,
    cluster: str,
    no_fragility: bool,
    exclude_raters: str | None,
    as_json: bool,
) -> None:
    """Bradley–Terry leaderboard with user-clustered bootstrap and sandwich confidence intervals,
    an optional style/latency-controlled board, the fragility of the order and a status per model.
    Models below the evidence rule (settings board_min_votes, board_max_ci_width) are listed apart
    as 'too few votes' and never named leader."""
    if length_control and "response_length" not in controls:
        controls = (*controls, "response_length")
    if speech_control:
        controls = (*controls, *SPEECH_CONTROLS)
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
        evidence=EvidenceRule.from_settings(app.settings),
    )
    payload = compute_rankings(app, options, by, where, exclude_raters)
    if as_json:
        echo_json(payload)
        return
    click.echo(
        format_leaderboard(
            payload,
            f"Bradley–Terry leaderboard ({plural(payload['votes'], 'vote')}; "
            f"{payload['ci_method']})",
        )
    )
    click.echo(format_headline(payload))
    click.echo(format_uncertainty(payload))
    for item in payload.get("fragility") or []:
        click.echo(f"fragility: {item['sentence']}")
    click.echo(f"status: {payload['status_rule']}")
    if payload.get("evidence_rule"):
        click.echo(f"main board: {payload['evidence_rule']}")
    if payload.get("controlled"):
        click.echo("")
        click.echo(format_controlled(payload))
    for s in payload.get("slices", []):
        click.echo("")
        click.echo(format_leaderboard(s, slice_title(by or "", s["value"], s["votes"])))
    for value, why in payload.get("skipped_slices", {}).items():
        click.echo(f"skipped {slice_title(by or '', value)}: {why}")
    if payload.get("board_agreement"):
        click.echo("")
        click.echo(payload["board_agreement"]["sentence"])
    for note in payload["warnings"]:
        click.echo(f"warning: {note}", err=True)


def _permutation_words(n_models: int) -> str:
    exact = math.factorial(n_models)
    if n_models <= EXACT_PERMUTATION_MODELS:
        return f"all {exact:,} orders of the {n_models} models"
    return f"{MONTE_CARLO_PERMUTATIONS:,} random orders of the {n_models} models"


def format_regression(report: RegressionReport, vote_level: bool = False) -> str:
    """The held-out figure in one sentence, the caveat about the number of models, the
    model-level table; the vote-level fits only when asked (`vote_level`)."""
    method = "Holm" if report.correction == "holm" else "Benjamini–Hochberg"
    tests = report.kendall_tau
    lines = [report.summary_line, "", report.caveat, ""]
    lines.append(
        f"Each benchmark against the arena ratings ({report.n_models} models, "
        f"{report.n_votes} decisive votes). p: share of {_permutation_words(report.n_models)} "
        f"with as strong a rank correlation; adjusted: {method}'s correction for "
        f"{len(tests)} benchmarks. Held-out R²: the benchmark alone, fitted without the model "
        "it predicts."
    )
    width = max([len("benchmark")] + [len(benchmark_label(t["benchmark"])) for t in tests])
    width = min(width, 44)
    lines.append(
        f"{'benchmark':<{width}}  {'Kendall τ':>9}  {'p':>7}  {'adjusted p':>10}  "
        f"{'held-out R²':>11}  {'95% interval of τ':<22} predicts preference"
    )
    for t in tests:
        if t["ci_low"] is None:
            interval = f"needs {report.min_models}+ models"
        else:
            interval = f"{t['ci_low']:.2f} to {t['ci_high']:.2f} (models resampled)"
        held = t.get("held_out_r2")
        held_text = "" if held is None or not math.isfinite(held) else f"{held:.2f}"
        lines.append(
            f"{benchmark_label(t['benchmark'])[:width]:<{width}}  {t['tau']:>9.2f}  "
            f"{format_p(t['p_value']):>7}  {format_p(t['p_adjusted']):>10}  {held_text:>11}  "
            f"{interval:<22} {'yes' if t['significant'] else 'no'}"
        )
    cv, perm = report.cross_validation, report.permutation
    if cv and perm:
        kept = ", ".join(benchmark_label(b) for b in cv["benchmarks"])
        lines += [
            "",
            f"Together ({len(cv['benchmarks'])} benchmarks left after the collinearity screen: "
            f"{kept}): held-out R² {cv['r2_strength']:.2f}; in sample they fit the votes "
            f"{'no better' if perm['p_value'] > report.alpha else 'better'} than the same "
            f"scores shuffled across models (p = {format_p(perm['p_value'])}, "
            f"{_permutation_words(report.n_models)}).",
        ]
    if report.random_effect.get("sentence"):
        lines.append(report.random_effect["sentence"])
    if vote_level:
        lines += ["", *_vote_level_lines(report)]
    else:
        lines.append(
            f"Not shown: per-vote p-values of the logistic fits, which count {report.n_votes} "
            f"votes as independent evidence about {report.n_models} models (--vote-level "
            "prints the fits as descriptions)."
        )
    if report.selection:
        sel = report.selection
        lines += [
            "",
            f"Subset search ({sel['subsets_evaluated']} subsets of up to {sel['max_size']} "
            f"benchmarks; {sel['rule']}):",
            f"  selected: {', '.join(benchmark_label(b) for b in sel['selected'])} (held-out log "
            f"loss {sel['selected_log_loss']:.4f}, held-out R² {sel['selected_r2_strength']:.2f})",
            f"  best: {', '.join(benchmark_label(b) for b in sel['best'])} (held-out log loss "
            f"{sel['best_log_loss']:.4f}; without benchmarks {sel['null_log_loss']:.4f})",
            f"  note: {sel['caveat']}",
        ]
    lines += [f"note: {w}" for w in report.warnings]
    return "\n".join(lines)


def _vote_level_lines(report: RegressionReport) -> list[str]:
    """The mixed-effects and plain logistic coefficients, as descriptions (no stars)."""
    lines = [
        f"Vote-level fits (descriptive; ties {report.ties}; {len(report.benchmarks_used)} of "
        f"{len(report.benchmarks_considered)} benchmarks kept below variance inflation "
        f"{report.vif_threshold:g}), logit scale per standard deviation of the benchmark:",
        f"{'term':<44} {'mixed':>7} {'95% interval':>16}   {'logistic':>8} {'95% interval':>16}",
    ]
    for m, lg in zip(report.mixed, report.logit, strict=True):
        lines.append(
            f"{benchmark_label(m.term)[:44]:<44} {m.estimate:>7.2f} "
            f"{m.ci_low:>7.2f} to {m.ci_high:<5.2f}   {lg.estimate:>8.2f} "
            f"{lg.ci_low:>7.2f} to {lg.ci_high:<5.2f}"
        )
    lines.append(
        f"In sample: benchmarks account for {report.r2_marginal:.0%} of the latent variance "
        f"(mixed model, Nakagawa); plain logistic {report.logit_r2_nakagawa:.0%}, "
        f"McFadden {report.logit_r2_mcfadden:.2f}."
    )
    return lines


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
@click.option(
    "--min-models",
    type=click.IntRange(min=3),
    default=MIN_MODELS,
    show_default=True,
    help="Below this many models, no benchmark is declared to predict preference.",
)
@click.option(
    "--correction",
    type=click.Choice(["holm", "bh"]),
    default="holm",
    show_default=True,
    help="Across benchmarks: Holm (family-wise error) or Benjamini–Hochberg (false discoveries).",
)
@click.option(
    "--effect",
    type=click.FloatRange(0.05, 0.95),
    default=DEFAULT_EFFECT,
    show_default=True,
    help="Correlation with model strength for the 'models needed' figure.",
)
@click.option(
    "--vote-level", is_flag=True, help="Also print the vote-level fits' coefficients (descriptive)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the full report as one JSON object.")
@click.pass_obj
def regress_command(
    app: AppContext,
    keep_ties: bool,
    vif_threshold: float,
    seed: int,
    select: bool,
    min_models: int,
    correction: str,
    effect: float,
    vote_level: bool,
    as_json: bool,
) -> None:
    """Do static benchmarks predict preferences? Per benchmark, Kendall τ with a permutation
    test over models (corrected across benchmarks) and leave-one-model-out prediction; how many
    models a clear answer would take; the vote-level fits as descriptions."""
    report = compute_regression(
        app, keep_ties, vif_threshold, seed, select, min_models, correction, effect
    )
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(format_regression(report, vote_level))


COMMANDS: list[click.Command] = [rank_command, regress_command]
__all__ = ["COMMANDS", "compute_rankings", "compute_regression", "demo"]
