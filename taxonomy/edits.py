"""Analyst edits (rename, merge, recategorise, and a name's rating): stored as edits, re-applied
to every later run. A `rate` edit changes nothing in the tables; it records an analyst's verdict
on a cluster's name ("understandable" or "not understandable"), kept with the cluster's id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from taxonomy.categories import NOVEL, CategorySet
from taxonomy.modality import final_modality

EDIT_KINDS = ("rename", "merge", "recategorise", "rate")
RATING_VALUES = ("understandable", "not understandable")


@dataclass(frozen=True)
class Edit:
    """One analyst edit; `cluster_ids` = [target] or, for merge, [target, source, ...]."""

    kind: str
    cluster_ids: tuple[int, ...]
    value: str | None = None
    level: int = 0
    id: int | None = None


@dataclass
class EditReport:
    applied: list[Edit]
    skipped: list[tuple[Edit, str]]


def _rows(clusters: pd.DataFrame, cluster_id: int, level: int) -> pd.Series:
    return (clusters["cluster_id"] == cluster_id) & (clusters["level"] == level)


def apply_edits(
    clusters: pd.DataFrame,
    assignments: pd.DataFrame,
    edits: Sequence[Edit],
    categories: CategorySet,
) -> tuple[pd.DataFrame, pd.DataFrame, EditReport]:
    """Apply edits in order to a run's tables (copies); an edit naming absent clusters is skipped."""
    clusters = clusters.copy()
    assignments = assignments.copy()
    report = EditReport([], [])
    for edit in edits:
        live = clusters[clusters["merged_into"].isna()] if "merged_into" in clusters else clusters
        missing = [k for k in edit.cluster_ids if not _rows(live, k, edit.level).any() or k < 0]
        if missing:
            report.skipped.append((edit, f"cluster(s) {missing} not in this run"))
            continue
        target = edit.cluster_ids[0]
        if edit.kind == "rename":
            clusters.loc[_rows(clusters, target, edit.level), "name"] = edit.value
        elif edit.kind == "rate":
            pass  # a verdict on the name, read by `taxonomy eval`
        elif edit.kind == "recategorise":
            if edit.value not in categories.names:
                report.skipped.append((edit, f"category {edit.value!r} not in {categories.source}"))
                continue
            row = _rows(clusters, target, 0)
            before = clusters.loc[row, "category"].iloc[0]
            clusters.loc[row, "category"] = edit.value
            # the queries that follow the cluster's category move with it; a query that kept
            # its own category (it disagreed confidently with its cluster) keeps it
            members = (assignments["cluster_id"] == target) & (
                (assignments["category"] == before) | (before is None) | pd.isna(before)
            )
            assignments.loc[members, "category"] = edit.value
        elif edit.kind == "merge":
            sources = list(edit.cluster_ids[1:])
            target_row = clusters[_rows(clusters, target, 0)].iloc[0]
            moved = assignments["cluster_id"].isin(sources)
            source_category = assignments["cluster_id"].map(
                clusters[(clusters["level"] == 0)].set_index("cluster_id")["category"]
            )
            follows = moved & (assignments["category"] == source_category)
            assignments.loc[moved, "cluster_id"] = target
            assignments.loc[follows, "category"] = target_row["category"]
            for source in sources:
                clusters.loc[_rows(clusters, source, 0), "merged_into"] = target
            clusters.loc[_rows(clusters, target, 0), "size"] = int(
                (assignments["cluster_id"] == target).sum()
            )
        else:
            report.skipped.append((edit, f"unknown edit kind {edit.kind!r}"))
            continue
        report.applied.append(edit)
    if len(assignments):
        assignments["modality"] = final_modality(
            assignments["query_modality"].tolist(),
            [categories.modality_of(c) if c != NOVEL else None for c in assignments["category"]],
        )
    return clusters, assignments, report
