"""Benchmarks vs preference: does a static benchmark predict what people prefer?
Out-of-sample (leave-one-model-out) figures first, a permutation test, each benchmark against the
arena rating, Kendall τ with bootstrap CIs, then the in-sample mixed-effects coefficients."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from dashboard import loaders, ui
from dashboard.charts import interval_chart, interval_tooltips

P_FORMAT = "%.1e"


def readable_benchmark(name: object) -> str:
    """'SLURP:Intent Detection' -> 'Intent Detection (SLURP)'; other names unchanged."""
    text = str(name)
    dataset, sep, task = text.partition(":")
    if not sep or not task:
        return text.replace("_", " ")
    return f"{task} ({dataset.replace('_', ' ')})"


def scientific(value: object) -> str:
    """p-values for people: 0.017, 0.30, 1, '< 0.001' (the CLI's format)."""
    from ranking.model_inference import format_p

    if value is None or pd.isna(value):
        return "—"
    return format_p(float(value))


MODEL_SHAPES = ["circle", "square", "triangle-up", "diamond", "cross", "triangle-down"]
MODEL_COLOURS = "tableau10"


def scatter_frame(report: dict) -> pd.DataFrame:
    """One row per (benchmark, model) with both a benchmark score and an arena rating."""
    ratings = report.get("arena_ratings") or {}
    scores = report.get("benchmark_scores") or {}
    taus = {row["benchmark"]: row["tau"] for row in report.get("kendall_tau") or []}
    rows = [
        {
            "benchmark": readable_benchmark(bench),
            "tau": taus.get(bench),
            "model": model,
            "score": score,
            "rating": ratings[model],
        }
        for bench, per_model in scores.items()
        for model, score in per_model.items()
        if model in ratings and score is not None
    ]
    return pd.DataFrame(rows, columns=["benchmark", "tau", "model", "score", "rating"])


def benchmark_order(frame: pd.DataFrame) -> list[str]:
    """Benchmarks, the one agreeing best with the arena (highest τ) first."""
    firsts = frame.drop_duplicates("benchmark")
    return firsts.sort_values("tau", ascending=False, na_position="last")["benchmark"].tolist()


def padded(values: pd.Series, share: float = 0.12) -> list[float]:
    """An axis domain with room around the points, so none sits on the plot's edge."""
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * share or max(abs(high) * 0.05, 1.0)
    return [low - pad, high + pad]


def _model_encodings(models: list[str]) -> dict:
    """The same distinct colour and shape per model in every panel."""
    return {
        "color": alt.Color(
            "model:N",
            scale=alt.Scale(domain=models, scheme=MODEL_COLOURS),
            legend=alt.Legend(orient="bottom", columns=4, labelLimit=220, title=None),
        ),
        "shape": alt.Shape(
            "model:N",
            scale=alt.Scale(domain=models, range=MODEL_SHAPES),
            legend=None,
        ),
    }


def scatter_chart(frame: pd.DataFrame, benchmark: str) -> alt.Chart:
    """One benchmark large: each model a labelled point (score against arena rating), padded
    axes, a distinct colour and shape per model."""
    mine = frame[frame["benchmark"] == benchmark]
    models = sorted(frame["model"].unique())
    base = alt.Chart(mine).encode(
        x=alt.X(
            "score:Q", title=f"{benchmark} score", scale=alt.Scale(domain=padded(mine["score"]))
        ),
        y=alt.Y("rating:Q", title="arena rating", scale=alt.Scale(domain=padded(frame["rating"]))),
    )
    points = base.mark_point(size=120, filled=True, opacity=0.9).encode(
        **_model_encodings(models),
        tooltip=[
            "model",
            alt.Tooltip("score:Q", format=".1f"),
            alt.Tooltip("rating:Q", format=".0f"),
        ],
    )
    labels = base.mark_text(align="left", dx=9, dy=-7, fontSize=12, color="#333").encode(
        text="model:N"
    )
    return (points + labels).properties(height=360, width=720)


def small_multiples(frame: pd.DataFrame, others: list[str]) -> alt.Chart:
    """The other benchmarks as small panels (same colours and shapes; hover names a point)."""
    models = sorted(frame["model"].unique())
    shown = frame[frame["benchmark"].isin(others)]
    points = (
        alt.Chart(shown)
        .mark_point(size=45, filled=True)
        .encode(
            x=alt.X("score:Q", title=None, scale=alt.Scale(zero=False, nice=True, padding=8)),
            y=alt.Y("rating:Q", title=None, scale=alt.Scale(zero=False, padding=8)),
            **_model_encodings(models),
            tooltip=["model", "benchmark", alt.Tooltip("score:Q", format=".1f")],
        )
    )
    return (
        points.properties(width=160, height=110)
        .facet(
            facet=alt.Facet(
                "benchmark:N", sort=others, title=None, header=alt.Header(labelLimit=200)
            ),
            columns=4,
        )
        .resolve_scale(x="independent")
    )


def benchmark_scatter(summary: dict) -> None:
    """The benchmark the user picks, large and labelled; the rest as small multiples."""
    frame = scatter_frame(summary)
    if frame.empty:
        st.info("No benchmark covers the ranked models.")
        return
    order = benchmark_order(frame)
    chosen = st.selectbox(
        "Benchmark",
        order,
        key="benchmarks_scatter",
        help="Ordered by Kendall τ with the arena's ranking, best agreement first.",
    )
    st.altair_chart(scatter_chart(frame, chosen), width="content")
    others = [b for b in order if b != chosen]
    if others:
        ui.say(
            "caption",
            "The other {}, same colours and shapes (hover a point for its model):",
            display.plural(len(others), "benchmark"),
        )
        st.altair_chart(small_multiples(frame, others), width="content")


def kendall_chart(taus: pd.DataFrame) -> alt.Chart:
    """Kendall τ between each benchmark's model ranking and the arena's, with bootstrap CIs."""
    return interval_chart(
        taus,
        label="benchmark",
        estimate="tau",
        x_title="Kendall τ vs arena rating (95% interval resampling models, when enough)",
        order=alt.EncodingSortField("tau", order="descending"),
        x_scale=alt.Scale(domain=[-1, 1]),
        point_colour=alt.condition(alt.datum.tau > 0, alt.value("#4c78a8"), alt.value("#e45756")),
        tooltip=["benchmark", alt.Tooltip("tau:Q", format=".2f"), "p"],
        step=22,
        point_size=70,
        rule={"strokeWidth": 2, "color": "gray"},
    )


def coefficient_chart(terms: pd.DataFrame) -> alt.Chart:
    """Each benchmark's fixed effect with its 95% interval, for both fits side by side."""
    order = (
        list(terms[terms["fit"] == "mixed"].sort_values("estimate", ascending=False)["term"])
        or None
    )
    return interval_chart(
        terms,
        label="term",
        estimate="estimate",
        x_title="coefficient (log-odds per SD of score difference), 95% interval",
        order=order,
        colour=alt.Color("fit:N", legend=alt.Legend(orient="bottom", title="fit")),
        offset="fit:N",
        tooltip=["term", "fit", *interval_tooltips("estimate", ".3f")],
        point_size=60,
        rule={"strokeWidth": 2},
        reference=0.0,
    )


def out_of_sample(summary: dict) -> None:
    """The takeaway, the leave-one-model-out figures and the permutation test."""
    line = summary.get("summary_line")
    if line:
        ui.show("info", ui.with_code(line))
    if summary.get("caveat"):
        ui.show("caption", ui.with_code(summary["caveat"]))
    cv = summary.get("cross_validation") or {}
    perm = summary.get("permutation") or {}
    a, b, c, d = st.columns(4)
    a.metric(
        "Held-out strength R²",
        _number(cv.get("r2_strength")),
        help=ui.safe(display.statistic_help("r2_strength")),
    )
    b.metric(
        "Predictive R² (votes)",
        _number(cv.get("r2_votes"), ".3f"),
        help=ui.safe(display.statistic_help("r2_votes")),
    )
    c.metric(
        "Permutation p-value",
        display.readable_p(perm.get("p_value")),
        help=ui.safe(display.statistic_help("p_value")),
    )
    d.metric("Models", f"{int(summary.get('n_models', 0)):,}")
    if cv:
        ui.say(
            "caption",
            "Leave-one-model-out: the logit on benchmark differences is fitted without each "
            "model in turn and predicts that model's battles. Log loss {:.4f} against {:.4f} for "
            "position alone; held-out strength R² compares each model's predicted strength with "
            "its arena strength (negative: worse than guessing the average). Benchmarks used: {}.",
            cv["log_loss"],
            cv["log_loss_null"],
            ", ".join(readable_benchmark(b) for b in cv.get("benchmarks", [])),
        )
    if perm:
        ui.say(
            "caption",
            "Permutation test: benchmark rows shuffled across models ({} permutations, {}); "
            "in-sample R² {:.3f} against a median of {:.3f} when the labels mean nothing.",
            perm["permutations"],
            "all there are" if perm["kind"] == "all" else "drawn at random",
            perm["r2_observed"],
            perm["null_median_r2"],
        )


def selection(summary: dict) -> None:
    chosen = summary.get("selection")
    if not chosen:
        st.caption(
            "Which benchmarks would predict preference? Run `arenalens regress --select` to "
            "search benchmark subsets by leave-one-model-out fit."
        )
        return
    st.subheader("Smallest benchmark subset with the best out-of-sample fit")
    st.text(
        "Selected: " + ", ".join(readable_benchmark(b) for b in chosen["selected"])
        + f" (log loss {chosen['selected_log_loss']:.4f}; strength R² "
        f"{chosen['selected_r2_strength']:.2f})"
    )  # fmt: skip
    top = pd.DataFrame(chosen.get("top") or [])
    if len(top):
        top = pd.DataFrame(
            {
                "benchmarks": top["benchmarks"].map(
                    lambda names: " + ".join(readable_benchmark(b) for b in names)
                ),
                "LOMO log loss": top["log_loss"],
                "strength R²": top["r2_strength"],
            }
        )
        ui.dataframe(
            top,
            width="stretch",
            column_config={
                "benchmarks": st.column_config.TextColumn(width="large"),
                "LOMO log loss": st.column_config.NumberColumn(format="%.4f", width="small"),
                "strength R²": st.column_config.NumberColumn(format="%.2f", width="small"),
            },
        )
    ui.say("caption", "{}; {}.", chosen["rule"], chosen["caveat"])


def render() -> None:
    st.title("Benchmarks vs preference")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        status = loaders.workspace.status(app)
        runs = loaders.workspace.latest_runs(app, "regression")
        if status["votes"] == 0 or status["benchmark_scores"] == 0 or runs.empty:
            ui.show("info", loaders.workspace.step_message(app, "Benchmarks vs preference"))
            return
        run = runs.iloc[0]
        summary = run["summary"] or {}
        out_of_sample(summary)
        for warning in summary.get("warnings") or []:
            ui.show("warning", ui.with_code(warning))
        st.subheader("Each benchmark against the arena rating")
        benchmark_scatter(summary)
        st.subheader("Kendall τ per benchmark")
        # older runs lack the model-level columns (adjusted p, verdict): show them empty
        taus = pd.DataFrame(summary.get("kendall_tau") or []).reindex(
            columns=[
                "benchmark",
                "tau",
                "ci_low",
                "ci_high",
                "p_value",
                "p_adjusted",
                "held_out_r2",
                "significant",
                "models",
            ]
        )
        if not taus.empty:
            taus["benchmark"] = taus["benchmark"].map(readable_benchmark)
            taus["p"] = taus["p_value"].map(scientific)
            taus["adjusted p"] = taus["p_adjusted"].map(scientific)
            taus["predicts preference"] = taus["significant"].map(
                lambda v: "yes" if v is True else ("no" if v is False else "—")
            )
            taus = taus.rename(columns={"tau": "Kendall τ", "held_out_r2": "held-out R²"})
            taus = taus.assign(tau=taus["Kendall τ"])
            st.altair_chart(kendall_chart(taus), width="stretch")
        selection(summary)
        in_sample(app, run, summary)
        if taus.empty:
            st.info("No benchmark covers enough of the ranked models for a Kendall τ.")
        else:
            min_models = int(summary.get("min_models", 8))
            interval = [
                f"{low:.2f} to {high:.2f}"
                if pd.notna(low) and pd.notna(high)
                else f"needs {min_models}+ models"
                for low, high in zip(taus["ci_low"], taus["ci_high"], strict=True)
            ]
            # every character is read: a wrapping table, not a grid that clips names
            ui.table(
                pd.DataFrame(
                    {
                        "benchmark": taus["benchmark"],
                        "Kendall τ": taus["Kendall τ"].map(_number),
                        "p": taus["p"],
                        "adjusted p": taus["adjusted p"],
                        "held-out R²": taus["held-out R²"].map(_number),
                        "95% interval of τ": interval,
                        "predicts preference": taus["predicts preference"],
                        "models": taus["models"].map(lambda v: "—" if pd.isna(v) else str(int(v))),
                    }
                )
            )
            ui.say(
                "caption",
                "p: share of the orders of the {} models with as strong a rank correlation; "
                "adjusted for the {} benchmarks tested. Intervals resample models and need at "
                "least {} of them.",
                int(summary.get("n_models", 0)),
                len(taus),
                int(summary.get("min_models", 8)),
            )


def in_sample(app, run: pd.Series, summary: dict) -> None:
    """The mixed-effects and plain logistic fits on all models (in-sample)."""
    st.subheader("In-sample fits")
    a, b, c = st.columns(3)
    a.metric("Marginal R²", _number(summary.get("r2_marginal")))
    b.metric("Conditional R²", _number(summary.get("r2_conditional")))
    c.metric("Votes", f"{int(summary.get('n_votes', 0)):,}")
    ui.say(
        "caption",
        "Run {}: mixed-effects logistic regression (random effect per model, +1 for A, −1 for "
        "B; ties {}). Marginal R² = variance explained by the benchmarks; conditional adds "
        "model identity (Nakagawa & Schielzeth). Plain logistic fit: latent-scale R² {}, "
        "McFadden {}. With a handful of models a few benchmarks can fit them exactly: read "
        "these beside the out-of-sample figures above.",
        int(run["id"]),
        summary.get("ties", "dropped"),
        _number(summary.get("logit_r2_nakagawa")),
        _number(summary.get("logit_r2_mcfadden")),
    )
    sentence = (summary.get("random_effect") or {}).get("sentence")
    if sentence:
        ui.show("caption", sentence)
    st.caption(
        "Vote-level fits, as descriptions: their per-vote p-values would count every vote as "
        "independent evidence about a handful of models, so none is shown."
    )
    terms = loaders.ranking.regression_terms(app, int(run["id"]))
    if terms.empty:
        st.info("This run stored no coefficients.")
    else:
        terms = terms.assign(term=terms["term"].map(readable_benchmark))
        st.altair_chart(coefficient_chart(terms), width="stretch")
        ui.dataframe(
            terms[["fit", "term", "estimate", "ci_low", "ci_high"]],
            width="stretch",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("estimate", "ci_low", "ci_high")
            },
        )
    dropped = summary.get("vif_dropped") or {}
    if dropped:
        ui.say(
            "caption",
            "Left out of the fits as collinear with the others (variance inflation above {:g}; "
            "∞ = an exact linear combination):",
            summary.get("vif_threshold", 10),
        )
        ui.dataframe(
            pd.DataFrame(
                {
                    "benchmark": [readable_benchmark(n) for n in dropped],
                    "VIF": [_vif(v) for v in dropped.values()],
                }
            ),
            width="stretch",
        )
    pca = summary.get("pca_explained_variance") or []
    if pca:
        ui.say(
            "caption",
            "Benchmark matrix PCA, share of variance per component: {}",
            ", ".join(f"PC{i + 1} {v:.0%}" for i, v in enumerate(pca[:5])),
        )


def _vif(value: object) -> str:
    """A VIF for display; the regression stores an infinite VIF (perfect collinearity) as null."""
    if value is None or pd.isna(value) or value == float("inf"):
        return "∞"
    return f"{float(value):.0f}"


def _number(value: object, spec: str = ".2f") -> str:
    return "—" if value is None or pd.isna(value) else format(float(value), spec)


render()
