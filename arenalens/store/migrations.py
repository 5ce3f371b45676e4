"""Schema migrations: each upgrades a workspace's database from one schema version to the next
(`Store.open` runs them in order, inside its schema lock)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, inspect, text, update

from arenalens.store import tables as t
from arenalens.store.runs import utcnow


def _migrate_1_to_2(conn: Connection) -> None:
    """Runs record their process (pid, host, start); runs left `running` by v1 are abandoned."""
    for column, kind in (
        ("pid", "INTEGER"),
        ("host", "VARCHAR(255)"),
        ("process_start", "VARCHAR(32)"),
    ):
        conn.execute(text(f"ALTER TABLE runs ADD COLUMN {column} {kind}"))  # fixed names, no input
    conn.execute(
        update(t.runs)
        .where(t.runs.c.status == "running")
        .values(status="abandoned", finished_at=utcnow())
    )


def _migrate_2_to_3(conn: Connection) -> None:
    """Votes get the covering index ranking groups by; it replaces the model_a index."""
    conn.execute(text("DROP INDEX IF EXISTS ix_interactions_model_a"))
    t.votes_index.create(conn, checkfirst=True)


def _migrate_3_to_4(conn: Connection) -> None:
    """The user_id index goes: no query looks votes up by user (ranking groups by user through
    the covering index), and every ingest paid to build it."""
    conn.execute(text("DROP INDEX IF EXISTS ix_interactions_user_id"))


def _migrate_4_to_5(conn: Connection) -> None:
    """Conversations and spoken answers: interactions gain conversation_id (indexed) and turn,
    model outputs their audio, duration, time to first audio and its transcript (the new `response_audio`
    table is created with the others). Columns already there are left alone."""
    _add_missing_columns(conn, t.interactions, ("conversation_id", "turn"))
    index = next(i for i in t.interactions.indexes if i.name == "ix_interactions_conversation_id")
    index.create(conn, checkfirst=True)
    spoken = ("output_audio", "audio_duration_s", "time_to_first_audio_s", "output_transcript")
    _add_missing_columns(conn, t.model_outputs, (*spoken, "transcript_model"))


def _add_missing_columns(conn: Connection, table: Table, names: Sequence[str]) -> None:
    """ALTER TABLE ... ADD COLUMN for each of `names` (nullable, typed as the table defines
    it) that the stored table lacks."""
    present = {column["name"] for column in inspect(conn).get_columns(table.name)}
    for name in names:
        if name not in present:
            kind = table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))  # no input


# version -> function upgrading a connection from that version to version + 1.
MIGRATIONS: dict[int, Any] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
}
