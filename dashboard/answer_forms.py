"""Leaderboard section: the board of votes on text answers (read) beside the board of votes on
spoken answers (heard), from the latest `rank --by output_modality` run, and how alike the two
order the models (Kendall τ with its interval and the caveat a handful of models needs)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, sections, ui
from dashboard.charts import RATING_AXIS, RATING_TOOLTIP, interval_chart

FIELD = "output_modality"
FORMS = ("text", "speech")


def board_table(ranked: pd.DataFrame) -> pd.DataFrame:
    """rank, model, rating, 95% CI (one cell), votes: narrow enough for half the page."""
    table = ranked.sort_values(["rank", "rating"], ascending=[True, False])
    return pd.DataFrame(
        {
            "rank": table["rank"].astype(int).to_numpy(),
            "model": table["model"].to_numpy(),
            "rating": table["rating"].round().astype(int).to_numpy(),
            "95% CI": [
                f"{lo:.0f}–{hi:.0f}"
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "votes": table["votes"].astype(int).to_numpy(),
        }
    )


def board_chart(ranked: pd.DataFrame, domain: tuple[float, float]) -> alt.Chart:
    """Ratings with their 95% CIs, best on top, on an axis both boards share."""
    order = list(ranked.sort_values(["rank", "rating"], ascending=[True, False])["model"])
    return interval_chart(
        ranked,
        label="model",
        estimate="rating",
        x_title=RATING_AXIS,
        order=order,
        x_scale=alt.Scale(domain=list(domain), zero=False),
        tooltip=RATING_TOOLTIP,
        step=24,
    )


def _skipped_reason(app: AppContext, run_id: int, form: str) -> str:
    runs = loaders.workspace.latest_runs(app, "ranking")
    row = runs[runs["id"] == run_id]
    summary = (row.iloc[0]["summary"] or {}) if len(row) else {}
    return (summary.get("skipped_slices") or {}).get(form, "no votes on such answers")


def text_vs_speech(app: AppContext) -> None:
    """The two boards side by side, their rank correlation, and what to run when missing."""
    from ranking.board_agreement import answer_form_agreement

    run_id = sections.latest_sliced_run(app, FIELD)
    if run_id is None and not loaders.workspace.status(app).get("spoken_answers"):
        return  # a workspace of text answers only: nothing to compare
    st.subheader("Read or heard: text answers vs spoken answers")
    if run_id is None:
        from arenalens.next_steps import SPOKEN_BOARDS

        ui.show("info", loaders.workspace.step_message(app, SPOKEN_BOARDS))
        return
    ratings = loaders.ranking.ratings(app, run_id, FIELD)
    boards = {form: ratings[ratings["slice_value"] == form] for form in FORMS}
    shown: dict[str, pd.DataFrame] = {}
    for form, board in boards.items():
        ranked, _ = sections.split_by_evidence(app, board)
        shown[form] = ranked
    every = pd.concat(list(shown.values()))
    domain = (
        (float(every["ci_low"].min()) - 10, float(every["ci_high"].max()) + 10)
        if len(every)
        else (900.0, 1100.0)
    )
    for column, form in zip(st.columns(2), FORMS, strict=True):
        with column:
            board = boards[form]
            votes = int(board["votes"].sum() // 2) if len(board) else 0
            ui.say(
                "markdown",
                "**{}** — {}",
                display.display_value(FIELD, form),
                display.plural(votes, "vote"),
            )
            if board.empty:
                ui.say("caption", "No board: {}.", _skipped_reason(app, run_id, form))
                continue
            ranked = shown[form]
            if ranked.empty:
                st.caption("No model has enough votes on these answers to be ranked.")
                continue
            st.altair_chart(board_chart(ranked, domain), width="stretch")
            ui.dataframe(board_table(ranked), budget_px=ui.HALF_WIDTH_PX)
    frame = pd.concat([part.assign(slice_value=form) for form, part in shown.items()])
    agreement = answer_form_agreement(frame) if len(frame) else None
    if agreement is None:
        st.caption("Both boards are needed to compare how they order the models.")
        return
    ui.show("markdown", agreement.sentence)
    apart = [
        ui.fmt("only on the {} board: {}", name, display.join_words(models))
        for name, models in (("text", agreement.only_first), ("spoken", agreement.only_second))
        if models
    ]
    ui.say(
        "caption",
        "Run {} (`rank --by output_modality`). A vote is on spoken answers when both answers "
        "were heard as audio.{}",
        run_id,
        ui.Markdown(" Ranked " + "; ".join(apart) + ".") if apart else "",
    )
