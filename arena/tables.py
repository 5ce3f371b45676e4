"""Tables of the arena stage: campaigns, invites (hashed tokens), pairs and who was shown what.

Votes themselves are not here: each is an interaction in the core table, written by the ingest
writer. These tables hold what serving needs (quotas, assignments, access)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from arenalens.store.tables import metadata

arena_campaigns = Table(
    "arena_campaigns",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("mode", String(16), nullable=False),  # replay | live
    Column("raters_per_pair", Integer, nullable=False),
    Column("reveal_names", Boolean, nullable=False),
    Column("attention_rate", Float, nullable=False),
    Column("votes_per_minute", Integer, nullable=False),
    Column("settings", JSON, nullable=False, default=dict),  # room for later settings (turns...)
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One personal link per rater and campaign; only the SHA-256 of its token is kept.
arena_invites = Table(
    "arena_invites",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column(
        "campaign",
        String(128),
        ForeignKey("arena_campaigns.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("rater", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    UniqueConstraint("campaign", "rater", name="uq_arena_invites_rater"),
)

# Blind pairs of a campaign. model_a / model_b are the systems shown as A and B (the hidden
# key); `served` counts raters assigned, never above `quota` (checked in the UPDATE itself).
arena_pairs = Table(
    "arena_pairs",
    metadata,
    Column(
        "campaign",
        String(128),
        ForeignKey("arena_campaigns.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("pair_id", String(64), primary_key=True),
    Column("interaction_id", String(128)),  # the query's interaction, where it came from one
    Column("query_text", Text),
    Column("query_audio", Text),  # a confined audio path, checked at load
    Column("audio_root", Text),  # the folder it was confined to
    Column("model_a", String(256), nullable=False),
    Column("model_b", String(256), nullable=False),
    Column("response_a", Text, nullable=False),
    Column("response_b", Text, nullable=False),
    Column("attention", Boolean, nullable=False, default=False),
    Column("bad_side", String(8)),  # attention pairs: "a" or "b", the known-bad answer
    Column("quota", Integer, nullable=False),
    Column("served", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("ix_arena_pairs_open", arena_pairs.c.campaign, arena_pairs.c.served)

# What a pair shows beside its text answers: its spoken answers (either side or both; a typed
# side stays NULL), confined to and checked against the pair's `audio_root` at load, and the
# earlier turns of its conversation (text: turn, query, response_a, response_b). A table of its
# own so an existing workspace gains it when opened (as it gained arena_expired), with no change
# to arena_pairs and no upgrade step.
arena_pair_context = Table(
    "arena_pair_context",
    metadata,
    Column("campaign", String(128), primary_key=True),
    Column("pair_id", String(64), primary_key=True),
    Column("response_audio_a", Text),
    Column("response_audio_b", Text),
    Column("earlier_turns", JSON),
    ForeignKeyConstraint(
        ["campaign", "pair_id"],
        ["arena_pairs.campaign", "arena_pairs.pair_id"],
        ondelete="CASCADE",
    ),
)

# Which rater was shown which pair; the primary key makes "never twice to one rater" a fact of
# the database. `choice` and `vote_id` are set once, by the vote.
arena_assignments = Table(
    "arena_assignments",
    metadata,
    Column("campaign", String(128), primary_key=True),
    Column("pair_id", String(64), primary_key=True),
    Column("rater", String(256), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("voted_at", DateTime(timezone=True)),
    Column("choice", String(16)),  # a | b | tie | both_bad
    Column("vote_id", String(128)),
)
Index(
    "ix_arena_assignments_rater",
    arena_assignments.c.campaign,
    arena_assignments.c.rater,
    arena_assignments.c.voted_at,
)

# Assignments a rater left unvoted past the campaign's expiry: moved here (out of
# arena_assignments) in the same transaction that gives their slot back to the pair, so a pair
# is served again, never to the same rater, and a late vote can still take a free slot.
arena_expired = Table(
    "arena_expired",
    metadata,
    Column("campaign", String(128), primary_key=True),
    Column("rater", String(256), primary_key=True),
    Column("pair_id", String(64), primary_key=True),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
    Column("expired_at", DateTime(timezone=True), nullable=False),
)
