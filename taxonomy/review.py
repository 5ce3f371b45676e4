"""Analyst review of cluster names: a sheet to rate and correct, read back as edits.

The sheet has one row per cluster: its name and description, its 5 most central queries and
its 3 boundary queries (the members least similar to its centroid), and three columns for the
analyst: `understandable` (yes / no: could you guess what the cluster holds from its name
alone?), `corrected_name` and `reviewer`. Read back, a rating becomes a `rate` edit and a
corrected name a `rename` edit, so both follow the cluster through rebuilds like any edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from arenalens.csv_safe import restore_record
from arenalens.ingest.readers import csv_dict_rows, csv_import_errors
from taxonomy.edits import Edit
from taxonomy.errors import TaxonomyError

N_CENTRAL = 5
N_BOUNDARY = 3
RATINGS = {"yes": "understandable", "y": "understandable", "1": "understandable",
           "no": "not understandable", "n": "not understandable", "0": "not understandable"}  # fmt: skip
ANALYST_COLUMNS = ["understandable", "corrected_name", "reviewer"]
SHEET_COLUMNS = [
    "cluster_id", "parent", "size", "category", "name", "description",
    *(f"central_{i}" for i in range(1, N_CENTRAL + 1)),
    *(f"boundary_{i}" for i in range(1, N_BOUNDARY + 1)),
    *ANALYST_COLUMNS,
]  # fmt: skip


def review_sheet(
    clusters: pd.DataFrame, assignments: pd.DataFrame, texts: pd.Series
) -> pd.DataFrame:
    """One row per live leaf cluster, largest first. `clusters`: the run's clusters table with
    `parent_name`; `assignments`: interaction_id, cluster_id, similarity; `texts`: query text
    by interaction id."""
    leaves = clusters[
        (clusters["level"] == 0) & (clusters["cluster_id"] >= 0) & clusters["merged_into"].isna()
    ].sort_values("size", ascending=False)
    members = assignments.assign(query=assignments["interaction_id"].map(texts))
    rows = []
    for leaf in leaves.itertuples(index=False):
        central = _distinct(list(leaf.central_texts or []), N_CENTRAL)
        own = members[members["cluster_id"] == leaf.cluster_id].sort_values("similarity")
        boundary = _distinct(
            [q for q in own["query"].dropna().astype(str) if q not in central], N_BOUNDARY
        )
        row = {
            "cluster_id": int(leaf.cluster_id), "parent": leaf.parent_name, "size": int(leaf.size),
            "category": leaf.category, "name": leaf.name, "description": leaf.description,
        }  # fmt: skip
        row |= {
            f"central_{i + 1}": (central[i] if i < len(central) else "") for i in range(N_CENTRAL)
        }
        row |= {
            f"boundary_{i + 1}": (boundary[i] if i < len(boundary) else "")
            for i in range(N_BOUNDARY)
        }
        row |= dict.fromkeys(ANALYST_COLUMNS, "")
        rows.append(row)
    return pd.DataFrame(rows, columns=SHEET_COLUMNS)


def _distinct(texts: Sequence[str], limit: int) -> list[str]:
    seen: set[str] = set()
    out = []
    for text in texts:
        key = text.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(text)
        if len(out) == limit:
            break
    return out


@dataclass(frozen=True)
class ReviewRow:
    """One analyst's verdict on one cluster."""

    cluster_id: int
    rating: str | None  # "understandable" | "not understandable" | None (not rated)
    corrected_name: str | None
    reviewer: str


def read_review(path: str | Path, known_ids: set[int]) -> list[ReviewRow]:
    """Rows of a filled-in review sheet (CSV); a bad row refuses the whole file, naming its line."""
    path = Path(path)
    if not path.is_file():
        raise TaxonomyError(f"{path}: review sheet not found")
    with csv_import_errors(path, TaxonomyError):
        reader = csv_dict_rows(path)  # ingest's decoding: UTF-8 (BOM or not), UTF-16/32
        missing = {"cluster_id", "understandable", "corrected_name"} - set(reader.fieldnames or [])
        if missing:
            raise TaxonomyError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                "export a sheet with `arenalens taxonomy review export`"
            )
        rows = []
        for line, raw in enumerate(reader, start=2):
            record = restore_record(raw)  # our export's formula escapes undone
            try:
                cluster_id = int(str(record["cluster_id"]).strip())
            except ValueError:
                raise TaxonomyError(f"{path}, line {line}: cluster_id is not a number") from None
            if cluster_id not in known_ids:
                raise TaxonomyError(
                    f"{path}, line {line}: no cluster {cluster_id} in the latest run"
                )
            answer = str(record.get("understandable") or "").strip().lower()
            if answer and answer not in RATINGS:
                raise TaxonomyError(
                    f"{path}, line {line}: understandable must be yes or no (or empty), "
                    f"got {answer!r}"
                )
            name = " ".join(str(record.get("corrected_name") or "").split())
            if answer or name:
                rows.append(
                    ReviewRow(
                        cluster_id,
                        RATINGS.get(answer),
                        name or None,
                        str(record.get("reviewer") or "").strip() or "analyst",
                    )
                )
    return rows


def review_edits(rows: Sequence[ReviewRow]) -> list[tuple[Edit, str]]:
    """(edit, note) per verdict: a `rate` edit per rating, a `rename` edit per corrected name."""
    out = []
    for row in rows:
        if row.rating:
            out.append((Edit("rate", (row.cluster_id,), row.rating), f"review by {row.reviewer}"))
        if row.corrected_name:
            out.append(
                (Edit("rename", (row.cluster_id,), row.corrected_name), f"review by {row.reviewer}")
            )
    return out


def understandable_share(edits: Sequence[Edit], cluster_ids: set[int]) -> dict[str, float | int]:
    """Share of rated clusters (of `cluster_ids`) whose latest rating is 'understandable'."""
    latest: dict[int, str] = {}
    for edit in edits:
        if edit.kind == "rate" and edit.cluster_ids[0] in cluster_ids and edit.value:
            latest[edit.cluster_ids[0]] = edit.value
    rated = len(latest)
    good = sum(v == "understandable" for v in latest.values())
    return {
        "names_rated": rated,
        "names_understandable_share": good / rated if rated else float("nan"),
    }
