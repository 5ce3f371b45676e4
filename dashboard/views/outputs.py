"""Outputs: browse one query (audio, transcript), both responses, the vote and the feedback,
and compare the systems' inference outputs for it side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from arenalens import display
from dashboard import conversation_view, loaders, ui

MAX_ROWS = 1_000
VOTE_LABELS = {"model_a": "A preferred", "model_b": "B preferred", "tie": "tie", None: "no vote"}


def model_choices(names: set[str], aliases: dict[str, str]) -> dict[str, str]:
    """canonical model name -> how the filter shows it: the name with the other spellings the
    data uses ('Gemini (also gemini_1.5p)'), so an alias never looks like another model."""
    spellings: dict[str, set[str]] = {}
    for name in names:
        spellings.setdefault(aliases.get(name, name), set()).add(name)
    for alias, canonical in aliases.items():
        if canonical in spellings:
            spellings[canonical].add(alias)
    return {
        canonical: canonical
        + (
            f" (also {display.join_words(sorted(others))})"
            if (others := found - {canonical})
            else ""
        )
        for canonical, found in sorted(spellings.items(), key=lambda kv: kv[0].lower())
    }


def filters(frame: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    """Filter interactions by text, model (any spelling of it), vote outcome."""
    left, middle, right = st.columns([2, 2, 1])
    search = left.text_input("Search query text or id", key="outputs_search")
    names = set(frame["model_a"].dropna()) | set(frame["model_b"].dropna())
    labels = model_choices(names, aliases)
    chosen = middle.multiselect(
        "Model (either side)", list(labels), format_func=labels.get, key="outputs_models"
    )
    outcome = right.selectbox(
        "Vote", ["any", "A preferred", "B preferred", "tie", "no vote"], key="outputs_vote"
    )
    if search:
        needle = search.strip().lower()
        text = frame["query"].fillna("").str.lower()
        frame = frame[text.str.contains(needle, regex=False) | (frame["id"].str.lower() == needle)]
    if chosen:
        canonical_a = frame["model_a"].map(lambda m: aliases.get(m, m))
        canonical_b = frame["model_b"].map(lambda m: aliases.get(m, m))
        frame = frame[canonical_a.isin(chosen) | canonical_b.isin(chosen)]
    if outcome != "any":
        wanted = {v: k for k, v in VOTE_LABELS.items()}[outcome]
        frame = (
            frame[frame["winner"].isna()] if wanted is None else frame[frame["winner"] == wanted]
        )
    return frame


def pick_interaction(frame: pd.DataFrame) -> str | None:
    """The interaction table (first rows) and a picker; returns the chosen interaction id."""
    ui.say(
        "caption",
        "{:,} matching interactions{}",
        len(frame),
        f"; showing the first {MAX_ROWS:,} — narrow the filters" if len(frame) > MAX_ROWS else "",
    )
    shown = frame.head(MAX_ROWS)
    columns = ["id", "query", "model_a", "model_b", "winner"]
    if "conversation_id" in shown and shown["conversation_id"].notna().any():
        columns[1:1] = ["conversation_id", "turn"]  # which conversation, which turn of it
    stored = shown[columns]
    table = stored.assign(
        query=lambda f: f["query"].map(lambda q: display.or_dash(q, "no query text")),
        winner=lambda f: f["winner"].map(display.display_name),
    )
    table = table.rename(
        columns={
            "model_a": "model A",
            "model_b": "model B",
            "winner": "vote",
            "conversation_id": "conversation",
        }  # fmt: skip
    )
    event = ui.dataframe(
        table,
        width="stretch",
        height=260,
        on_select="rerun",
        selection_mode="single-row",
        key="outputs_table",
    )
    ui.download_csv(stored, "interactions.csv")  # stored column names and values
    ids = list(shown["id"])
    if not ids:
        return None
    selected_rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if selected_rows:
        st.session_state["outputs_pick"] = ids[selected_rows[0]]
    if st.session_state.get("outputs_pick") not in ids:
        st.session_state["outputs_pick"] = ids[0]
    return st.selectbox("Interaction", ids, key="outputs_pick")


def show_interaction(app, row: pd.Series) -> None:
    """The query (with its audio and transcript) and both answers (played when spoken), or
    the whole conversation turn by turn; then the vote and the feedback."""
    conversation = row.get("conversation_id")
    ids = [row["id"]]
    if not display.is_empty(conversation):
        # every turn with its vote; the feedback of any turn (a conversation's is on its last)
        ids = conversation_view.show_conversation(app, str(conversation), row["id"])
    else:
        st.subheader("Query")
        ui.show_user_text("Query text (typed, else transcript)", row["query"])
        audio, refused = loaders.workspace.playable_audio(app, row["id"])
        if audio is not None:
            st.audio(str(audio))
        elif refused:
            ui.show("caption", refused)
        if isinstance(row.get("transcript"), str):
            ui.show_user_text("Transcript", row["transcript"])
        conversation_view.show_answers(app, row)
        winner = None if display.is_empty(row["winner"]) else row["winner"]
        ui.say("markdown", "**Vote:** {}", VOTE_LABELS.get(winner, winner))
    feedback = loaders.workspace.feedback(app)
    mine = feedback[feedback["interaction_id"].isin(ids)] if len(feedback) else feedback
    if len(mine):
        for text in mine["text"]:
            ui.show_user_text("Feedback", text)
    else:
        st.caption("no feedback on this vote")


def compare_outputs(app, interaction_id: str) -> None:
    """Every system's inference output for this query, side by side."""
    st.subheader("Systems' outputs for this query")
    outputs = loaders.inference.model_outputs(app)
    if outputs.empty:
        ui.show("info", loaders.workspace.step_message(app, "Generate model outputs (optional)"))
        return
    mine = outputs[outputs["interaction_id"] == interaction_id].sort_values("system")
    if mine.empty:
        ui.say(
            "caption",
            "none of the {} systems with outputs has run on this query",
            outputs["system"].nunique(),
        )
        return
    per_row = 3
    records = mine.to_dict("records")
    for start in range(0, len(records), per_row):
        columns = st.columns(per_row)
        for column, record in zip(columns, records[start : start + per_row], strict=False):
            with column:
                ui.say("markdown", "**{}**", record["system"])
                if record["error"]:
                    ui.say("error", "error: {}", record["error"])
                else:
                    ui.show_user_text("output", record.get("output_text"))
                latency = record.get("latency_s")
                if latency is not None and not pd.isna(latency):
                    ui.say("caption", "latency {:.2f}s", latency)


def render() -> None:
    st.title("Outputs")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        frame = loaders.workspace.interactions(app)
        if frame.empty:
            ui.show("info", loaders.workspace.step_message(app, "Load data"))
            return
        chosen = pick_interaction(filters(frame, loaders.workspace.model_aliases(app)))
        if chosen is None:
            st.info("No interaction matches these filters.")
            return
        row = frame[frame["id"] == chosen].iloc[0]
        show_interaction(app, row)
        compare_outputs(app, chosen)


render()
