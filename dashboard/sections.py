"""Sections shared by pages that show the taxonomy's shares (Overview, Use cases)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, ui
from dashboard.charts import interval_chart, interval_tooltips

MODALITY_LABELS = {"text_primary": "Text-primary", "audio_primary": "Audio-primary"}
# What the two modalities mean, in plain words (the taxonomy's ModalityClassifier decides).
MODALITY_DEFINITIONS = {
    "text_primary": "the words alone carry the request: a transcript of the query is enough "
    "to answer it.",
    "audio_primary": "answering needs the sound itself: how it was said or what else was heard "
    "(emotion, tone, accent, pronunciation, singing, background sound). A query is "
    'audio-primary when its category is, when it matches an audio cue ("how do I sound"), '
    "or when it is closer to the audio-primary examples than to any text category.",
}


def share_chart(table: pd.DataFrame, label_title: str) -> alt.Chart:
    """Horizontal bars of shares with 95% CI rules (and bias-corrected points when present)."""
    frame = table.assign(label=table["label"].map(display.display_name))
    base = alt.Chart(frame).encode(y=alt.Y("label:N", sort="-x", title=label_title))
    bars = base.mark_bar(opacity=0.75).encode(
        x=alt.X("share:Q", title="share of queries (95% CI)", axis=alt.Axis(format="%")),
        tooltip=[
            "label",
            "count",
            *interval_tooltips("share", ".1%"),
            "method",
        ],
    )
    rules = base.mark_rule(color="black").encode(x="ci_low:Q", x2="ci_high:Q")
    layers = bars + rules
    if "ppi_share" in frame and frame["ppi_share"].notna().any():
        layers += base.mark_point(shape="diamond", color="firebrick", size=70, filled=True).encode(
            x="ppi_share:Q",
            tooltip=[alt.Tooltip("ppi_share:Q", format=".1%", title="bias-corrected")],
        )
    return layers.properties(height=alt.Step(24))


def _shares_table(table: pd.DataFrame) -> None:
    columns = {
        c: st.column_config.NumberColumn(format="percent")
        for c in table.columns
        if "share" in c or c.startswith(("ci_", "ppi_ci"))
    }
    ui.dataframe(table, width="stretch", column_config=columns)


def modality_share(app: AppContext) -> None:
    """Text-primary vs audio-primary share of queries, with its 95% CI."""
    st.subheader("Text- vs audio-primary")
    missing = loaders.taxonomy.taxonomy_ready(app)
    if missing:
        ui.show("info", missing)
        return
    table = loaders.taxonomy.modality_shares(app)
    if table.empty:
        st.info("The latest taxonomy run assigned no modality.")
        return
    examples = loaders.taxonomy.modality_examples(app)
    for label in ("text_primary", "audio_primary"):
        ui.say("markdown", "**{}**: {}", MODALITY_LABELS[label], MODALITY_DEFINITIONS[label])
        shown = examples.get(label) or []
        if shown:
            st.text("\n".join(f"e.g. “{q}”" for q in shown))
        else:
            st.caption(
                "(no example: no cluster of this kind has queries from enough distinct users)"
            )
    columns = st.columns(max(1, len(table)))
    for column, row in zip(columns, table.itertuples(), strict=False):
        column.metric(
            ui.fmt("{}", MODALITY_LABELS.get(row.label, row.label)),
            ui.percent(row.share),
            help=ui.fmt(
                "95% CI {}–{} ({}); {:,} queries",
                ui.percent(row.ci_low),
                ui.percent(row.ci_high),
                row.method,
                row.count,
            ),
        )
        with column:
            ui.say("caption", "95% CI {}–{}", ui.percent(row.ci_low), ui.percent(row.ci_high))
    if "ppi_share" in table and table["ppi_share"].notna().any():
        ui.say(
            "caption",
            "Bias-corrected (with human labels): {}",
            ", ".join(
                f"{MODALITY_LABELS.get(r.label, r.label)} {ui.percent(r.ppi_share)}"
                for r in table.itertuples()
            ),
        )


def modality_win_chart(table: pd.DataFrame) -> alt.Chart:
    """Share of battles won per model, text- vs audio-primary queries, with 95% CIs."""
    frame = table.assign(modality=table["modality"].map(MODALITY_LABELS).fillna(table["modality"]))
    order = list(
        frame[frame["modality"] == "Text-primary"].sort_values("win_rate", ascending=False)["model"]
    )
    base = alt.Chart(frame).encode(
        y=alt.Y(
            "model:N",
            sort=order or None,
            title=None,
            axis=alt.Axis(labelLimit=220, labelOverlap=False),
        ),
        color=alt.Color(
            "modality:N",
            scale=alt.Scale(domain=list(MODALITY_LABELS.values()), range=["#4c78a8", "#f58518"]),
            legend=alt.Legend(orient="top", title=None),
        ),
        yOffset="modality:N",
    )
    rules = base.mark_rule().encode(
        x=alt.X(
            "ci_low:Q", title="share of battles won (ties half), 95% CI", axis=alt.Axis(format="%")
        ),
        x2="ci_high:Q",
    )
    points = base.mark_point(filled=True, size=60).encode(
        x="win_rate:Q",
        tooltip=[
            "model",
            "modality",
            "battles",
            *interval_tooltips("win_rate", ".1%"),
        ],
    )
    return (rules + points).properties(height=alt.Step(14))


def modality_by_model(app: AppContext) -> None:
    """Do audio-primary queries change who wins? Each model's win share on both kinds."""
    if loaders.taxonomy.taxonomy_ready(app):
        return
    table = loaders.taxonomy.modality_win_rates(app)
    if table.empty or table["modality"].nunique() < 2:
        return
    st.subheader("Does audio change who wins?")
    st.caption(
        "Share of its battles each model won (ties count half) on text-primary and on "
        "audio-primary queries. Where the two intervals of a model do not overlap, audio-primary "
        "queries change how it fares."
    )
    st.altair_chart(modality_win_chart(table), width="stretch")


def category_shares(app: AppContext, with_table: bool = False) -> None:
    """Share of queries per top-level use-case category, with 95% CIs."""
    st.subheader("Use-case categories")
    missing = loaders.taxonomy.taxonomy_ready(app)
    if missing:
        ui.show("info", missing)
        return
    table = loaders.taxonomy.category_shares(app)
    if table.empty:
        st.info("The latest taxonomy run assigned no category.")
        return
    st.altair_chart(share_chart(table, "category"), width="stretch")
    if with_table:
        _shares_table(table)


def conversation_shares(app: AppContext, run_id: int) -> None:
    """Where the run holds conversations: each category's share counting each conversation
    once (by its first turn) beside its share of queries (every turn), with 95% CIs, and how
    many later turns change topic."""
    table = loaders.taxonomy.conversation_shares(app, run_id)
    if table.empty:
        return
    st.subheader("Use cases of conversations")
    sentence = loaders.taxonomy.topic_changes(app, run_id)
    if sentence:
        ui.say("caption", "{}.", sentence)
    names = ["query_share", "conversation_share"]
    ui.show(
        "caption",
        " ".join(
            f"{display.statistic_label(n).capitalize()}: {display.statistic_help(n)}"
            for n in reversed(names)
        )
        + " Lines: 95% CIs.",
    )
    order = table[table["counted"] == "conversation_share"].sort_values("share", ascending=False)
    frame = table.assign(
        category=table["label"].map(display.display_name),
        counted=table["counted"].map(display.statistic_label),
    )
    groups = [display.statistic_label(n) for n in names]
    chart = interval_chart(
        frame,
        label="category",
        estimate="share",
        x_title="share, 95% CI",
        order=[display.display_name(c) for c in order["label"]],
        x_format="%",
        colour=alt.Color(
            "counted:N", sort=groups, legend=alt.Legend(orient="top", title=None, labelLimit=400)
        ),
        offset=alt.YOffset("counted:N", sort=groups),
        tooltip=[
            "category",
            alt.Tooltip("counted:N", title="counted"),
            alt.Tooltip("count:Q", title="how many"),
            *interval_tooltips("share", ".1%"),
        ],
        step=14,
        point_size=60,
        rule={},
    )
    st.altair_chart(chart, width="stretch")


def split_by_evidence(app: AppContext, board: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranked, too few votes): the workspace's evidence rule (`ranking.evidence`, the CLI's),
    with ranks recomputed among the ranked models (runs stored before the rule ranked all)."""
    from ranking.bradley_terry import rank_from_intervals
    from ranking.evidence import EvidenceRule

    if board.empty:
        return board, board
    rule = EvidenceRule.from_settings(app.settings)
    admitted = rule.admitted(
        board["votes"].to_numpy(), board["ci_low"].to_numpy(), board["ci_high"].to_numpy()
    )
    ranked = board[admitted].copy()
    if "component" in ranked and len(ranked):
        for _, group in ranked.groupby("component"):
            ranked.loc[group.index, "rank"] = rank_from_intervals(
                group["ci_low"].to_numpy(), group["ci_high"].to_numpy()
            )
    return ranked, board[~admitted]


def leader_headline(ranked: pd.DataFrame) -> str:
    """Who leads among the ranked models, in words (the CLI's `rank` headline)."""
    from ranking.evidence import leader_headline as headline

    return headline(ranked.to_dict("records"))


def too_few_votes_caption(app: AppContext, apart: pd.DataFrame) -> None:
    """The models left off the board, with their votes, and the rule."""
    from ranking.evidence import EvidenceRule, listed_apart

    if apart.empty:
        return
    ui.say(
        "caption",
        "Too few votes to rank: {}. Models are {}.",
        listed_apart(list(apart["model"]), [int(v) for v in apart["votes"]]),
        EvidenceRule.from_settings(app.settings).describe(),
    )


# -- who wins where (Overview and the top of Leaderboard) ---------------------------------
ROLE_COLOURS = {
    "leader": "#1b7837",
    "tied": "#7fbf7b",
    "behind": "#d9f0d3",
    "too few votes": "#e0e0e0",
}
ROLE_MARKS = {"leader": "★ ", "tied": "= ", "behind": "", "too few votes": ""}


def matrix_chart(cells: pd.DataFrame, order: list[str], compact: bool = False) -> alt.Chart:
    """Category x model: rating in each cell, ★ leader, = tied with the leader, grey = too few."""
    frame = cells.assign(
        label=[
            f"{ROLE_MARKS[role]}{rating:.0f}" if role != "too few votes" else f"n={votes}"
            for role, rating, votes in zip(
                cells["role"], cells["rating"], cells["votes"], strict=True
            )
        ],
        category=cells["slice_value"].map(display.display_name),
    )
    base = alt.Chart(frame).encode(
        x=alt.X(
            "model:N",
            sort=order,
            title=None,
            axis=alt.Axis(labelAngle=-35, labelLimit=170, labelOverlap=False, orient="bottom"),
        ),
        y=alt.Y("category:N", title=None, axis=alt.Axis(labelLimit=160)),
    )
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "role:N",
            scale=alt.Scale(domain=list(ROLE_COLOURS), range=list(ROLE_COLOURS.values())),
            legend=alt.Legend(title=None, orient="bottom", direction="horizontal"),
        ),
        tooltip=[
            alt.Tooltip("category:N", title="category"),
            "model",
            *interval_tooltips("rating", ".0f"),
            "votes",
            "role",
        ],
    )
    text = base.mark_text(fontSize=10 if compact else 11).encode(text="label:N")
    widest = 300 if compact else 520
    step = max(40, min(80, widest // max(len(order), 1)))  # fits the page at 1280 px
    return (rect + text).properties(height=alt.Step(22 if compact else 30), width=alt.Step(step))


def latest_sliced_run(app: AppContext, field: str) -> int | None:
    """The newest ranking run sliced by `field` (`rank --by category`), or None."""
    runs = loaders.workspace.latest_runs(app, "ranking")
    for run in runs.itertuples():
        if (run.config or {}).get("by") == field:
            return int(run.id)
    return None


def who_wins_where(app: AppContext, order: list[str], compact: bool = False) -> list[str]:
    """The category x model matrix (★ leader per category); returns the models shown, in order.
    When it cannot be drawn, says why from the workspace's checklist."""
    from ranking.slices import MIN_CELL_VOTES
    from ranking.slices import who_wins_where as matrix

    st.subheader("Who wins where")
    run_id = latest_sliced_run(app, "category")
    if run_id is None:
        ui.show("info", loaders.workspace.step_message(app, "Leaderboards per use case"))
        return []
    stored = loaders.ranking.ratings(app, run_id, "category")
    if stored.empty:
        st.info("No category had enough votes for a leaderboard.")
        return []
    cells = matrix(stored, MIN_CELL_VOTES)
    models = [m for m in order if m in set(cells["model"])]
    models += sorted(set(cells["model"]) - set(models))
    st.altair_chart(matrix_chart(cells, models, compact), width="content")
    ui.say(
        "caption",
        "Each cell: the model's rating on that category's votes. ★ leader; = tied with the "
        "leader (95% CIs overlap); grey: fewer than {} in the category (count shown), not "
        "compared.",
        display.plural(MIN_CELL_VOTES, "vote"),
    )
    return models


def distinctive_loss_reasons(app: AppContext, models: list[str], top: int = 3) -> None:
    """Per model: the loss reasons that set its lost battles apart from the other models'."""
    from coding.prevalence import distinctive_reasons

    st.markdown("**What sets each model's losses apart**")
    missing = loaders.coding.coding_ready(app)
    if missing is not None:
        ui.show("info", loaders.workspace.step_message(app, "Code feedback into loss reasons"))
        return
    table = loaders.coding.prevalence(app, "model")
    if models:
        table = table[table["group"].isin(models)]  # other spellings resolve to an alias
    reasons = distinctive_reasons(table, top)
    if reasons.empty:
        st.info("No loss reason is more common for one model than for the others.")
        return
    rows = []
    for model, group in reasons.groupby("group", sort=False):
        row = {"model": model, "feedback items": int(group["n_items"].max())}
        for k, r in enumerate(group.itertuples(), start=1):
            row[f"reason {k}"] = (
                f"{display.display_name(r.code)}: {r.share:.0%} vs {r.others_share:.0%}"
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    rank = {m: k for k, m in enumerate(models)}
    frame = frame.sort_values("model", key=lambda s: s.map(lambda m: rank.get(m, len(rank))))
    ui.table(frame.fillna(display.EMPTY))
    st.caption(
        "Each reason: its share of the feedback on the model's lost battles vs its share on "
        "the other models' lost battles; ranked by the difference, so a reason every model "
        "shares (and the catch-all 'other') is not listed. Sizes and CIs on the Feedback page."
    )
