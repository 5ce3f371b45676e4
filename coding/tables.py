"""Tables of the coding stage; every row carries the codebook version it was made under."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from arenalens.store.tables import metadata

VERSION_LEN = 200

# Each codebook version ever used, with its full content (so old codes stay interpretable).
coding_codebooks = Table(
    "coding_codebooks",
    metadata,
    Column("version_key", String(VERSION_LEN), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per feedback item coded under a codebook version (also when no code applied),
# written in the same transaction as its codes: the marker that makes coding resumable.
coding_items = Table(
    "coding_items",
    metadata,
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        primary_key=True,
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("labeler", String(512), nullable=False),
    Column("samples", Integer, nullable=False, default=1),
    Column("n_codes", Integer, nullable=False, default=0),
    Column("rejected", JSON, nullable=False, default=list),  # codes dropped: evidence not verbatim
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("coded_at", DateTime(timezone=True), nullable=False),
)

# The machine's codes: one row per (item, code) that applies.
coding_codes = Table(
    "coding_codes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        nullable=False,
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False
    ),
    Column("code", String(128), nullable=False),
    Column("side", String(16), nullable=False),  # preferred | rejected | both | unclear
    Column("polarity", String(16), nullable=False),  # negative | positive
    Column("attribute_source", String(16), nullable=False),  # labeler | rules
    Column("evidence", Text, nullable=False),  # verbatim substring of the feedback (checked)
    Column("rationale", Text, nullable=False, default=""),
    Column("confidence", Float, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    UniqueConstraint("codebook_version", "feedback_id", "code", name="uq_coding_codes_item_code"),
    Index("ix_coding_codes_version", "codebook_version"),
)

# A validation sample drawn for human annotation.
coding_samples = Table(
    "coding_samples",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        nullable=False,
    ),
    Column("config", JSON, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("codebook_version", "name", name="uq_coding_samples_name"),
)

# Who annotates which sampled item; items with two annotators measure human-human agreement.
coding_assignments = Table(
    "coding_assignments",
    metadata,
    Column(
        "sample_id", Integer, ForeignKey("coding_samples.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("annotator", String(128), primary_key=True),
    Column("stratum", String(512), nullable=False),
    Column("position", Integer, nullable=False),
    Column("overlap", Integer, nullable=False, default=0),  # 1 when the item has two annotators
)

# Append-only: every save is one durable row; the latest row per (annotator, item) counts.
coding_annotations = Table(
    "coding_annotations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        nullable=False,
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False
    ),
    Column("annotator", String(128), nullable=False),
    Column("decisions", JSON, nullable=False),  # {code: {present, side, polarity}}
    Column("note", Text, nullable=False, default=""),
    Column("source", String(32), nullable=False),  # dashboard | api | csv
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_coding_annotations_item", "codebook_version", "feedback_id"),
)

# Append-only adjudications of human disagreements, per (item, code); the latest counts.
coding_adjudications = Table(
    "coding_adjudications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        nullable=False,
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), nullable=False
    ),
    Column("code", String(128), nullable=False),
    Column("present", Integer, nullable=False),
    Column("adjudicator", String(128), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The coder's calibrated probability for every (item, code), and the decision it led to:
# present (a code row exists), uncertain (sent to the front of annotators' queues), absent.
coding_scores = Table(
    "coding_scores",
    metadata,
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        primary_key=True,
    ),
    Column(
        "feedback_id", String(128), ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("code", String(128), primary_key=True),
    Column("probability", Float, nullable=False),
    Column("decision", String(16), nullable=False),  # present | uncertain | absent
    Column("source", String(32), nullable=False),  # zero-shot | learned | llm
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
)

# What `arenalens code --learn` decided per code (append-only; the latest published row counts):
# the learned classifier (plain numbers, no pickles) where cross-validation showed it better.
coding_models = Table(
    "coding_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "codebook_version",
        String(VERSION_LEN),
        ForeignKey("coding_codebooks.version_key"),
        nullable=False,
    ),
    Column("code", String(128), nullable=False),
    Column("decision", String(32), nullable=False),  # learned | zero-shot
    Column("labels", Integer, nullable=False),
    Column("report", JSON, nullable=False),  # reason, CV metrics of both decisions
    Column("model", JSON, nullable=True),  # coding.learning.LearnedModel fields, when learned
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
