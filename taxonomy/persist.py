"""The taxonomy's reads and writes through the Store, and the public read functions.

Public (dashboard, ranking): `latest_run_id`, `cluster_table`, `query_assignment_table`,
`map_coordinates`, `category_shares`, `modality_shares`, `human_labels`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select, update

from arenalens.csv_safe import restore_record
from arenalens.ingest.readers import csv_dict_rows, csv_import_errors
from arenalens.store import Store
from arenalens.store import tables as t
from arenalens.store.store import utcnow
from taxonomy.categories import MODALITIES, NOVEL, UNCERTAIN, CategorySet
from taxonomy.edits import EDIT_KINDS, Edit
from taxonomy.errors import LabelImportError, TaxonomyError
from taxonomy.shares import ppi_share_table, share_table
from taxonomy.tables import taxonomy_assignments, taxonomy_clusters, taxonomy_edits, taxonomy_labels

STAGE = "taxonomy"
CHUNK = 5000
CLUSTER_COLUMNS = [c.name for c in taxonomy_clusters.c if c.name != "run_id"]
ASSIGNMENT_COLUMNS = [c.name for c in taxonomy_assignments.c if c.name != "run_id"]


def _none(value: object) -> object:
    """NaN/NA -> None and numpy scalars -> Python, for the database."""
    if isinstance(value, list | dict | bytes):
        return value
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value.item() if hasattr(value, "item") else value


def _centroid_bytes(value: object) -> bytes | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return np.asarray(value, dtype=np.float32).tobytes()


def _cluster_rows(run_id: int, clusters: pd.DataFrame) -> list[dict]:
    rows = []
    for row in clusters.to_dict("records"):
        record = {c: _none(row.get(c)) for c in CLUSTER_COLUMNS if c != "centroid"}
        record["centroid"] = _centroid_bytes(row.get("centroid"))
        rows.append({"run_id": run_id, **record})
    return rows


def _assignment_rows(run_id: int, assignments: pd.DataFrame) -> list[dict]:
    return [
        {"run_id": run_id, **{c: _none(row.get(c)) for c in ASSIGNMENT_COLUMNS}}
        for row in assignments.to_dict("records")
    ]


def write_run(store: Store, run_id: int, clusters: pd.DataFrame, assignments: pd.DataFrame) -> None:
    """Replace a run's clusters and assignments in one transaction."""
    cluster_rows = _cluster_rows(run_id, clusters)
    assignment_rows = _assignment_rows(run_id, assignments)
    with store.transaction() as conn:
        conn.execute(delete(taxonomy_assignments).where(taxonomy_assignments.c.run_id == run_id))
        conn.execute(delete(taxonomy_clusters).where(taxonomy_clusters.c.run_id == run_id))
        if cluster_rows:
            conn.execute(taxonomy_clusters.insert(), cluster_rows)
        for start in range(0, len(assignment_rows), CHUNK):
            conn.execute(taxonomy_assignments.insert(), assignment_rows[start : start + CHUNK])


def write_clusters(store: Store, run_id: int, clusters: pd.DataFrame) -> None:
    """Replace a run's cluster rows (e.g. recounted sizes), assignments untouched."""
    cluster_rows = _cluster_rows(run_id, clusters)
    with store.transaction() as conn:
        conn.execute(delete(taxonomy_clusters).where(taxonomy_clusters.c.run_id == run_id))
        if cluster_rows:
            conn.execute(taxonomy_clusters.insert(), cluster_rows)


def append_assignments(store: Store, run_id: int, assignments: pd.DataFrame) -> None:
    """Add assignment rows to a run in one transaction (queries it has not placed yet)."""
    rows = _assignment_rows(run_id, assignments)
    with store.transaction() as conn:
        for start in range(0, len(rows), CHUNK):
            conn.execute(taxonomy_assignments.insert(), rows[start : start + CHUNK])


def cluster_counts(store: Store, run_id: int) -> pd.Series:
    """Queries per effective cluster id of a run (counted in SQL)."""
    a = taxonomy_assignments.c
    frame = store.read_frame(
        select(a.cluster_id, func.count().label("n"))
        .where(a.run_id == run_id)
        .group_by(a.cluster_id)
    )
    return frame.set_index("cluster_id")["n"].astype(int)


def latest_run_id(store: Store) -> int | None:
    """The newest finished taxonomy run, or None."""
    run = store.latest_run(STAGE)
    return int(run["id"]) if run else None


def taxonomy_runs(store: Store) -> pd.DataFrame:
    """All finished taxonomy runs (id, config, model, code_version, times, summary)."""
    runs = store.runs_frame()
    return (
        runs[(runs["stage"] == STAGE) & (runs["status"] == "done")].reset_index(drop=True)
        if len(runs)
        else runs
    )


def resolve_run(store: Store, run_id: int | None) -> int:
    """The given run id (checked) or the latest; a clear error when there is none."""
    if run_id is None:
        found = latest_run_id(store)
        if found is None:
            raise TaxonomyError(
                "no taxonomy run in this workspace; run `arenalens taxonomy build` first"
            )
        return found
    runs = taxonomy_runs(store)
    if not len(runs) or run_id not in set(runs["id"].astype(int)):
        raise TaxonomyError(f"run {run_id} is not a finished taxonomy run")
    return int(run_id)


def read_clusters(store: Store, run_id: int) -> pd.DataFrame:
    """All cluster and parent rows of a run (centroids as float32 arrays)."""
    frame = store.read_frame(
        select(taxonomy_clusters)
        .where(taxonomy_clusters.c.run_id == run_id)
        .order_by(taxonomy_clusters.c.level, taxonomy_clusters.c.cluster_id)
    )
    if len(frame):
        frame["centroid"] = [
            None if b is None else np.frombuffer(b, dtype=np.float32) for b in frame["centroid"]
        ]
    return frame.drop(columns=["run_id"])


def read_assignments(store: Store, run_id: int) -> pd.DataFrame:
    frame = store.read_frame(
        select(taxonomy_assignments)
        .where(taxonomy_assignments.c.run_id == run_id)
        .order_by(taxonomy_assignments.c.interaction_id)
    )
    return frame.drop(columns=["run_id"])


def next_cluster_id(store: Store, level: int) -> int:
    """One more than any id ever used at this level (ids are never reused)."""
    top = store.read_scalar(
        select(func.max(taxonomy_clusters.c.cluster_id)).where(taxonomy_clusters.c.level == level)
    )
    return int(top) + 1 if top is not None and top >= 0 else 0


# -- public reads ---------------------------------------------------------------
def cluster_table(
    store: Store, run_id: int | None = None, level: int | None = 0, include_merged: bool = False
) -> pd.DataFrame:
    """Clusters of a run (latest by default) with parent names, largest first."""
    run_id = resolve_run(store, run_id)
    frame = read_clusters(store, run_id)
    parents = frame[frame["level"] == 1].set_index("cluster_id")["name"].to_dict()
    frame["parent_name"] = frame["parent_id"].map(
        lambda p: parents.get(int(p)) if pd.notna(p) else None
    )
    if level is not None:
        frame = frame[frame["level"] == level]
    if not include_merged:
        frame = frame[frame["merged_into"].isna()]
    return frame.sort_values(["level", "size"], ascending=[True, False]).reset_index(drop=True)


def query_assignment_table(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """One row per query: interaction_id, cluster_id, cluster_name, parent_id, parent_name,
    category, modality, outlier, reassigned, source."""
    run_id = resolve_run(store, run_id)
    assignments = read_assignments(store, run_id)
    clusters = cluster_table(store, run_id, level=0, include_merged=True).set_index("cluster_id")
    out = assignments[
        ["interaction_id", "cluster_id", "category", "modality", "outlier", "reassigned", "source"]
    ].copy()
    out["cluster_name"] = out["cluster_id"].map(clusters["name"])
    out["parent_id"] = out["cluster_id"].map(clusters["parent_id"]).astype("Int64")
    out["parent_name"] = out["cluster_id"].map(clusters["parent_name"])
    columns = ["interaction_id", "cluster_id", "cluster_name", "parent_id", "parent_name", "category", "modality",
               "outlier", "reassigned", "source"]  # fmt: skip
    return out[columns]


def category_mix(store: Store, run_id: int | None = None) -> dict[int, dict[str, float]]:
    """Cluster id -> share of its queries per category (queries keep their own category, so a
    cluster's queries may be filed under several), largest first."""
    frame = read_assignments(store, resolve_run(store, run_id))
    out: dict[int, dict[str, float]] = {}
    for cluster_id, group in frame.groupby("cluster_id"):
        shares = group["category"].astype(str).value_counts(normalize=True)
        out[int(cluster_id)] = {str(k): float(v) for k, v in shares.items()}
    return out


def map_coordinates(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """2-D map of a run: interaction_id, x, y, cluster_id, cluster_name, parent_name, category,
    modality, query."""
    frame = query_assignment_table(store, run_id)
    assignments = read_assignments(store, resolve_run(store, run_id)).set_index("interaction_id")
    frame["x"] = frame["interaction_id"].map(assignments["x"])
    frame["y"] = frame["interaction_id"].map(assignments["y"])
    queries = store.queries_frame(include_extra=False).set_index("id")["query"]
    frame["query"] = frame["interaction_id"].map(queries)
    columns = ["interaction_id", "x", "y", "cluster_id", "cluster_name", "parent_name",
               "category", "modality", "query"]  # fmt: skip
    return frame[columns]


def _field_and_user(store: Store, run_id: int | None, field: str) -> pd.DataFrame:
    """interaction_id, `field` and the query's user for every assignment of a run (by id): the
    columns `query_assignment_table` and `Store.queries_frame` would give, in one narrow read."""
    a, i, tr = taxonomy_assignments.c, t.interactions.c, t.transcripts.c
    query = (
        select(a.interaction_id, a[field], i.user_id, i.query_text, tr.text.label("transcript"))
        .select_from(taxonomy_assignments)
        .outerjoin(t.interactions, i.id == a.interaction_id)
        .outerjoin(t.transcripts, tr.interaction_id == a.interaction_id)
        .where(a.run_id == resolve_run(store, run_id))
        .order_by(a.interaction_id)
    )
    frame = store.read_frame(query)
    text = frame["query_text"].where(frame["query_text"].notna(), frame["transcript"])
    has_query = text.notna() & (text.astype(str).str.strip() != "")
    # a user only counts where the interaction has a query, as in `Store.queries_frame`
    frame["user_id"] = frame["user_id"].where(has_query)
    return frame[["interaction_id", field, "user_id"]]


def _shares(store: Store, run_id: int | None, field: str) -> pd.DataFrame:
    frame = _field_and_user(store, run_id, field)
    table = share_table(frame[field].astype(str), frame["user_id"].tolist())
    human = human_labels(store, field)
    if len(human):
        predicted = frame.set_index("interaction_id")[field].astype(str)
        ppi = ppi_share_table(predicted, human)
        table = table.merge(ppi.drop(columns=["raw_share"]), on="label", how="outer")
        table["count"] = table["count"].fillna(0).astype(int)
        table["share"] = table["share"].fillna(0.0)
    return table


def conversation_category_shares(store: Store, run_id: int | None = None) -> pd.DataFrame | None:
    """Category shares counting each conversation once (by its first turn; a single-turn query
    is a conversation of one turn), or None when the run placed no later turn."""
    from taxonomy.conversations import conversation_shares

    run_id = resolve_run(store, run_id)
    a = taxonomy_assignments.c
    later = store.read_frame(
        select(a.interaction_id).where(a.run_id == run_id, a.source == "conversation")
    )
    if later.empty:
        return None
    frame = _field_and_user(store, run_id, "category")
    return conversation_shares(frame, "category", later["interaction_id"].tolist())


def category_shares(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """Category shares with 95% intervals; PPI columns (ppi_share, ppi_ci_*) when human labels exist."""
    return _shares(store, run_id, "category")


def modality_shares(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """Text- vs audio-primary shares with 95% intervals (and PPI columns when human labels exist)."""
    return _shares(store, run_id, "modality")


# -- edits ----------------------------------------------------------------------
def add_edit(store: Store, edit: Edit, note: str | None = None) -> int:
    if edit.kind not in EDIT_KINDS:
        raise ValueError(f"edit kind must be one of {EDIT_KINDS}")
    with store.transaction() as conn:
        result = conn.execute(
            taxonomy_edits.insert().values(
                kind=edit.kind, cluster_ids=list(edit.cluster_ids), level=edit.level, value=edit.value,
                note=note, created_at=utcnow(), active=True,
            )
        )  # fmt: skip
        return int(result.inserted_primary_key[0])


def list_edits(store: Store, active_only: bool = True) -> list[Edit]:
    query = select(taxonomy_edits).order_by(taxonomy_edits.c.id)
    if active_only:
        query = query.where(taxonomy_edits.c.active.is_(True))
    frame = store.read_frame(query)
    return [
        Edit(
            r["kind"],
            tuple(int(k) for k in r["cluster_ids"]),
            r["value"],
            int(r["level"]),
            int(r["id"]),
        )
        for r in frame.to_dict("records")
    ]


def deactivate_edit(store: Store, edit_id: int) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(taxonomy_edits).where(taxonomy_edits.c.id == edit_id).values(active=False)
        )


# -- human labels -------------------------------------------------------------------
def import_labels(store: Store, path: Path, categories: CategorySet) -> int:
    """Import human labels from CSV (query_id, category and/or modality, optional annotator).

    Validated first (unknown query ids, categories or modalities are refused naming the row);
    written in one transaction; re-importing replaces an annotator's earlier label.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelImportError(f"{path}: file not found")
    with csv_import_errors(path, LabelImportError):
        reader = csv_dict_rows(path)  # ingest's decoding: UTF-8 (BOM or not), UTF-16/32
        fields = set(reader.fieldnames or [])
        if "query_id" not in fields or not fields & {"category", "modality"}:
            raise LabelImportError(
                f"{path}: expected columns query_id and category and/or modality, got {sorted(fields)}"
            )
        records = [restore_record(r) for r in reader]  # our export's formula escapes undone
    known = set(store.queries_frame(include_extra=False)["id"])
    allowed = {
        "category": set(categories.names) | {NOVEL, UNCERTAIN},
        "modality": set(MODALITIES),
    }
    rows = []
    now = utcnow()
    for line, record in enumerate(records, start=2):
        query_id = (record.get("query_id") or "").strip()
        if query_id not in known:
            raise LabelImportError(
                f"{path}: line {line}: query_id {query_id!r} is not a query in this workspace"
            )
        annotator = (record.get("annotator") or "").strip() or "default"
        for field in ("category", "modality"):
            value = (record.get(field) or "").strip()
            if not value:
                continue
            if value not in allowed[field]:
                raise LabelImportError(
                    f"{path}: line {line}: {field} {value!r} is not one of {sorted(allowed[field])}"
                )
            rows.append({"interaction_id": query_id, "field": field, "annotator": annotator, "value": value,
                         "source": str(path), "imported_at": now})  # fmt: skip
    store.upsert(taxonomy_labels, rows, ["interaction_id", "field", "annotator"])
    return len(rows)


def human_labels(store: Store, field: str) -> pd.Series:
    """One human label per query for `field` (category | modality): the annotators' majority."""
    frame = store.read_frame(select(taxonomy_labels).where(taxonomy_labels.c.field == field))
    if not len(frame):
        return pd.Series(dtype=object)
    majority = frame.groupby("interaction_id")["value"].agg(
        lambda v: v.value_counts().sort_index().idxmax()
    )
    return majority.astype(str)


__all__ = [
    "add_edit", "category_mix", "category_shares", "cluster_table", "human_labels", "import_labels", "latest_run_id",
    "list_edits", "map_coordinates", "modality_shares", "query_assignment_table", "read_assignments",
    "read_clusters", "resolve_run", "taxonomy_runs", "write_run", "write_clusters",
    "append_assignments", "cluster_counts",
]  # fmt: skip
