"""PostgreSQL databases for tests: each created fresh and dropped again (tests/conftest.py drops
any a test left at the end of the session)."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, create_engine, text

# every PostgreSQL database a test created: dropped after its test, and again at session end
_CREATED_DATABASES: set[str] = set()


def _admin_engine(url: str) -> Engine:
    server = url.rsplit("/", 1)[0] + "/postgres"
    return create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def create_test_database(url: str) -> str:
    """A fresh database on the PostgreSQL server of `url` (dropped by `drop_test_database`, or at
    the end of the session at the latest)."""
    name = f"arenalens_test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # name is generated above, not user input
    admin.dispose()
    created = url.rsplit("/", 1)[0] + "/" + name
    _CREATED_DATABASES.add(created)
    return created


def drop_test_database(url: str) -> None:
    """Drop a database made by `create_test_database`, closing connections a test left open."""
    name = url.rsplit("/", 1)[1]
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # generated name
    admin.dispose()
    _CREATED_DATABASES.discard(url)


def drop_all_test_databases() -> None:
    """Drop every database `create_test_database` made that is still there."""
    for url in sorted(_CREATED_DATABASES):
        drop_test_database(url)
