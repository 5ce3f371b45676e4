"""Shared fixtures: stores on SQLite and PostgreSQL, the real shared data, the sample arena."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
POSTGRES_URL_ENV = "ARENALENS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (SLURP, Talk Arena); tests needing it skip clearly when absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


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


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_test_databases() -> Iterator[None]:
    yield
    for url in sorted(_CREATED_DATABASES):
        drop_test_database(url)


def _fresh_postgres_url() -> str:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_URL_ENV} not set (scripts/postgres.sh start sets up a server)")
    return create_test_database(base)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database URL on each backend (the store tests run against both); a PostgreSQL
    database is dropped again after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arenalens.sqlite'}"
        return
    url = _fresh_postgres_url()
    yield url
    drop_test_database(url)


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'arenalens.sqlite'}")
    yield opened
    opened.engine.dispose()


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the shipped sample arena ingested (no stages run). Do not modify it."""
    from arenalens.app.demo import load_sample_arena

    workspace = tmp_path_factory.mktemp("sample-workspace")
    opened = Store.open(Settings(workspace=workspace).db_url)
    load_sample_arena(opened, with_audio=False)
    opened.engine.dispose()
    return workspace


@pytest.fixture
def sample_app(sample_workspace: Path, tmp_path: Path) -> Iterator[AppContext]:
    """A private copy of the sample workspace, as an AppContext (offline embedding labeler)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(sample_workspace, workspace)
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    yield app
    app.store.engine.dispose()
