"""Dashboard fixtures: an empty workspace, a tiny hand-written one, and the demo workspace."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dashboard_testkit import APP_PATH, RENDER_TIMEOUT_S, TINY_RECORDS
from streamlit.testing.v1 import AppTest

from arenalens.app.demo import stage_demos
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions


def use_workspace(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    """Point the app (which reads ARENALENS_WORKSPACE) at `workspace`."""
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(workspace))
    monkeypatch.delenv("ARENALENS_DB", raising=False)


@pytest.fixture
def render(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path, str], AppTest]:
    """render(workspace, page_file) -> the AppTest after the page's first run."""

    def _render(workspace: Path, page: str) -> AppTest:
        use_workspace(monkeypatch, workspace)
        at = AppTest.from_file(str(APP_PATH), default_timeout=RENDER_TIMEOUT_S)
        at.switch_page(f"views/{page}")
        at.run()
        return at

    return _render


@pytest.fixture
def empty_workspace(tmp_path: Path) -> Path:
    """A workspace folder with nothing ingested."""
    workspace = tmp_path / "empty"
    workspace.mkdir()
    return workspace


@pytest.fixture
def tiny_workspace(tmp_path: Path) -> Path:
    """Two interactions whose query, response and feedback hold HTML and markdown."""
    workspace = tmp_path / "tiny"
    source = tmp_path / "tiny.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in TINY_RECORDS) + "\n")
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    ingest_interactions(app.store, source, "jsonl", progress=False)
    app.store.engine.dispose()
    return workspace


@pytest.fixture(scope="session")
def demo_workspace(sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample arena with every stage's demo step run on it (built once per session)."""
    workspace = tmp_path_factory.mktemp("dashboard-demo") / "workspace"
    shutil.copytree(sample_workspace, workspace)
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    for _stage, demo in stage_demos():
        demo(app)
    app.store.engine.dispose()
    return workspace


@pytest.fixture(scope="session")
def postgres_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(workspace, database URL): the demo workspace built on a fresh PostgreSQL database
    (the sample arena, every stage's demo step), once per session; skipped when
    ARENALENS_TEST_POSTGRES_URL is unset. The database is dropped at the end of the session."""
    import os

    from postgres_databases import create_test_database

    from arenalens.app.demo import load_sample_arena

    base = os.environ.get("ARENALENS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set (scripts/postgres.sh start sets one up)")
    url = create_test_database(base)
    workspace = tmp_path_factory.mktemp("dashboard-demo-postgres") / "workspace"
    workspace.mkdir()
    app = AppContext(Settings(workspace=workspace, db=url, labeler="embedding"))
    load_sample_arena(app.store, with_audio=False)
    for _stage, demo in stage_demos():
        demo(app)
    app.store.engine.dispose()
    return workspace, url


@pytest.fixture
def demo_app(demo_workspace: Path) -> Iterator[AppContext]:
    """Read-only AppContext over the demo workspace (to compare the pages with the store)."""
    app = AppContext(Settings(workspace=demo_workspace, labeler="embedding"))
    yield app
    app.store.engine.dispose()


@pytest.fixture
def private_demo_workspace(demo_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace, for tests that write (annotations, edits)."""
    workspace = tmp_path / "demo-copy"
    shutil.copytree(demo_workspace, workspace)
    return workspace


CODED_INTERACTIONS = 160
ANNOTATORS = ("ann-1", "ann-2")


@pytest.fixture(scope="session")
def coded_workspace_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first interactions of the sample arena, coded by the offline labeler, with a
    20-item annotation sample for two annotators (the real coding stage; built once)."""
    pytest.importorskip("coding.cli")
    from arenalens.app.demo import sample_file
    from coding.codebook import resolve_codebook
    from coding.coder import CodingConfig, code_feedback
    from coding.sampling import create_validation_sample

    folder = tmp_path_factory.mktemp("coded")
    subset = folder / "subset.jsonl"
    with sample_file("interactions.jsonl").open() as source:
        subset.write_text(
            "".join(line for _, line in zip(range(CODED_INTERACTIONS), source, strict=False))
        )
    workspace = folder / "workspace"
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    ingest_interactions(app.store, subset, "jsonl", progress=False)
    codebook = resolve_codebook(workspace)
    code_feedback(app.store, app.labeler, codebook, CodingConfig(), progress=False)
    create_validation_sample(app.store, codebook, ANNOTATORS, name="check", size=20, overlap=0.2)
    app.store.engine.dispose()
    return workspace


@pytest.fixture
def coded_workspace(coded_workspace_template: Path, tmp_path: Path) -> Path:
    """A private copy of the coded workspace (tests save annotations into it)."""
    workspace = tmp_path / "coded"
    shutil.copytree(coded_workspace_template, workspace)
    return workspace


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Folder for screenshots and logs a person looks at after the run (kept, not temporary):
    $ARENALENS_TEST_ARTEFACTS, else test-artefacts/ in the checkout (git-ignored)."""
    import os

    folder = Path(
        os.environ.get("ARENALENS_TEST_ARTEFACTS")
        or Path(__file__).resolve().parents[2] / "test-artefacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


BROWSER_CHECK = Path(__file__).resolve().parents[2] / "scripts" / "browser_check.py"


@pytest.fixture(scope="session")
def check():
    """scripts/browser_check.py as a module (start the dashboard, drive headless chromium);
    skips when Playwright or Debian chromium is missing."""
    import importlib.util
    import sys

    pytest.importorskip("playwright.sync_api")
    spec = importlib.util.spec_from_file_location("browser_check", BROWSER_CHECK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    if not Path(module.CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/apt-packages.txt lists it)")
    return module
