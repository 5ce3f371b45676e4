"""Use cases: drill down category -> parent -> cluster -> queries (the 2-D map labelled with
cluster names, the cluster table, one cluster's queries), compare two clusters, analyst edits."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from arenalens import display
from arenalens.context import AppContext
from dashboard import loaders, privacy, sections, ui, writes
from dashboard.charts import LABEL_FONT_PX, interval_chart, place_labels

MAP_POINTS = 5_000
MAP_LABELS = 30  # at most this many cluster names written on the map (largest first, no overlap)
MAP_WIDTH = 720  # px: fixed, so label placement knows the plot's size
MAP_HEIGHT = 480
ALL = "(all)"
CLUSTER_COLUMNS = [
    "size",
    "category",
    "parent_name",
    "cluster_id",
    "name",
    "keywords",
    "description",
    "novel",
]

CLUSTER_GRID = ["cluster", "name", "size", "category", "parent", "keywords"]
CLUSTER_LIST_HEIGHT_PX = 320
VOTES = {"any": None, "A preferred": "model_a", "B preferred": "model_b", "tie": "tie"}
SELECTION_KEYS = ("use_cases_category", "use_cases_parent", "use_cases_cluster")


def run_label(run: pd.Series) -> str:
    """'run 3 · 30 Nov 2026, 09:45 · built on 2,400 queries · 90 clusters' for the run picker
    (the queries it was built on: later turns and queries assigned since are placed, not built
    on, so the page's query count may be larger)."""
    summary = run.get("summary") or {}
    finished = pd.to_datetime(run.get("finished_at"), errors="coerce")
    when = display.human_date(finished) if pd.notna(finished) else "unfinished"
    parts = [f"run {int(run['id'])}", when]
    if summary.get("n_queries") is not None:
        parts.append(f"built on {int(summary['n_queries']):,} queries")
    if summary.get("n_clusters") is not None:
        parts.append(f"{int(summary['n_clusters']):,} clusters")
    return " · ".join(parts)


def clear_selection() -> None:
    """Button callback: forget the category, parent, cluster and map selection."""
    for key in SELECTION_KEYS:
        st.session_state.pop(key, None)
    st.session_state["use_cases_map_version"] = st.session_state.get("use_cases_map_version", 0) + 1
    st.session_state.pop("use_cases_last_pick", None)


def drill_filters(table: pd.DataFrame) -> pd.DataFrame:
    """Category and parent pickers (and a clear button); returns the clusters in view."""
    real = table[table["cluster_id"] >= 0]
    sizes = real.groupby("category", dropna=True)["size"].sum().sort_values(ascending=False)
    # the clear button on the left: the map's hover toolbar (top right) would cover it
    c, a, b = st.columns([1, 2, 2], vertical_alignment="bottom")
    category = a.selectbox(
        "Category",
        [ALL, *sizes.index],
        format_func=lambda v: (
            v if v == ALL else f"{display.display_name(v)} ({int(sizes[v]):,} queries)"
        ),
        key="use_cases_category",
    )
    shown = real if category == ALL else real[real["category"] == category]
    parents = shown.groupby("parent_name", dropna=True)["size"].sum().sort_values(ascending=False)
    parent = b.selectbox(
        "Parent cluster",
        [ALL, *parents.index],
        format_func=lambda v: v if v == ALL else f"{v} ({int(parents[v]):,})",
        key="use_cases_parent",
    )
    if parent != ALL:
        shown = shown[shown["parent_name"] == parent]
    c.button("Clear selection", on_click=clear_selection, icon=":material/close:")
    return shown


def map_domain(values: pd.Series) -> tuple[float, float]:
    """A map axis's range: the middle 99% of the points plus 4% on each side (a few far-off
    points would otherwise squeeze every cluster into the middle; they are clipped)."""
    lo, hi = float(values.quantile(0.005)), float(values.quantile(0.995))
    pad = (hi - lo) * 0.04 or 1.0
    return lo - pad, hi + pad


def map_chart(points: pd.DataFrame, labels: pd.DataFrame) -> alt.Chart:
    """Queries coloured by parent; every cluster named on hover, the largest written in full
    where their labels fit without overlap (`place_labels`)."""
    pick = alt.selection_point(fields=["cluster_id"], name="cluster")
    domain_x, domain_y = map_domain(points["x"]), map_domain(points["y"])
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=domain_x, nice=False, zero=False))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=domain_y, nice=False, zero=False))
    dots = (
        alt.Chart(points)
        .mark_circle(size=18, clip=True)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "parent:N",
                scale=alt.Scale(scheme="tableau20"),
                legend=None,  # up to dozens of parents: named on hover and in the parent filter
            ),
            opacity=alt.condition(pick, alt.value(0.8), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("cluster:N", title="cluster"),
                alt.Tooltip("cluster_size:Q", title="queries in cluster", format=","),
                alt.Tooltip("parent:N", title="parent"),
                alt.Tooltip("category:N", title="this query's category"),
                alt.Tooltip("query:N", title="query"),
            ],
        )
        .add_params(pick)
    )
    text = alt.Chart(labels).encode(
        x=alt.X("lx:Q", scale=alt.Scale(domain=domain_x, nice=False, zero=False)),
        y=alt.Y("ly:Q", scale=alt.Scale(domain=domain_y, nice=False, zero=False)),
        text=alt.Text("label:N"),
        tooltip=[alt.Tooltip("label:N", title="cluster"), alt.Tooltip("size:Q", title="queries")],
    )
    style = {"fontSize": LABEL_FONT_PX, "align": "center", "baseline": "middle"}
    halo = text.mark_text(**style, stroke="white", strokeWidth=3, strokeOpacity=0.85)
    names = text.mark_text(**style, color="#222")
    # a fixed plot size (no fitting to the container), so the label boxes computed for it hold
    return (
        (dots + halo + names)
        .properties(width=MAP_WIDTH, height=MAP_HEIGHT)
        .configure(autosize=alt.AutoSizeParams(type="pad", contains="content"))
    )


def query_map(points: pd.DataFrame, in_view: pd.DataFrame, min_users: int) -> None:
    """The map of the queries in view (a seeded sample when large); a click selects a cluster."""
    points = points[points["cluster_id"].isin(in_view["cluster_id"])]
    shown = points.sample(MAP_POINTS, random_state=0) if len(points) > MAP_POINTS else points
    shown = privacy.redact_small_groups(shown, "cluster_id", min_users)
    sizes = in_view.set_index("cluster_id")["size"]
    shown = shown.assign(
        query=shown["query"].fillna("(hidden: fewer than k users)"),
        cluster=shown["cluster_name"].fillna("unclustered").astype(str),
        cluster_size=shown["cluster_id"].map(sizes),
        parent=shown["parent_name"].fillna("(none)").astype(str)
        if "parent_name" in shown
        else "(none)",
    )
    centres = (
        points[points["cluster_id"] >= 0]
        .groupby("cluster_id")
        .agg(x=("x", "median"), y=("y", "median"), size=("x", "size"))
        .join(in_view.set_index("cluster_id")["name"])
        .reset_index()
    )
    centres["label"] = centres["name"].astype(str)
    labels = place_labels(
        centres, MAP_WIDTH, MAP_HEIGHT, domain_x=map_domain(shown["x"]),
        domain_y=map_domain(shown["y"]), limit=MAP_LABELS,
    )  # fmt: skip
    if len(points) > MAP_POINTS:
        ui.say("caption", "Map shows a random {:,} of {:,} queries.", MAP_POINTS, len(points))
    ui.say(
        "caption",
        "Colour: parent cluster. {} of {} cluster names fit on the map; hover a point for any "
        "cluster's name, size, parent and category.",
        len(labels),
        len(centres),
    )
    key = f"use_cases_map_{st.session_state.get('use_cases_map_version', 0)}"
    event = st.altair_chart(
        map_chart(shown, labels), width="content", theme=None, on_select="rerun", key=key
    )
    selected = (getattr(event, "selection", None) or {}).get("cluster") or []
    if (
        selected
        and isinstance(selected, list)
        and "cluster_id" in selected[0]
        and st.session_state.get("use_cases_last_pick") != selected[0]
    ):
        st.session_state["use_cases_last_pick"] = selected[0]
        st.session_state["use_cases_cluster"] = int(selected[0]["cluster_id"])


def cluster_list(in_view: pd.DataFrame, run_id: int) -> None:
    """The clusters in view, largest first, every name and parent whole: a table whose cells
    wrap (in a box that scrolls), not a grid that cuts them; the download keeps every column."""
    stored = in_view[[c for c in CLUSTER_COLUMNS if c in in_view]].copy()
    stored["keywords"] = stored["keywords"].map(
        lambda k: ", ".join(k[:8]) if isinstance(k, list) else ""
    )
    stored = stored.sort_values("size", ascending=False)
    shown = stored.drop(columns=["description", "novel"], errors="ignore")  # in the detail below
    if "category" in shown:
        shown["category"] = shown["category"].map(display.display_name)
    shown = shown.rename(columns={"parent_name": "parent", "cluster_id": "cluster"})
    ui.table(shown[[c for c in CLUSTER_GRID if c in shown]], height=CLUSTER_LIST_HEIGHT_PX)
    ui.download_csv(
        stored.rename(columns={"parent_name": "parent"}), f"taxonomy-run{run_id}-clusters.csv"
    )


def cluster_queries(
    cluster: pd.Series, queries: pd.DataFrame, min_users: int, key: str = "use_cases"
) -> pd.DataFrame | None:
    """One cluster's queries (None when the privacy rule hides them)."""
    mine = queries[queries["cluster_id"] == cluster["cluster_id"]]
    users = privacy.distinct_users(mine["user_id"])
    if users < min_users:
        ui.say(
            "warning",
            "Example queries hidden: this cluster's queries come from {} distinct users, fewer "
            "than {} (setting privacy_min_users). The cluster still counts in every share.",
            users,
            min_users,
        )
        return None
    return mine


def category_mix(queries: pd.DataFrame) -> str:
    """'Knowledge 80%, Task execution 20%': the share of a cluster's queries per own category
    (a query that disagrees confidently with its cluster keeps its own)."""
    if "category" not in queries or queries.empty:
        return ""
    shares = queries["category"].fillna("unclustered").value_counts(normalize=True)
    return ", ".join(f"{display.display_name(name)} {share:.0%}" for name, share in shares.items())


def drill_down(cluster: pd.Series, queries: pd.DataFrame, min_users: int, run_id: int) -> None:
    """One cluster's queries, filtered by model, outcome and language (privacy rule applied)."""
    ui.say("subheader", "Cluster {}: {}", int(cluster["cluster_id"]), cluster["name"])
    ui.say(
        "caption",
        "{} · category {} · parent {}",
        display.plural(int(cluster["size"]), "query", "queries"),
        display.display_name(cluster.get("category")),
        _or_dash(cluster.get("parent_name")),
    )
    ui.show_user_text("Description", cluster.get("description"))
    mine = cluster_queries(cluster, queries, min_users)
    if mine is None:
        return
    mix = category_mix(mine)
    if mix:
        ui.say("caption", "Its queries by their own category: {}", mix)
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
    ui.say(
        "caption",
        "{} match. Click a row to read its whole query below the table.",
        display.plural(len(mine), "query", "queries"),
    )
    stored = mine[
        ["query", "modality", "model_a", "model_b", "winner", "language", "interaction_id"]
    ].head(1000)
    # the language is a filter above and the id is in the detail below (and in the download):
    # the grid's width goes to the query
    shown = (
        stored.drop(columns=["language"])
        .assign(
            modality=stored["modality"].map(display.display_name),
            winner=stored["winner"].map(display.display_name),
        )
        .rename(columns={"winner": "vote", **display.rename_columns(["model_a", "model_b"])})
    )
    event = ui.dataframe(
        shown.drop(columns=["interaction_id"]),
        on_select="rerun",
        selection_mode="single-row",
        key="use_cases_queries",
    )
    # the file keeps the stored column names and values (scripts read it)
    ui.download_csv(stored, f"taxonomy-run{run_id}-cluster{int(cluster['cluster_id'])}-queries.csv")
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if rows and rows[0] < len(shown):
        picked = shown.iloc[rows[0]]
        ui.show_user_text(f"Query of {picked['interaction_id']}", picked["query"])


def compare_clusters(
    app: AppContext, run_id: int, table: pd.DataFrame, queries: pd.DataFrame
) -> None:
    """Two clusters side by side: size, modality mix, win share per model, loss reasons,
    central queries."""
    real = table[table["cluster_id"] >= 0].sort_values("size", ascending=False)
    if len(real) < 2:
        return
    labels = {
        int(r.cluster_id): f"{int(r.cluster_id)}: {r.name} ({int(r.size)})"
        for r in real.itertuples()
    }
    ids = list(labels)
    left, right = st.columns(2)
    first = left.selectbox("Cluster A", ids, index=0, format_func=labels.get, key="use_cases_cmp_a")
    second = right.selectbox(
        "Cluster B", ids, index=1, format_func=labels.get, key="use_cases_cmp_b"
    )
    min_users = int(app.settings.privacy_min_users)
    reasons = loaders.taxonomy.cluster_loss_reasons(app, run_id)
    for side, column, cluster_id in (("A", left, first), ("B", right, second)):
        cluster = real[real["cluster_id"] == cluster_id].iloc[0]
        mine = queries[queries["cluster_id"] == cluster_id]
        coded = reasons.loc[reasons["cluster_id"] == cluster_id, "items"]
        with column:
            ui.say("markdown", "**{} · {}**", side, cluster["name"])
            audio = (mine["modality"] == "audio_primary").mean() if len(mine) else 0.0
            ui.say(
                "caption",
                "{:,} queries · category {} · {} audio-primary · {:,} coded feedback items",
                int(cluster["size"]),
                display.display_name(cluster.get("category")),
                ui.percent(audio),
                int(coded.max()) if len(coded) else 0,
            )
            if privacy.may_show(mine["user_id"], min_users):
                examples = cluster.get("central_texts")
                if isinstance(examples, list) and examples:
                    st.text("\n".join(str(e) for e in examples[:3]))
            else:
                st.caption("central queries hidden (fewer distinct users than privacy_min_users)")
    sides = {second: f"B · {labels[second]}", first: f"A · {labels[first]}"}
    groups = list(dict.fromkeys([sides[first], sides[second]]))
    both = queries[queries["cluster_id"].isin([first, second])].assign(
        cluster=lambda f: f["cluster_id"].map(sides)
    )
    shares = loaders.taxonomy.win_shares(both, "cluster")
    if len(shares):
        st.caption("Share of battles won per model (ties half), 95% CI, in each cluster")
        st.altair_chart(win_share_chart(shares, groups), width="stretch")
    picked = reasons[reasons["cluster_id"].isin([first, second])]
    if picked.empty:
        st.caption("Loss reasons: no coded feedback on these clusters' queries.")
        return
    picked = picked.assign(cluster=picked["cluster_id"].map(sides))
    st.caption(
        "Share of the coded feedback on each cluster's queries that gives the loss reason "
        "(machine-coded), 95% Wilson CI"
    )
    st.altair_chart(loss_reason_chart(picked, groups), width="stretch")
    ui.download_csv(
        picked[["cluster", "code", "items", "share", "ci_low", "ci_high"]],
        f"taxonomy-run{run_id}-clusters-{first}-{second}-loss-reasons.csv",
    )


def loss_reason_chart(reasons: pd.DataFrame, groups: list[str]) -> alt.Chart:
    """Per loss reason (in words): its share in cluster A vs cluster B, with 95% CIs (most
    common first)."""
    reasons = reasons.assign(reason=reasons["code"].map(display.display_name))
    order = list(reasons.groupby("reason")["share"].max().sort_values(ascending=False).index)
    return share_chart(
        reasons,
        "reason",
        "share",
        "share of coded feedback giving the reason, 95% CI",
        [
            alt.Tooltip("reason:N", title="loss reason"),
            "cluster",
            "items",
            alt.Tooltip("share:Q", format=".1%"),
        ],
        groups,
        order=order,
    )


def win_share_chart(shares: pd.DataFrame, groups: list[str]) -> alt.Chart:
    """Per model: share won in cluster A vs cluster B, with 95% CIs."""
    return share_chart(
        shares,
        "model",
        "win_rate",
        "share of battles won, 95% CI",
        ["model", "cluster", "battles", alt.Tooltip("win_rate:Q", format=".1%")],
        groups,
    )


def share_chart(
    frame: pd.DataFrame,
    label: str,
    estimate: str,
    x_title: str,
    tooltip: list,
    groups: list[str],
    order: list[str] | None = None,
) -> alt.Chart:
    """Per `label`: a share in each cluster (`groups`: A's name, then B's) side by side, with
    95% CIs."""
    return interval_chart(
        frame,
        label=label,
        estimate=estimate,
        x_title=x_title,
        order=order,
        x_format="%",
        colour=alt.Color(
            "cluster:N", sort=groups, legend=alt.Legend(orient="top", title=None, labelLimit=400)
        ),
        offset=alt.YOffset("cluster:N", sort=groups),
        tooltip=tooltip,
        step=14,
        point_size=60,
        rule={},
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
        names = loaders.taxonomy.category_names(app)
        current = names.index(cluster["category"]) if cluster["category"] in names else 0
        category = st.selectbox("Category", names, index=current, key="use_cases_recat")
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
            writes.record_taxonomy_edit(app, kind, ids, value, note),
        )
    except ArenalensError as exc:
        st.session_state["use_cases_message"] = ("error", ui.fmt("not saved: {}", exc))
    st.rerun()


def render() -> None:
    st.title("Use cases")
    app = loaders.cache.app_context()
    with ui.error_boundary():
        missing = loaders.taxonomy.taxonomy_ready(app)
        if missing:
            ui.show("info", missing)
            return
        message = st.session_state.pop("use_cases_message", None)
        if message:
            ui.show(message[0], message[1])
        runs = loaders.workspace.latest_runs(app, "taxonomy")
        labels = {int(r["id"]): run_label(r) for _, r in runs.iterrows()}
        run_id = st.selectbox(
            "Taxonomy run", list(labels), format_func=labels.get, key="use_cases_run"
        )
        min_users = int(app.settings.privacy_min_users)
        table = loaders.taxonomy.clusters(app, run_id, 0)
        queries = loaders.taxonomy.query_clusters(app, run_id)
        outliers = int(table.loc[table["cluster_id"] < 0, "size"].sum())
        a, b, c, d = st.columns(4)
        a.metric("Queries", f"{len(queries):,}")
        b.metric("Clusters", f"{int((table['cluster_id'] >= 0).sum()):,}")
        c.metric("Parents", f"{len(loaders.taxonomy.clusters(app, run_id, 1)):,}")
        d.metric("Unclustered", ui.percent(outliers / len(queries) if len(queries) else None))
        sections.conversation_shares(app, run_id)  # only where the run holds conversations
        st.subheader("Drill down: category → parent → cluster → queries")
        in_view = drill_filters(table)
        query_map(queries, in_view, min_users)
        st.caption(
            "Click a point to open its cluster below. Category and modality shares with their "
            "95% CIs are on the Overview page."
        )
        cluster_list(in_view, run_id)
        ids = [int(i) for i in in_view.sort_values("size", ascending=False)["cluster_id"]]
        if not ids:
            st.info("No cluster in this selection.")
            return
        if st.session_state.get("use_cases_cluster") not in ids:
            st.session_state["use_cases_cluster"] = ids[0]
        names = {
            int(r.cluster_id): f"{int(r.cluster_id)}: {r.name} ({int(r.size)})"
            for r in table.itertuples()
        }
        chosen = st.selectbox(
            "Cluster (or click a point on the map)",
            ids,
            format_func=names.get,
            key="use_cases_cluster",
        )
        cluster = table[table["cluster_id"] == chosen].iloc[0]
        drill_down(cluster, queries, min_users, run_id)
        with st.expander("Edit this cluster (stored as an edit; survives rebuilds)"):
            edit_forms(app, cluster, table)
            edits = loaders.taxonomy.taxonomy_edits(app)
            if len(edits):
                st.caption("Active edits, in the order they apply")
                ui.dataframe(edits, budget_px=ui.PAGE_WIDTH_PX - 40)
        st.subheader("Compare two clusters")
        compare_clusters(app, run_id, table, queries)


render()
