"""Taxonomy tables on the shared metadata; every derived row points at its run (`runs.id`)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from arenalens.store.tables import metadata

# One row per cluster (level 0) or parent (level 1) of a run; ids are stable across matched runs.
taxonomy_clusters = Table(
    "taxonomy_clusters",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("cluster_id", Integer, primary_key=True),
    Column("level", Integer, primary_key=True),  # 0 = cluster, 1 = parent
    Column("parent_id", Integer),
    Column("name", Text, nullable=False),  # effective name (after analyst edits)
    Column("auto_name", Text, nullable=False),  # what the labeler said
    Column("description", Text),
    Column("keywords", JSON),
    Column("central_texts", JSON),
    Column("size", Integer, nullable=False),
    Column("category", String(64)),  # effective category (after edits); 'novel' when nothing fits
    Column("auto_category", String(64)),  # best-fitting category before the novel check / edits
    Column("category_confidence", Float),
    Column("novel", Boolean, nullable=False, default=False),
    Column("merged_into", Integer),  # set when an analyst merged this cluster into another
    Column("matched_from", Integer),  # the previous run's cluster this one continues (same id)
    Column("centroid", LargeBinary),  # float32 unit vector in embedding space
    Column("x", Float),
    Column("y", Float),
    Column("labeler", String(256)),
)

# One row per query of a run.
taxonomy_assignments = Table(
    "taxonomy_assignments",
    metadata,
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("base_cluster_id", Integer, nullable=False),  # before analyst merges (-1 = unclustered)
    Column("cluster_id", Integer, nullable=False, index=True),  # effective
    Column(
        "outlier", Boolean, nullable=False
    ),  # HDBSCAN called it noise (or it was assigned later)
    Column("reassigned", Boolean, nullable=False),  # moved to its nearest centroid by the policy
    Column("similarity", Float),  # cosine to the nearest centroid
    Column("category", String(64)),
    Column("query_modality", String(16)),  # the query-level classifier's call
    Column("modality", String(16)),  # final: also audio-primary when its category is
    Column("modality_score", Float),
    Column("x", Float),
    Column("y", Float),
    Column("source", String(16), nullable=False),  # fit | sample-assign | assign
)

# Analyst edits, re-applied in id order to every later run.
taxonomy_edits = Table(
    "taxonomy_edits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # rename | merge | recategorise
    Column("cluster_ids", JSON, nullable=False),  # [target] or [target, source, ...] for merge
    Column("level", Integer, nullable=False, default=0),
    Column("value", Text),  # new name or category
    Column("note", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

# Human labels of queries (category and/or modality), imported from CSV; used for PPI estimates.
taxonomy_labels = Table(
    "taxonomy_labels",
    metadata,
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("field", String(16), primary_key=True),  # category | modality
    Column("annotator", String(128), primary_key=True),
    Column("value", String(64), nullable=False),
    Column("source", Text),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)
