"""Leaderboard: Bradley–Terry ratings with (user-clustered) 95% CIs, a status per model, how
fragile the order is, the style/latency-controlled board beside the raw one, who wins where
(category x model) beside each model's top loss reasons, per-slice boards and win rates."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import answer_forms, loaders, sections, ui
from dashboard.charts import RATING_AXIS, RATING_TOOLTIP, interval_chart, interval_tooltips

TABLE_COLUMNS = [
    "rank",
    "model",
    "rating",
    "ci_low",
    "ci_high",
    "votes",
    "status",
    "wins",
    "ties",
    "losses",
    "flag",
]
RATING_FORMAT = {
    c: st.column_config.NumberColumn(format="%.0f")
    for c in ("rating", "ci_low", "ci_high", "raw rating", "controlled rating", "change")
}
#: stored codes: shown in words (a language or a turn number is shown as given)
CODED_SLICES = frozenset({"category", "modality", "reason", "output_modality"})
SLICE_LABELS = {
    "category": "use-case category",
    "language": "language",
    "reason": "loss reason",
    "output_modality": "answer form (text or spoken)",
    "turn_depth": "turn of the conversation",
}


def with_status(board: pd.DataFrame) -> pd.DataFrame:
    """Add each model's status (preliminary / provisional / established) from votes and CI."""
    from ranking.fragility import model_status

    if board.empty:
        return board.assign(status=pd.Series(dtype=str))
    return board.assign(
        status=[
            model_status(int(v), float(lo), float(hi))
            for v, lo, hi in zip(board["votes"], board["ci_low"], board["ci_high"], strict=True)
        ]
    )


def ranked_board(app: AppContext, board: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(models ranked under the evidence rule, with status; those with too few votes)."""
    ranked, apart = sections.split_by_evidence(app, board)
    return with_status(ranked), apart


def ratings_chart(frame: pd.DataFrame, height_step: int = 26, colour: str = "rank:O") -> alt.Chart:
    """One row per model: the rating as a point and its 95% CI as a bar, best on top."""
    order = list(frame.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    legend = alt.Legend(orient="bottom", direction="horizontal")
    return interval_chart(
        frame,
        label="model",
        estimate="rating",
        x_title=RATING_AXIS,
        order=order,
        x_scale=alt.Scale(zero=False),
        point_colour=alt.Color(colour, scale=alt.Scale(scheme="dark2"), legend=legend),
        tooltip=RATING_TOOLTIP,
        step=height_step,
    )


def win_rate_heatmap(frame: pd.DataFrame, order: list[str]) -> alt.Chart:
    """P(row model beats column model), with the value printed; * marks significant cells."""
    cells = frame.assign(
        label=frame["win_rate"].map(lambda v: f"{v:.2f}")
        + frame["significant"].map(lambda s: "*" if s else "")
    )
    base = alt.Chart(cells).encode(
        y=alt.Y("model_a:N", sort=order, title="model", axis=alt.Axis(labelLimit=320)),
        x=alt.X("model_b:N", sort=order, title="opponent", axis=alt.Axis(labelLimit=200)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "win_rate:Q",
            scale=alt.Scale(scheme="redblue", domain=[0, 1]),
            title="win rate",
            legend=alt.Legend(orient="bottom"),
        ),
        tooltip=[
            "model_a",
            "model_b",
            *interval_tooltips("win_rate", ".2f"),
            "battles",
            "significant",
        ],
    )
    text = base.mark_text(fontSize=11).encode(text="label:N")
    return (rect + text).properties(height=alt.Step(34))


def uncertainty_caption(summary: dict) -> str:
    """Which unit the CIs resample, in words."""
    clustering = summary.get("clustering") or {}
    if clustering.get("unit") == "user" and clustering.get("width_ratio") is None:
        return (
            f"CIs resample users, not votes ({clustering.get('clusters')} users), because one "
            "person's votes can move together."
        )
    if clustering.get("unit") == "user":
        return (
            f"CIs resample users, not votes ({clustering.get('clusters')} users), because one "
            "person's votes can move together; here the user-clustered standard errors are "
            f"{clustering.get('width_ratio', 1):.2f}× those that treat every vote as independent."
        )
    reason = clustering.get("reason") or "no user ids"
    return f"CIs treat votes as independent ({reason})."


def overall(app: AppContext, run: pd.Series) -> pd.DataFrame:
    """The overall leaderboard of the latest ranking run, its fragility and controlled board."""
    board, apart = ranked_board(app, loaders.ranking.ratings(app, int(run["id"]), ""))
    board["flag"] = board["flag"].fillna("")
    config = run["config"] or {}
    summary = run["summary"] or {}
    a, b, c, d = st.columns(4)
    a.metric("Votes ranked", f"{int(summary.get('votes', board['votes'].sum() // 2)):,}")
    b.metric("Models", f"{len(board) + len(apart):,}")
    c.metric("Bootstrap rounds", f"{int(config.get('bootstrap_rounds', 0)):,}")
    unit = (summary.get("clustering") or {}).get("unit", "vote")
    d.metric("CIs resample", "users" if unit == "user" else "votes")
    ci_method = summary.get("ci_method")
    ui.say(
        "caption",
        "Run {}, finished {}; ties as {}{}. Rank = 1 + number of models whose CI lies "
        "entirely above this model's.",
        int(run["id"]),
        display.human_date(run["finished_at"]),
        config.get("ties", "half"),
        f"; {ci_method}" if ci_method else "",
    )
    ui.show("caption", uncertainty_caption(summary))
    if config.get("where"):
        st.caption("Filtered with --where:")
        st.code(str(config["where"]), language=None)
    for warning in summary.get("warnings") or []:
        ui.show("warning", ui.with_code(warning))
    ui.show("markdown", sections.leader_headline(board))
    st.altair_chart(ratings_chart(board), width="stretch")
    headings = {"ci_low": "95% CI low", "ci_high": "95% CI high"}
    # a column no model has a flag in says nothing (and takes the room model names need)
    columns = [c for c in TABLE_COLUMNS if c in board and (c != "flag" or board[c].any())]
    ui.dataframe(
        board[columns].rename(columns=headings),
        width="stretch",
        column_config={headings.get(c, c): f for c, f in RATING_FORMAT.items()},
    )
    sections.too_few_votes_caption(app, apart)
    ui.say("caption", "Status — {}", summary.get("status_rule", ""))
    fragility(summary)
    controlled(app, run, board)
    return board


def fragility(summary: dict) -> None:
    """How many votes would have to go for the order to change."""
    items = summary.get("fragility") or []
    if not items:
        return
    st.subheader("How fragile is the order?")
    leader = next((f for f in items if f["kind"] == "leader"), None)
    if leader:
        st.text(leader["sentence"][0].upper() + leader["sentence"][1:] + ".")
    pairs = pd.DataFrame(
        [
            {
                "higher": f["higher"],
                "lower": f["lower"],
                "votes to drop": f["votes_to_flip"],
                "share of votes": f["share"],
            }
            for f in items
            if f["kind"] == "adjacent"
        ]
    )
    if len(pairs):
        ui.dataframe(
            pairs,
            width="stretch",
            column_config={"share of votes": st.column_config.NumberColumn(format="percent")},
        )
    st.caption(
        "Fewest votes whose removal swaps the two models, found greedily (most influential votes "
        "first, refitting after each step) — an upper bound on the true minimum."
    )


def controlled(app: AppContext, run: pd.Series, raw: pd.DataFrame) -> None:
    """The style/latency-controlled board beside the raw one, with each control's coefficient."""
    summary = run["summary"] or {}
    controls = summary.get("controls") or []
    st.subheader("Style and latency control")
    if not controls:
        ui.show("info", loaders.workspace.step_message(app, "Control for style and latency"))
        return
    from ranking.persist import CONTROLLED

    board = loaders.ranking.ratings(app, int(run["id"]), CONTROLLED)
    coefficients = pd.DataFrame(summary.get("coefficients") or [])
    ui.say(
        "caption",
        "Contextual Bradley–Terry: each control enters as the standardised A-minus-B "
        "difference ({}); the controlled ratings are what remains at equal style. {}",
        display.display_names(controls),
        summary.get("controlled_ci_method") or "",
    )
    if len(coefficients):
        columns = ["covariate", "coefficient", "ci_low", "ci_high", "odds_ratio_per_sd"]
        shown = coefficients.reindex(columns=[*columns, "significant", "caution"]).assign(
            covariate=lambda f: f["covariate"].map(display.display_name),
            significant=lambda f: f["significant"].map(lambda v: "yes" if v else "no"),
        )
        shown["caution"] = shown["caution"].fillna("")
        ui.dataframe(
            shown.rename(columns=display.rename_columns(shown.columns)),
            width="stretch",
            column_config={
                display.statistic_label(c): st.column_config.NumberColumn(
                    format="%.3f", help=display.statistic_help(c)
                )
                for c in columns[1:]
            },
        )
    if board.empty:
        return
    both = pd.concat([raw.assign(board="raw"), board.assign(board="controlled")], ignore_index=True)
    st.altair_chart(compare_chart(both, list(raw["model"])), width="stretch")
    side = board[["model", "rating", "ci_low", "ci_high", "rank"]].merge(
        raw[["model", "rating", "rank"]], on="model", suffixes=("", "_raw")
    )
    side = side.rename(
        columns={"rating": "controlled rating", "rating_raw": "raw rating", "rank_raw": "raw rank"}
    )
    side["change"] = (side["controlled rating"] - side["raw rating"]).round().astype(int)
    side = side.sort_values("controlled rating", ascending=False)
    ui.dataframe(
        side[["model", "controlled rating", "rank", "raw rating", "raw rank", "change"]].rename(
            columns={"rank": "controlled rank"}
        ),
        width="stretch",
        column_config=RATING_FORMAT,
    )
    st.caption(
        "Sorted by controlled rating; a rank is 1 + the models whose interval lies entirely "
        "above, so neighbours with overlapping intervals share it."
    )


def compare_chart(both: pd.DataFrame, order: list[str]) -> alt.Chart:
    """Raw and controlled rating of each model on one axis, CIs as bars."""
    boards = ["raw", "controlled"]
    return interval_chart(
        both,
        label="model",
        estimate="rating",
        x_title=RATING_AXIS,
        order=order,
        x_scale=alt.Scale(zero=False),
        colour=alt.Color(
            "board:N",
            sort=boards,
            legend=alt.Legend(title=None, orient="bottom", direction="horizontal"),
        ),
        offset=alt.YOffset("board:N", sort=boards),
        tooltip=["model", "board", alt.Tooltip("rating:Q", format=".0f"), "rank"],
        step=30,
        point_size=60,
    )


def skipped_categories(app: AppContext, runs: pd.DataFrame) -> None:
    """Categories of the latest `rank --by category` run that got no board, and why."""
    run_id = sections.latest_sliced_run(app, "category")
    skipped = (_summary_of(runs, run_id).get("skipped_slices") or {}) if run_id else {}
    if skipped:
        with st.expander(
            ui.fmt("{} without a board", display.plural(len(skipped), "category", "categories"))
        ):
            ui.table(
                pd.DataFrame(
                    {
                        "category": [display.display_name(c) for c in skipped],
                        "why": list(skipped.values()),
                    }
                )
            )


def _summary_of(runs: pd.DataFrame, run_id: int) -> dict:
    row = runs[runs["id"] == run_id]
    return (row.iloc[0]["summary"] or {}) if len(row) else {}


def win_rates(app: AppContext, run: pd.Series, board: pd.DataFrame) -> None:
    st.subheader("Pairwise win rates")
    rates = loaders.ranking.win_rates(app, int(run["id"]))
    rates = rates[rates["slice_field"] == ""] if len(rates) else rates
    if rates.empty:
        st.info("This run stored no win-rate matrix.")
        return
    order = list(board.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    st.altair_chart(win_rate_heatmap(rates, order), width="stretch")
    st.caption(
        "Cell: model-estimated probability that the row model beats the column model; * = CI excludes 0.5."
    )


def slices(app: AppContext, runs: pd.DataFrame) -> None:
    """Per-category (or language, loss-reason) leaderboards from the latest `rank --by` run."""
    st.subheader("Leaderboards per slice")
    by_field = {}
    for run in runs.itertuples():
        field = (run.config or {}).get("by")
        if field and field not in by_field:
            by_field[field] = int(run.id)
    if not by_field:
        ui.show("info", loaders.workspace.step_message(app, "Leaderboards per use case"))
        return
    fields = sorted(by_field, key=lambda f: (f != "category", f))
    field = st.selectbox(
        "Slice by", fields, format_func=lambda f: SLICE_LABELS.get(f, f), key="leaderboard_slice"
    )
    board = with_status(loaders.ranking.ratings(app, by_field[field], field))
    if not board.empty:  # the main board's evidence rule, slice by slice
        from ranking.evidence import TOO_FEW_VOTES, EvidenceRule

        rule = EvidenceRule.from_settings(app.settings)
        admitted = rule.admitted(
            board["votes"].to_numpy(), board["ci_low"].to_numpy(), board["ci_high"].to_numpy()
        )
        board.loc[~admitted, "status"] = TOO_FEW_VOTES
    if board.empty:
        ui.say("info", "No slice had enough votes for a leaderboard by {}.", field)
        return
    values = sorted(board["slice_value"].unique())

    def words(value: object) -> str:
        return display.display_value(field, value) if field in CODED_SLICES else str(value)

    chosen = st.multiselect(
        "Slices", values, default=values[:4], format_func=words, key="leaderboard_slice_values"
    )
    shown = board[board["slice_value"].isin(chosen)]
    if shown.empty:
        return
    columns = st.columns(2)
    for k, value in enumerate(chosen):
        with columns[k % 2]:
            ui.say("caption", "{}:", SLICE_LABELS.get(field, field))
            st.text(words(value))
            ranked = shown[(shown["slice_value"] == value) & (shown["status"] != "too few votes")]
            if len(ranked):
                st.altair_chart(ratings_chart(ranked, height_step=20), width="stretch")
    columns = ["slice_value", "rank", "model", "rating", "ci_low", "ci_high", "votes", "status"]
    headings = {**display.rename_columns(columns), "slice_value": SLICE_LABELS.get(field, field)}
    ui.dataframe(
        shown[columns].assign(slice_value=shown["slice_value"].map(words)).rename(columns=headings),
        width="stretch",
        column_config={headings.get(c, c): f for c, f in RATING_FORMAT.items()},
    )


def render() -> None:
    st.title("Leaderboard")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        status = loaders.workspace.status(app)
        if status["votes"] == 0:
            step = "Load data" if status["interactions"] == 0 else "Rank models"
            ui.show("info", loaders.workspace.step_message(app, step))
            return
        runs = loaders.workspace.latest_runs(app, "ranking")
        if runs.empty:
            ui.show("info", loaders.workspace.step_message(app, "Rank models"))
            return
        run = runs.iloc[0]
        ranked = loaders.ranking.ratings(app, int(run["id"]), "")
        order = list(ranked.sort_values(["rank", "rating"], ascending=[True, False])["model"])
        # the answer first: who wins in which use case, and what sets each model's losses apart
        models = sections.who_wins_where(app, order)
        skipped_categories(app, runs)
        sections.distinctive_loss_reasons(app, models or order)
        board = overall(app, run)
        win_rates(app, run, board)
        answer_forms.text_vs_speech(app)
        slices(app, runs)


render()
