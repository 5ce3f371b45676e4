"""Use cases: the 2-D map of queries by cluster or category (a click selects a cluster),
the cluster list, a drill-down into one cluster's queries, and analyst edits."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens.context import AppContext
from dashboard import data, privacy, ui

MAP_POINTS = 5_000
CLUSTER_COLUMNS = [
    "cluster_id",
    "name",
    "description",
    "keywords",
    "size",
    "parent_name",
    "category",
    "novel",
]
VOTES = {"any": None, "A preferred": "model_a", "B preferred": "model_b", "tie": "tie"}


def query_map(points: pd.DataFrame, colour: str, min_users: int) -> None:
    """Scatter of the queries (a seeded sample when large); a click selects that cluster below."""
    shown = points.sample(MAP_POINTS, random_state=0) if len(points) > MAP_POINTS else points
    shown = privacy.redact_small_groups(shown, "cluster_id", min_users)
    shown = shown.assign(query=shown["query"].fillna("(hidden: fewer than k users)"))
    pick = alt.selection_point(fields=["cluster_id"], name="cluster")
    field = "cluster_name" if colour == "cluster" else "category"
    chart = (
        alt.Chart(shown)
        .mark_circle(size=18)
        .encode(
            x=alt.X("x:Q", axis=None),
            y=alt.Y("y:Q", axis=None),
            color=alt.Color(
                f"{field}:N", legend=alt.Legend(title=colour) if colour == "category" else None
            ),
            opacity=alt.condition(pick, alt.value(0.85), alt.value(0.15)),
            tooltip=["cluster_id", "cluster_name", "category", "modality", "query"],
        )
        .add_params(pick)
        .properties(height=460)
    )
    if len(points) > MAP_POINTS:
        st.caption(f"Map shows a random {MAP_POINTS:,} of {len(points):,} queries.")
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key="use_cases_map")
    selected = (getattr(event, "selection", None) or {}).get("cluster") or []
    if (
        selected
        and isinstance(selected, list)
        and "cluster_id" in selected[0]
        and st.session_state.get("use_cases_last_pick") != selected[0]
    ):
        st.session_state["use_cases_last_pick"] = selected[0]
        st.session_state["use_cases_cluster"] = int(selected[0]["cluster_id"])


def cluster_list(table: pd.DataFrame) -> None:
    """Clusters with name, description, keywords, size, parent and category."""
    shown = table[[c for c in CLUSTER_COLUMNS if c in table]].copy()
    shown["keywords"] = shown["keywords"].map(
        lambda k: ", ".join(k[:8]) if isinstance(k, list) else ""
    )
    ui.dataframe(shown, width="stretch", height=320)


def drill_down(app: AppContext, cluster: pd.Series, queries: pd.DataFrame, min_users: int) -> None:
    """One cluster's queries, filtered by model, outcome and language (privacy rule applied)."""
    st.subheader(f"Cluster {int(cluster['cluster_id'])}")
    ui.show_user_text("Name", cluster["name"])
    ui.show_user_text("Description", cluster.get("description"))
    st.caption(
        f"{int(cluster['size']):,} queries · category {_or_dash(cluster.get('category'))} · "
        f"parent {_or_dash(cluster.get('parent_name'))}"
    )
    mine = queries[queries["cluster_id"] == cluster["cluster_id"]]
    users = privacy.distinct_users(mine["user_id"])
    if users < min_users:
        st.warning(
            f"Example queries hidden: this cluster's queries come from {users} distinct users, "
            f"fewer than {min_users} (privacy_min_users). The cluster still counts in every share."
        )
        return
    examples = cluster.get("central_texts")
    if isinstance(examples, list) and examples:
        st.caption("Most central queries")
        st.text("\n".join(str(e) for e in examples[:5]))
    a, b, c = st.columns(3)
    models = sorted(set(mine["model_a"].dropna()) | set(mine["model_b"].dropna()))
    model = a.multiselect("Model", models, key="use_cases_model")
    vote = b.selectbox("Outcome", list(VOTES), key="use_cases_vote")
    languages = sorted(mine["language"].dropna().unique())
    language = c.multiselect("Language", languages, key="use_cases_language")
    if model:
        mine = mine[mine["model_a"].isin(model) | mine["model_b"].isin(model)]
    if VOTES[vote]:
        mine = mine[mine["winner"] == VOTES[vote]]
    if language:
        mine = mine[mine["language"].isin(language)]
    st.caption(f"{len(mine):,} queries match")
    ui.dataframe(
        mine[
            ["interaction_id", "query", "modality", "model_a", "model_b", "winner", "language"]
        ].head(1000),
        width="stretch",
    )


def edit_forms(app: AppContext, cluster: pd.Series, table: pd.DataFrame) -> None:
    """Rename, merge into this cluster, or re-categorise; stored as edits that survive rebuilds."""
    cluster_id = int(cluster["cluster_id"])
    if cluster_id < 0:
        st.caption("The unclustered group cannot be edited.")
        return
    rename, merge, recategorise = st.tabs(["Rename", "Merge", "Re-categorise"])
    with rename, st.form("use_cases_rename"):
        name = st.text_input("New name", value=str(cluster["name"]), key="use_cases_new_name")
        note = st.text_input("Note", key="use_cases_rename_note")
        if st.form_submit_button("Rename"):
            _save(app, "rename", (cluster_id,), name.strip(), note)
    with merge, st.form("use_cases_merge"):
        others = table[(table["cluster_id"] != cluster_id) & (table["cluster_id"] >= 0)]
        labels = {int(r.cluster_id): f"{int(r.cluster_id)}: {r.name}" for r in others.itertuples()}
        sources = st.multiselect(
            "Merge these clusters into this one",
            list(labels),
            format_func=labels.get,
            key="use_cases_merge_sources",
        )
        note = st.text_input("Note", key="use_cases_merge_note")
        if st.form_submit_button("Merge"):
            _save(app, "merge", (cluster_id, *sources), None, note)
    with recategorise, st.form("use_cases_recategorise"):
        names = data.category_names(app)
        current = names.index(cluster["category"]) if cluster["category"] in names else 0
        category = st.selectbox("Category", names, index=current, key="use_cases_category")
        note = st.text_input("Note", key="use_cases_recategorise_note")
        if st.form_submit_button("Re-categorise"):
            _save(app, "recategorise", (cluster_id,), category, note)


def _or_dash(value: object) -> str:
    return "—" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _save(app: AppContext, kind: str, ids: tuple[int, ...], value: str | None, note: str) -> None:
    from arenalens.errors import ArenalensError

    try:
        st.session_state["use_cases_message"] = (
            "success",
            data.record_taxonomy_edit(app, kind, ids, value, note),
        )
    except ArenalensError as exc:
        st.session_state["use_cases_message"] = ("error", f"not saved: {exc}")
    st.rerun()


def render() -> None:
    st.title("Use cases")
    app = data.app_context()
    with ui.error_boundary():
        missing = data.taxonomy_ready(app)
        if missing:
            st.info(missing)
            return
        message = st.session_state.pop("use_cases_message", None)
        if message:
            getattr(st, message[0])(message[1])
        run_ids = data.taxonomy_run_ids(app)
        run_id = st.selectbox("Taxonomy run", run_ids, key="use_cases_run", help="Newest first")
        min_users = int(app.settings.privacy_min_users)
        table = data.clusters(app, run_id, 0)
        queries = data.query_clusters(app, run_id)
        outliers = int(table.loc[table["cluster_id"] < 0, "size"].sum())
        a, b, c, d = st.columns(4)
        a.metric("Queries", f"{len(queries):,}")
        b.metric("Clusters", f"{int((table['cluster_id'] >= 0).sum()):,}")
        c.metric("Parents", f"{len(data.clusters(app, run_id, 1)):,}")
        d.metric("Unclustered", ui.percent(outliers / len(queries) if len(queries) else None))
        colour = st.radio(
            "Colour the map by", ["category", "cluster"], horizontal=True, key="use_cases_colour"
        )
        query_map(queries, colour, min_users)
        st.caption("Category and modality shares with their 95% CIs are on the Overview page.")
        st.subheader("Clusters")
        cluster_list(table)
        # real clusters largest first, the unclustered group (id -1) last
        ids = [i for i in table["cluster_id"].astype(int) if i >= 0] + [
            i for i in table["cluster_id"].astype(int) if i < 0
        ]
        if st.session_state.get("use_cases_cluster") not in ids:
            st.session_state["use_cases_cluster"] = ids[0]
        labels = {
            int(r.cluster_id): f"{int(r.cluster_id)}: {r.name} ({int(r.size)})"
            for r in table.itertuples()
        }
        chosen = st.selectbox(
            "Cluster (or click a point on the map)",
            ids,
            format_func=labels.get,
            key="use_cases_cluster",
        )
        cluster = table[table["cluster_id"] == chosen].iloc[0]
        drill_down(app, cluster, queries, min_users)
        with st.expander("Edit this cluster (stored as an edit; survives rebuilds)"):
            edit_forms(app, cluster, table)
            edits = data.taxonomy_edits(app)
            if len(edits):
                st.caption("Active edits, in the order they apply")
                ui.dataframe(edits, width="stretch")


render()
