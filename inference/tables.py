"""Tables of the inference stage (core tables query_audio, transcripts, model_outputs are reused)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Table, Text

from arenalens.store.tables import metadata

# Blind A/B pairs built from two systems' outputs on the same query (`arenalens infer pair`).
# `system_a`/`system_b` is the hidden key: which system is shown on side A and side B.
inference_pairs = Table(
    "inference_pairs",
    metadata,
    Column("pair_id", String(64), primary_key=True),
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("system_a", String(256), nullable=False),
    Column("system_b", String(256), nullable=False),
    Column("response_a", Text, nullable=False),
    Column("response_b", Text, nullable=False),
    Column("extra", JSON, nullable=False, default=dict),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
)
