"""Tables of the ranking stage (on the core metadata; every row points at its run)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from arenalens.store.tables import metadata

# One leaderboard row per (run, slice, model). The overall leaderboard has slice_field ''.
ranking_ratings = Table(
    "ranking_ratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("slice_field", String(128), nullable=False, default=""),
    Column("slice_value", String(256), nullable=False, default=""),
    Column("model", String(256), nullable=False),
    Column("rating", Float, nullable=False),
    Column("ci_low", Float, nullable=False),
    Column("ci_high", Float, nullable=False),
    Column("sandwich_low", Float, nullable=False),
    Column("sandwich_high", Float, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("votes", Integer, nullable=False),
    Column("wins", Integer, nullable=False),
    Column("ties", Integer, nullable=False),
    Column("losses", Integer, nullable=False),
    Column("flag", String(64)),
    Column("component", Integer, nullable=False, default=0),
    UniqueConstraint(
        "run_id", "slice_field", "slice_value", "model", name="uq_ranking_ratings_row"
    ),
)

# Pairwise win rates of the overall leaderboard of a run (row model vs column model).
ranking_win_rates = Table(
    "ranking_win_rates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("slice_field", String(128), nullable=False, default=""),
    Column("slice_value", String(256), nullable=False, default=""),
    Column("model_a", String(256), nullable=False),
    Column("model_b", String(256), nullable=False),
    Column("win_rate", Float, nullable=False),
    Column("ci_low", Float),
    Column("ci_high", Float),
    Column("significant", Boolean, nullable=False),
    Column("observed", Float),
    Column("battles", Integer, nullable=False),
    UniqueConstraint(
        "run_id",
        "slice_field",
        "slice_value",
        "model_a",
        "model_b",
        name="uq_ranking_win_rates_row",
    ),
)

# Fixed effects of a benchmarks-vs-preferences regression run (mixed model and plain logit).
ranking_regression_terms = Table(
    "ranking_regression_terms",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("fit", String(16), nullable=False),  # mixed | logit
    Column("term", String(256), nullable=False),
    Column("estimate", Float, nullable=False),
    Column("std_error", Float, nullable=False),
    Column("ci_low", Float, nullable=False),
    Column("ci_high", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("significant", Boolean, nullable=False),
    Column("details", JSON, nullable=False, default=dict),
    UniqueConstraint("run_id", "fit", "term", name="uq_ranking_regression_term"),
)
