"""Core tables. Stages add theirs to the same `metadata` in `<stage>/tables.py`."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

# One row per stage execution; every derived row points at the run that made it.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("stage", String(64), nullable=False, index=True),
    Column("config", JSON, nullable=False, default=dict),
    Column("model", String(512)),
    Column("code_version", String(64), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False, default="running"),
    Column("summary", JSON),
    # the process running it (schema 2): a `running` run whose process is gone is `abandoned`
    Column("pid", Integer),
    Column("host", String(255)),
    Column("process_start", String(32)),  # start time of pid, so a reused pid is not mistaken
)

# One row per stage (or finer key) while a run holds it: a second process must not pay for the
# same items. Taken atomically (primary key); a lease of a dead process is released.
stage_leases = Table(
    "stage_leases",
    metadata,
    Column("lease", String(128), primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("process_start", String(32)),
    Column("acquired_at", DateTime(timezone=True), nullable=False),
)

interactions = Table(
    "interactions",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("timestamp", DateTime(timezone=True)),
    Column("user_id", String(256)),
    Column("language", String(32)),
    Column("query_text", Text),
    Column("model_a", String(256)),
    Column("model_b", String(256), index=True),
    Column("response_a", Text),
    Column("response_b", Text),
    Column("winner", String(16)),  # model_a | model_b | tie | NULL (no vote)
    Column("extra", JSON, nullable=False, default=dict),  # unknown fields, e.g. gold `intent`
    Column("source", String(512)),
    Column("content_hash", String(64), nullable=False),
    # a turn of a conversation (schema 5): both NULL on a single-turn interaction
    Column("conversation_id", String(128), index=True),
    Column("turn", Integer),
)

# Ranking groups votes by pair, outcome and user (`ranking.persist.vote_counts`): with every
# grouped column in one index, the database reads the index in order instead of sorting a
# million table rows (1M votes on SQLite: 3.5 s -> 0.25 s). It also serves lookups by model_a.
votes_index = Index(
    "ix_interactions_votes",
    interactions.c.model_a,
    interactions.c.model_b,
    interactions.c.winner,
    interactions.c.user_id,
)

query_audio = Table(
    "query_audio",
    metadata,
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("path", Text, nullable=False),
    Column("duration_s", Float),
)

# The folder a query_audio path was confined to at ingest (`arenalens.paths.confine_audio`):
# the dashboard re-checks the stored path against it before it plays the file.
query_audio_roots = Table(
    "query_audio_roots",
    metadata,
    Column(
        "interaction_id",
        String(128),
        ForeignKey("query_audio.interaction_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("root", Text, nullable=False),
)

# A side's spoken answer (schema 5), confined at ingest like `query_audio` to `root`, which the
# dashboard re-checks before it plays the file. `transcript` is filled by the transcribe stage.
response_audio = Table(
    "response_audio",
    metadata,
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("side", String(1), primary_key=True),  # 'a' | 'b'
    Column("path", Text, nullable=False),
    Column("root", Text, nullable=False),
    Column("duration_s", Float),
    Column("time_to_first_audio_s", Float),
    Column("transcript", Text),
    Column("transcript_model", String(512)),
)

transcripts = Table(
    "transcripts",
    metadata,
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("text", Text, nullable=False),
    Column("language", String(32)),
    Column("avg_logprob", Float),
    Column("model", String(512), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(128), primary_key=True),
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("text", Text, nullable=False),
    Column("source", String(512)),
)

model_outputs = Table(
    "model_outputs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "interaction_id",
        String(128),
        ForeignKey("interactions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("system", String(256), nullable=False),
    Column("output_text", Text),
    Column("error", Text),
    Column("latency_s", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("model_revision", String(256)),
    Column("params", JSON),
    Column("run_id", Integer, ForeignKey("runs.id")),
    # a spoken answer (schema 5): the WAV inside the workspace, its length, first-audio time and
    # the transcript the transcribe stage makes of it
    Column("output_audio", Text),
    Column("audio_duration_s", Float),
    Column("time_to_first_audio_s", Float),
    Column("output_transcript", Text),
    Column("transcript_model", String(512)),
    UniqueConstraint("interaction_id", "system", name="uq_model_outputs_query_system"),
)

benchmark_scores = Table(
    "benchmark_scores",
    metadata,
    Column("model", String(256), primary_key=True),
    Column("dataset", String(256), primary_key=True),
    Column("task", String(256), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("score", Float, nullable=False),
    Column("higher_is_better", Integer, nullable=False, default=1),
    Column("source", String(512)),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("alias", String(256), primary_key=True),
    Column("canonical", String(256), nullable=False),
)

ingested_files = Table(
    "ingested_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("path", Text, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
)

embedding_cache = Table(
    "embedding_cache",
    metadata,
    Column("model", String(512), primary_key=True),
    Column("text_hash", String(64), primary_key=True),
    Column("dim", Integer, nullable=False),
    Column("vector", LargeBinary, nullable=False),  # float32 bytes
)

llm_cache = Table(
    "llm_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("model", String(512), nullable=False),
    Column("response", JSON, nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

llm_usage = Table(
    "llm_usage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("model", String(512), nullable=False),
    Column("calls", Integer, nullable=False, default=0),
    Column("cached_calls", Integer, nullable=False, default=0),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
