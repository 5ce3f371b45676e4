"""Stage orchestration: build a run (fit, match, edit, persist), assign new queries, diff, evaluate."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from arenalens.labeler.base import Labeler
from arenalens.store import Store
from taxonomy import persist
from taxonomy.assign import TaxonomyAssigner, assign_batches, assign_on_ray, map_reference_rows
from taxonomy.categories import CategorySet, Encoder
from taxonomy.cluster import UNCLUSTERED
from taxonomy.conversations import (
    FIT_SAMPLE,
    TopicChanges,
    cluster_fit_floors,
    count_topic_changes,
    follow_first_turns,
    later_turn_topics,
    later_turns_among,
    split_turns,
)
from taxonomy.edits import RATING_VALUES, Edit, EditReport, apply_edits
from taxonomy.errors import EditError, TaxonomyError
from taxonomy.evaluate import category_accuracy, clustering_scores, purity
from taxonomy.matching import diff_runs, match_clusters, members_by_cluster, stable_ids
from taxonomy.model import TaxonomyParams, TaxonomyResult, fit_taxonomy
from taxonomy.review import read_review, review_edits, review_sheet, understandable_share
from taxonomy.timing import FIT_STAGES, StageTimer

BUILD_STAGES = ("embed", *FIT_STAGES, "match", "persist")


@dataclass
class BuildSummary:
    """What a build did, for the CLI line and the run's stored summary."""

    run_id: int
    previous_run_id: int | None
    metrics: dict
    timings: dict
    matched: int = 0
    new_clusters: int = 0
    edits_applied: int = 0
    edits_skipped: list[str] = field(default_factory=list)
    conversations: TopicChanges | None = None  # when the workspace holds conversations
    topics: pd.DataFrame | None = None  # per later turn (`later_turn_topics`), not stored

    def line(self) -> str:
        m = self.metrics
        text = (
            f"taxonomy run {self.run_id}: {m['n_queries']} queries -> {m['n_clusters']} clusters in "
            f"{m['n_parents']} parents, {m['outlier_share']:.1%} unclustered "
            f"({m['outlier_share_raw']:.1%} before reassignment), {m['novel_clusters']} novel"
        )
        if m.get("clusters_split_by_theme"):
            split = m["clusters_split_by_theme"]
            text += f"; {split} cluster{'s' if split != 1 else ''} split off where themes mixed"
        if m.get("fit_on_sample"):
            text += f"; fitted on a sample of {m['n_fit']}, the rest assigned"
        if self.previous_run_id is not None:
            text += f"; {self.matched} clusters continue run {self.previous_run_id}, {self.new_clusters} new"
        if self.edits_applied or self.edits_skipped:
            text += f"; {self.edits_applied} edits re-applied, {len(self.edits_skipped)} skipped"
        if self.conversations is not None:
            text += f"; {self.conversations.sentence}"
        return text


def _relabel(
    result: TaxonomyResult,
    leaf_map: dict[int, int],
    parent_map: dict[int, int],
    matched: dict,
    parent_matched: dict,
) -> None:
    """Swap local ids for stable ids in place."""
    c, a = result.clusters, result.assignments
    leaf = c["level"] == 0
    keep_unclustered = {UNCLUSTERED: UNCLUSTERED}
    c.loc[leaf, "matched_from"] = [matched.get(int(k)) for k in c.loc[leaf, "cluster_id"]]
    c.loc[~leaf, "matched_from"] = [parent_matched.get(int(k)) for k in c.loc[~leaf, "cluster_id"]]
    c.loc[leaf, "cluster_id"] = [
        leaf_map.get(int(k), keep_unclustered.get(int(k))) for k in c.loc[leaf, "cluster_id"]
    ]
    c.loc[~leaf, "cluster_id"] = [parent_map[int(k)] for k in c.loc[~leaf, "cluster_id"]]
    c["parent_id"] = [parent_map.get(int(p)) if pd.notna(p) else None for p in c["parent_id"]]
    for column in ("base_cluster_id", "cluster_id"):
        a[column] = [leaf_map.get(int(k), UNCLUSTERED) for k in a[column]]


def _match_to_previous(
    store: Store, result: TaxonomyResult, previous_run: int | None
) -> tuple[dict, dict]:
    """Match leaves and parents to the previous run; returns (leaf matches, parent matches)."""
    if previous_run is None:
        return {}, {}
    prev_clusters = persist.read_clusters(store, previous_run)
    prev_assign = persist.read_assignments(store, previous_run)
    c, a = result.clusters, result.assignments
    prev_leaf = prev_clusters[(prev_clusters["level"] == 0) & (prev_clusters["cluster_id"] >= 0)]
    matched = match_clusters(
        members_by_cluster(prev_assign),
        members_by_cluster(a),
        {int(r.cluster_id): r.centroid for r in prev_leaf.itertuples() if r.centroid is not None},
        {
            int(r.cluster_id): r.centroid
            for r in c[(c["level"] == 0) & (c["cluster_id"] >= 0)].itertuples()
        },
    )
    prev_parent_of = dict(
        zip(prev_leaf["cluster_id"].astype(int), prev_leaf["parent_id"], strict=True)
    )
    cur_leaf = c[(c["level"] == 0) & (c["cluster_id"] >= 0)]
    cur_parent_of = dict(
        zip(cur_leaf["cluster_id"].astype(int), cur_leaf["parent_id"], strict=True)
    )

    def parent_members(frame: pd.DataFrame, parent_of: dict) -> dict[int, set[str]]:
        parents = frame["base_cluster_id"].map(lambda k: parent_of.get(int(k)))
        return {
            int(p): set(g["interaction_id"])
            for p, g in frame[parents.notna()].groupby(parents[parents.notna()])
        }

    parent_matched = match_clusters(
        parent_members(prev_assign, prev_parent_of), parent_members(a, cur_parent_of)
    )
    # a continuing cluster keeps the name it had (its keywords and central texts are refreshed),
    # unless that name came from another namer (e.g. an older offline namer: names improve)
    prev_by_id = prev_leaf.set_index("cluster_id")
    for local, prev in matched.items():
        row = (c["level"] == 0) & (c["cluster_id"] == local)
        if prev_by_id.loc[prev, "labeler"] != c.loc[row, "labeler"].iloc[0]:
            continue
        c.loc[row, ["auto_name", "name", "description"]] = [
            prev_by_id.loc[prev, "auto_name"],
            prev_by_id.loc[prev, "auto_name"],
            prev_by_id.loc[prev, "description"],
        ]
    # a parent named from its children's names (themes) is renamed when they are
    children_renamed = set(prev_leaf["labeler"].dropna()) != set(cur_leaf["labeler"].dropna())
    prev_parents = prev_clusters[prev_clusters["level"] == 1].set_index("cluster_id")
    for local, prev in parent_matched.items():
        row = (c["level"] == 1) & (c["cluster_id"] == local)
        if children_renamed or prev_parents.loc[prev, "labeler"] != c.loc[row, "labeler"].iloc[0]:
            continue
        c.loc[row, ["auto_name", "name", "description"]] = [
            prev_parents.loc[prev, "auto_name"],
            prev_parents.loc[prev, "auto_name"],
            prev_parents.loc[prev, "description"],
        ]
    return matched, parent_matched


def build_taxonomy(
    store: Store,
    encode: Encoder,
    labeler: Labeler,
    categories: CategorySet,
    params: TaxonomyParams | None = None,
    embedding_model: str | None = None,
    show_progress: bool | None = None,
) -> BuildSummary:
    """Fit a new taxonomy run on every query in the store, matched to the previous run, edits re-applied.

    `show_progress`: a bar by stage (None: on a terminal only); timings go into the run summary.
    """
    params = params or TaxonomyParams()
    every_query = store.queries_frame()
    # a conversation is clustered by its first turn; its later turns follow it (see
    # taxonomy.conversations), so only single-turn queries and first turns are fitted
    turns = store.conversation_turns_frame()[["id", "conversation_id", "turn"]]
    queries, later = split_turns(every_query, turns)
    if len(queries) < 10:
        raise TaxonomyError(
            f"the workspace holds {len(queries)} queries; a taxonomy needs at least 10 (ingest some first)"
        )
    previous_run = persist.latest_run_id(store)
    config = params.to_dict() | {"categories": categories.source, "labeler": labeler.name}
    with (
        store.run(persist.STAGE, config, model=embedding_model) as run,
        StageTimer(BUILD_STAGES, desc="taxonomy build", show_progress=show_progress) as timer,
    ):
        run_id = run.id
        texts = queries["query"].astype(str).tolist()
        with timer.stage("embed"):
            embeddings = encode(texts)
        result = fit_taxonomy(
            texts, embeddings, labeler, encode, categories, params,
            interaction_ids=queries["id"].tolist(), timer=timer,
        )  # fmt: skip
        with timer.stage("match"):
            matched, parent_matched = _match_to_previous(store, result, previous_run)
            c = result.clusters
            leaf_local = [
                int(k) for k in c.loc[(c["level"] == 0) & (c["cluster_id"] >= 0), "cluster_id"]
            ]
            parent_local = [int(k) for k in c.loc[c["level"] == 1, "cluster_id"]]
            leaf_map = stable_ids(leaf_local, matched, persist.next_cluster_id(store, 0))
            parent_map = stable_ids(parent_local, parent_matched, persist.next_cluster_id(store, 1))
            _relabel(result, leaf_map, parent_map, matched, parent_matched)
            result.assignments["source"] = np.where(
                result.assignments["in_fit_sample"], "fit", "sample-assign"
            )
            clusters, assignments, report = apply_edits(
                result.clusters, result.assignments, persist.list_edits(store), categories
            )
        with timer.stage("persist"):
            topics = None
            if len(later):
                placed, topics = _place_later_turns(
                    later, every_query, encode, clusters, assignments
                )
                assignments = pd.concat([assignments, placed], ignore_index=True)
                _recount(clusters, assignments["cluster_id"].value_counts())
            persist.write_run(store, run_id, clusters, assignments)
        result.timings = dict(timer.timings)
        summary = BuildSummary(
            run_id, previous_run, result.metrics, result.timings, len(matched), len(leaf_local) - len(matched),
            len(report.applied), [f"edit {e.id} ({e.kind}): {why}" for e, why in report.skipped],
        )  # fmt: skip
        summary.topics = topics
        if len(turns):
            summary.conversations = count_topic_changes(
                topics if topics is not None else later.assign(topic_change=None),
                turns["conversation_id"].nunique(),
            )
        run.summary.update({
            **result.metrics, "timings": result.timings, "previous_run_id": previous_run,
            "matched_clusters": summary.matched, "new_clusters": summary.new_clusters,
            "edits_applied": summary.edits_applied, "edits_skipped": summary.edits_skipped,
            "conversations": summary.conversations.to_dict() if summary.conversations else None,
        })  # fmt: skip
    return summary


def _place_later_turns(
    later: pd.DataFrame,
    queries: pd.DataFrame,
    encode: Encoder,
    clusters: pd.DataFrame,
    assignments: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assignment rows of the later turns (each follows its conversation's first turn, which
    `assignments` holds), and each later turn's topic against that cluster
    (`taxonomy.conversations`); `queries` (id, query) holds the later turns' queries."""
    texts = queries.set_index("id").loc[later["id"], "query"].astype(str).tolist()
    base = assignments.set_index("interaction_id")["base_cluster_id"]
    leaves = clusters[(clusters["level"] == 0) & (clusters["cluster_id"] >= 0)]
    centroids = {
        int(k): np.asarray(c, float)
        for k, c in zip(leaves["cluster_id"], leaves["centroid"], strict=True)
        if c is not None
    }
    # each cluster's fit floor, from (a sample of) its queries that `queries` holds: a build
    # passes every query; `taxonomy assign` passes only new ones and uses no topics
    text_of = queries.set_index("id")["query"]
    members = assignments[
        assignments["base_cluster_id"].isin(list(centroids))
        & assignments["interaction_id"].isin(text_of.index)
    ]
    members = members.groupby("base_cluster_id", group_keys=False).head(FIT_SAMPLE)
    floors = (
        cluster_fit_floors(
            encode(text_of.loc[members["interaction_id"]].astype(str).tolist()),
            members["base_cluster_id"].to_numpy(),
            centroids,
        )
        if len(members)
        else {}
    )
    topics = later_turn_topics(
        later, encode(texts), {f: int(base[f]) for f in later["first_id"]}, centroids,
        fit_floors=floors,
    )  # fmt: skip
    return follow_first_turns(assignments, later, topics), topics


def reapply_edits(store: Store, categories: CategorySet, run_id: int | None = None) -> EditReport:
    """Recompute a run's effective tables from its base clusters and all active edits."""
    run_id = persist.resolve_run(store, run_id)
    clusters = persist.read_clusters(store, run_id)
    assignments = persist.read_assignments(store, run_id)
    base = clusters.copy()
    base["name"] = base["auto_name"]
    base["merged_into"] = None
    leaf = (base["level"] == 0) & (base["cluster_id"] >= 0)
    effective = clusters[leaf].set_index("cluster_id")["category"]
    base.loc[leaf, "category"] = base.loc[leaf, "auto_category"]
    auto_category = base[leaf].set_index("cluster_id")["auto_category"]
    # queries that follow their (effective) cluster's category go back to its automatic one;
    # a query that kept its own category against its cluster's keeps it
    follows = assignments["category"] == assignments["cluster_id"].map(effective)
    assignments["cluster_id"] = assignments["base_cluster_id"]
    clustered = (assignments["cluster_id"] >= 0) & follows
    assignments.loc[clustered, "category"] = assignments.loc[clustered, "cluster_id"].map(
        auto_category
    )
    clusters, assignments, report = apply_edits(
        base, assignments, persist.list_edits(store), categories
    )
    _recount(clusters, assignments["cluster_id"].value_counts())
    persist.write_run(store, run_id, clusters, assignments)
    return report


def validate_edit(store: Store, edit: Edit, categories: CategorySet) -> None:
    """Refuse an edit that names an unknown category, absent clusters or an empty name."""
    if edit.kind == "recategorise" and edit.value not in categories.names:
        raise EditError(f"category {edit.value!r} is not one of {', '.join(categories.names)}")
    if edit.kind == "rename" and not (edit.value or "").strip():
        raise EditError("the new name is empty")
    if edit.kind == "rate" and edit.value not in RATING_VALUES:
        raise EditError(f"a rating is one of {', '.join(RATING_VALUES)}")
    if edit.kind == "merge" and (
        len(edit.cluster_ids) < 2 or edit.cluster_ids[0] in edit.cluster_ids[1:]
    ):
        raise EditError("merge needs a target and at least one other cluster (not itself)")
    clusters = persist.cluster_table(store, None, level=edit.level)
    known = set(clusters["cluster_id"].astype(int)) - {UNCLUSTERED}
    missing = [k for k in edit.cluster_ids if k not in known]
    if missing:
        kind = "parent" if edit.level else "cluster"
        raise EditError(
            f"no {kind} with id {missing} in the latest run; see `arenalens taxonomy show`"
        )


def record_edit(
    store: Store, edit: Edit, categories: CategorySet, note: str | None = None
) -> tuple[int, EditReport]:
    """Validate and store an analyst edit, then re-apply all edits to the latest run."""
    validate_edit(store, edit, categories)
    edit_id = persist.add_edit(store, edit, note)
    return edit_id, reapply_edits(store, categories)


def _recount(clusters: pd.DataFrame, counts: pd.Series) -> None:
    """Sizes from the effective assignments' counts per cluster id (leaves) and their parents."""
    leaf = clusters["level"] == 0
    clusters.loc[leaf, "size"] = [
        0 if pd.notna(m) else int(counts.get(int(k), 0))
        for k, m in zip(
            clusters.loc[leaf, "cluster_id"], clusters.loc[leaf, "merged_into"], strict=True
        )
    ]
    leaves = clusters[leaf & clusters["parent_id"].notna()]
    parent_sizes = leaves.groupby(leaves["parent_id"].astype(int))["size"].sum()
    parents = clusters["level"] == 1
    clusters.loc[parents, "size"] = [
        int(parent_sizes.get(int(k), 0)) for k in clusters.loc[parents, "cluster_id"]
    ]


def fit_assigner(
    store: Store,
    encode: Encoder,
    categories: CategorySet,
    run_id: int,
    threshold: float | None = None,
) -> TaxonomyAssigner:
    """The assigner of a stored run: its leaves, thresholds and a reference sample of its map."""
    run = store.runs_frame().set_index("id").loc[run_id]
    config = run["config"] or {}
    threshold = config.get("reassign_threshold", 0.4) if threshold is None else threshold
    clusters = persist.read_clusters(store, run_id)
    leaves = clusters[(clusters["level"] == 0) & (clusters["cluster_id"] >= 0)]
    fitted = persist.read_assignments(store, run_id)
    fitted = fitted[fitted["source"] == "fit"]
    reference = fitted.iloc[map_reference_rows(len(fitted))]
    id_to_text = store.queries_frame(include_extra=False).set_index("id")["query"].astype(str)
    per_query = "category_cluster_weight" in config or "category_override_margin" in config
    return TaxonomyAssigner(
        threshold,
        config.get("modality_margin", 0.08),
        # runs made before per-query categories follow their clusters' (None)
        config.get("category_cluster_weight", 0.5) if per_query else None,
        config.get("category_uncertain_below", 0.5),
        config.get("use_cases"),
    ).fit(
        leaves,
        categories,
        encode,
        (run["summary"] or {}).get("novel_threshold", 0.0),
        encode(reference["interaction_id"].map(id_to_text).tolist()),
        reference[["x", "y"]].to_numpy(np.float32),
    )


def unassigned_queries(store: Store, run_id: int) -> pd.DataFrame:
    """Queries (id, query) the run has not placed yet."""
    queries = store.queries_frame(include_extra=False)
    seen = set(persist.read_assignments(store, run_id)["interaction_id"])
    return queries.loc[~queries["id"].isin(seen), ["id", "query"]].reset_index(drop=True)


def assign_new_queries(
    store: Store,
    encode: Encoder,
    categories: CategorySet,
    run_id: int | None = None,
    threshold: float | None = None,
    ray_embedder: dict | None = None,
    batch_size: int | None = None,
) -> int:
    """Add queries the run has not seen to it, by nearest centroid (no re-clustering); returns how many.

    Locally (`encode` embeds, through the store's cache), or on Ray Data when `ray_embedder`
    (Embedder keyword arguments) is given: workers embed and assign, the driver appends each
    batch. Batches are appended as they finish, so an interrupted run keeps what it wrote and
    a rerun assigns only the rest; cluster sizes are recounted at the end.

    A later turn of a conversation follows its conversation's first turn (placed first when it
    is new too), as the build places it (`taxonomy.conversations`).
    """
    run_id = persist.resolve_run(store, run_id)
    new = unassigned_queries(store, run_id)
    if not len(new):
        return 0
    turns = store.conversation_turns_frame()[["id", "conversation_id", "turn", "query"]]
    later = later_turns_among(turns, set(new["id"]))
    first = new[~new["id"].isin(set(later["id"]))]
    clusters = persist.read_clusters(store, run_id)
    added = 0

    def append(rows: pd.DataFrame) -> None:
        persist.append_assignments(store, run_id, rows)

    if len(first):
        assigner = fit_assigner(store, encode, categories, run_id, threshold)
        if ray_embedder is not None:
            added = assign_on_ray(first, assigner, ray_embedder, append, batch_size or 1024)
        else:
            for rows in assign_batches(first, assigner, encode, batch_size or 50_000):
                append(rows)
                added += len(rows)
    if len(later):
        assignments = persist.read_assignments(store, run_id)
        rows, _ = _place_later_turns(later, new, encode, clusters, assignments)
        append(rows)
        added += len(rows)
    _recount(clusters, persist.cluster_counts(store, run_id))
    persist.write_clusters(store, run_id, clusters)
    return added


def diff_two_runs(
    store: Store, previous: int | None = None, current: int | None = None
) -> pd.DataFrame:
    """Split / merged / appeared / vanished / kept between two runs (default: the last two)."""
    runs = persist.taxonomy_runs(store)
    if current is None and previous is None:
        if len(runs) < 2:
            raise TaxonomyError(
                "diff needs two taxonomy runs; run `arenalens taxonomy build` again"
            )
        previous, current = int(runs["id"].iloc[-2]), int(runs["id"].iloc[-1])
    current = persist.resolve_run(store, current)
    previous = persist.resolve_run(store, previous)
    names = {}
    members = {}
    for run in (previous, current):
        clusters = persist.read_clusters(store, run)
        leaves = clusters[
            (clusters["level"] == 0)
            & (clusters["cluster_id"] >= 0)
            & clusters["merged_into"].isna()
        ]
        names[run] = dict(zip(leaves["cluster_id"].astype(int), leaves["name"], strict=True))
        members[run] = members_by_cluster(persist.read_assignments(store, run), "cluster_id")
    return diff_runs(members[previous], members[current], names[previous], names[current])


def evaluate_run(
    store: Store,
    gold_field: str,
    run_id: int | None = None,
    category_map: dict[str, str] | None = None,
) -> dict:
    """ARI / NMI / purity vs a gold metadata field, quality indices and outlier share of a run."""
    run_id = persist.resolve_run(store, run_id)
    assignments = persist.read_assignments(store, run_id)
    extra = store.queries_frame().set_index("id")["extra"]
    gold = assignments["interaction_id"].map(lambda i: (extra.get(i) or {}).get(gold_field))
    keep = gold.notna()
    if not keep.any():
        raise TaxonomyError(f"no query of run {run_id} has the metadata field {gold_field!r}")
    scores = clustering_scores(
        assignments.loc[keep, "cluster_id"].to_numpy(), gold[keep].astype(str).to_numpy()
    )
    summary = store.runs_frame().set_index("id").loc[run_id, "summary"] or {}
    out = {"run_id": run_id, "gold_field": gold_field, "n_evaluated": int(keep.sum()), **scores,
           "outlier_share_raw": summary.get("outlier_share_raw"), "dbcv": summary.get("dbcv"),
           "silhouette": summary.get("silhouette")}  # fmt: skip
    clusters = persist.read_clusters(store, run_id)
    leaves = clusters[(clusters["level"] == 0) & (clusters["cluster_id"] >= 0)]
    parent_of = dict(zip(leaves["cluster_id"].astype(int), leaves["parent_id"], strict=True))
    parents = assignments.loc[keep, "cluster_id"].map(lambda k: parent_of.get(int(k)))
    in_parent = parents.notna().to_numpy()
    if in_parent.any():
        parent_ids = parents[in_parent].astype(int).to_numpy()
        out["parent_purity"] = purity(parent_ids, gold[keep][in_parent].astype(str).to_numpy())
        out["largest_parent_share"] = float(
            pd.Series(parent_ids).value_counts(normalize=True).max()
        )
    live = set(leaves.loc[leaves["merged_into"].isna(), "cluster_id"].astype(int))
    out |= understandable_share(persist.list_edits(store), live)
    if category_map:
        out |= category_accuracy(assignments.loc[keep, "category"], gold[keep], category_map)
    return out


def export_review(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """The review sheet of a run (see `taxonomy.review`): names, central and boundary queries."""
    run_id = persist.resolve_run(store, run_id)
    clusters = persist.cluster_table(store, run_id, level=0, include_merged=True)
    assignments = persist.read_assignments(store, run_id)
    texts = store.queries_frame(include_extra=False).set_index("id")["query"]
    return review_sheet(clusters, assignments, texts)


def import_review(store: Store, path, categories: CategorySet) -> tuple[int, int, EditReport]:
    """Store a filled-in sheet's ratings and corrected names as edits; (ratings, renames, report)."""
    clusters = persist.cluster_table(store, None, level=0)
    known = set(clusters["cluster_id"].astype(int)) - {UNCLUSTERED}
    edits = review_edits(read_review(path, known))
    for edit, _ in edits:
        validate_edit(store, edit, categories)
    for edit, note in edits:
        persist.add_edit(store, edit, note)
    report = reapply_edits(store, categories)
    ratings = sum(e.kind == "rate" for e, _ in edits)
    return ratings, len(edits) - ratings, report
