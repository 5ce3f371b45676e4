"""Benchmarks vs preference: does a static benchmark predict what people prefer?
Mixed-effects coefficients with intervals, marginal/conditional R², Kendall τ per benchmark."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import data, ui


def coefficient_chart(terms: pd.DataFrame) -> alt.Chart:
    """Each benchmark's fixed effect with its 95% interval, for both fits side by side."""
    order = (
        list(terms[terms["fit"] == "mixed"].sort_values("estimate", ascending=False)["term"])
        or None
    )
    base = alt.Chart(terms).encode(
        y=alt.Y("term:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        yOffset="fit:N",
        color=alt.Color("fit:N", legend=alt.Legend(orient="bottom", title="fit")),
    )
    bars = base.mark_rule(strokeWidth=2).encode(
        x=alt.X(
            "ci_low:Q", title="coefficient (log-odds per SD of score difference), 95% interval"
        ),
        x2="ci_high:Q",
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="estimate:Q",
        shape=alt.Shape("significant:N", legend=alt.Legend(orient="bottom")),
        tooltip=[
            "term",
            "fit",
            alt.Tooltip("estimate:Q", format=".3f"),
            alt.Tooltip("ci_low:Q", format=".3f"),
            alt.Tooltip("ci_high:Q", format=".3f"),
            alt.Tooltip("p_value:Q", format=".3g"),
            "significant",
        ],
    )
    zero = (
        alt.Chart(pd.DataFrame({"x": [0.0]}))
        .mark_rule(strokeDash=[4, 4], color="gray")
        .encode(x="x:Q")
    )
    return (zero + bars + points).properties(height=alt.Step(26))


def kendall_chart(taus: pd.DataFrame) -> alt.Chart:
    """Kendall τ between each benchmark's model ranking and the Bradley–Terry ranking."""
    return (
        alt.Chart(taus)
        .mark_bar()
        .encode(
            y=alt.Y("benchmark:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("tau:Q", title="Kendall τ vs Bradley–Terry", scale=alt.Scale(domain=[-1, 1])),
            color=alt.condition(alt.datum.tau > 0, alt.value("#4c78a8"), alt.value("#e45756")),
            tooltip=list(taus.columns),
        )
        .properties(height=alt.Step(20))
    )


def render() -> None:
    st.title("Benchmarks vs preference")
    app = data.app_context()
    with ui.error_boundary():
        if data.stage_module("ranking") is None:
            ui.stage_not_installed("ranking")
            return
        status = data.status(app)
        if status["votes"] == 0 or status["benchmark_scores"] == 0:
            st.info(
                "This needs votes and benchmark scores: `arenalens ingest FILE` and "
                "`arenalens benchmarks ingest SCORES.csv` (or `arenalens demo`)."
            )
            return
        runs = data.latest_runs(app, "regression")
        if runs.empty:
            ui.stage_missing("The benchmarks-vs-preference regression", "arenalens regress")
            return
        run = runs.iloc[0]
        summary = run["summary"] or {}
        a, b, c, d = st.columns(4)
        a.metric("Marginal R²", _number(summary.get("r2_marginal")))
        b.metric("Conditional R²", _number(summary.get("r2_conditional")))
        c.metric("Votes", f"{int(summary.get('n_votes', 0)):,}")
        d.metric("Models", f"{int(summary.get('n_models', 0)):,}")
        ui.say(
            "caption",
            "Run {}: mixed-effects logistic regression (random effect per model, +1 for A, −1 "
            "for B; ties {}). Marginal R² = variance explained by the benchmarks; conditional "
            "adds model identity (Nakagawa & Schielzeth). Plain logistic fit: latent-scale R² "
            "{}, McFadden {}.",
            int(run["id"]),
            summary.get("ties", "dropped"),
            _number(summary.get("logit_r2_nakagawa")),
            _number(summary.get("logit_r2_mcfadden")),
        )
        for warning in summary.get("warnings") or []:
            ui.show("warning", warning)
        st.subheader("Coefficients")
        terms = data.regression_terms(app, int(run["id"]))
        if terms.empty:
            st.info("This run stored no coefficients.")
        else:
            st.altair_chart(coefficient_chart(terms), width="stretch")
            ui.dataframe(
                terms.drop(columns=["id", "run_id", "details"], errors="ignore"), width="stretch"
            )
        dropped = summary.get("vif_dropped") or {}
        if dropped:
            ui.say(
                "caption",
                "Left out as collinear (VIF above the threshold): {}",
                ", ".join(f"{name} (VIF {_vif(vif)})" for name, vif in dropped.items()),
            )
        st.subheader("Kendall τ per benchmark")
        taus = pd.DataFrame(summary.get("kendall_tau") or [])
        if taus.empty:
            st.info("No benchmark covers enough of the ranked models for a Kendall τ.")
        else:
            st.altair_chart(kendall_chart(taus), width="stretch")
            ui.dataframe(taus, width="stretch")
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


def _number(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):.2f}"


render()
