"""Shared fixtures: stores on SQLite and PostgreSQL, the real shared data, the sample arena."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_databases import create_test_database, drop_all_test_databases, drop_test_database

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import Store

REPO_ROOT = Path(__file__).resolve().parents[1]
# ARENALENS_SHARED_DATA: where a worktree does not sit beside ../shared (e.g. /work/wt/NAME)
SHARED_DATA = Path(os.environ.get("ARENALENS_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
POSTGRES_URL_ENV = "ARENALENS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data` (SLURP, Talk Arena); tests needing it skip clearly when absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_test_databases() -> Iterator[None]:
    yield
    drop_all_test_databases()


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
