"""The second user test in real Chromium at 1280x800, on a SQLite and on a PostgreSQL
workspace (issue 24): a new annotator gets their own items from the page, the side and
polarity keys and a form that fits one screen with five codes ticked; `annotate export`
after saves in the dashboard; the hints a votes-only workspace gets, and no cell cut off on
any of its pages.

Per backend and module: one coded workspace (benchmarks/annotate_keyboard.py builds it) and
one votes-only workspace, each served once.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow

TIMEOUT_MS = 120_000
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "annotate_keyboard.py"
VOTES_ONLY = 400  # interactions of the sample arena kept as bare votes


@dataclass
class Served:
    backend: str
    workspace: Path
    db: str | None
    port: int


def load_driver():
    spec = importlib.util.spec_from_file_location("annotate_keyboard", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[str]]]:
    """The backend, and a list the workspaces' fixtures add their PostgreSQL databases to
    (dropped at the end of the module)."""
    databases: list[str] = []
    if request.param == "postgresql" and not os.environ.get("ARENALENS_TEST_POSTGRES_URL"):
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set (scripts/postgres.sh start sets one up)")
    yield request.param, databases
    from postgres_databases import drop_test_database

    for url in databases:
        drop_test_database(url)


def _database(backend: tuple[str, list[str]]) -> str | None:
    name, databases = backend
    if name == "sqlite":
        return None
    from postgres_databases import create_test_database

    url = create_test_database(os.environ["ARENALENS_TEST_POSTGRES_URL"])
    databases.append(url)
    return url


def _serve(check, workspace: Path, db: str | None, log: Path):
    port = check.free_port()
    return port, check.start_dashboard(workspace, port, log, db=db)


@pytest.fixture(scope="module")
def coded(backend, check, tmp_path_factory, artefacts) -> Iterator[Served]:
    """A coded workspace with a 40-item sample for ann-1 and ann-2, served."""
    pytest.importorskip("coding.annotations")
    db = _database(backend)
    workspace = tmp_path_factory.mktemp(f"coded-{backend[0]}") / "workspace"
    load_driver().build_workspace(workspace, db, size=40)
    log = artefacts / "screens" / backend[0] / "second-test-coded.log"
    port, process = _serve(check, workspace, db, log)
    yield Served(backend[0], workspace, db, port)
    check.stop(process)


@pytest.fixture(scope="module")
def votes_only(backend, check, tmp_path_factory, artefacts) -> Iterator[Served]:
    """Bare votes (who played whom, who won; no query text, no feedback), ranked, served."""
    from arenalens.app.demo import sample_file

    db = _database(backend)
    workspace = tmp_path_factory.mktemp(f"votes-{backend[0]}") / "workspace"
    workspace.mkdir()
    votes = workspace / "votes.jsonl"
    keep = ("id", "timestamp", "user_id", "model_a", "model_b", "winner")
    with sample_file("interactions.jsonl").open() as source, votes.open("w") as out:
        for _, line in zip(range(VOTES_ONLY), source, strict=False):
            record = json.loads(line)
            out.write(json.dumps({k: record[k] for k in keep}) + "\n")
    for args in (("ingest", str(votes)), ("rank", "--bootstrap", "50")):
        subprocess.run(
            check.arenalens_command(workspace, db, *args), check=True, capture_output=True
        )
    log = artefacts / "screens" / backend[0] / "second-test-votes.log"
    port, process = _serve(check, workspace, db, log)
    yield Served(backend[0], workspace, db, port)
    check.stop(process)


def open_queue(served: Served):
    from coding.annotations import AnnotationQueue
    from coding.codebook import resolve_codebook

    app = AppContext(Settings(workspace=served.workspace, db=served.db, labeler="embedding"))
    return app, AnnotationQueue(app.store, resolve_codebook(served.workspace))


def browser(check, playwright, network):
    chromium, context = check.open_browser(playwright, (1280, 800), network)
    context.set_default_timeout(TIMEOUT_MS)
    return chromium, context.new_page()


def idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(
        """() => !document.querySelector('[data-testid^="stStatusWidgetRunning"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=TIMEOUT_MS,
    )


# each code toggle's state, in page order (Streamlit draws each button twice: one per key)
TICKED_JS = """() => {
  const seen = new Map();
  for (const b of document.querySelectorAll("[class*='st-key-annotate_toggle'] button")) {
    const key = b.closest("[class*='st-key-annotate_toggle']").className.match(/st-key-\\S+/)[0];
    if (!seen.has(key)) seen.set(key, (b.getAttribute('data-testid') || '').endsWith('primary'));
  }
  return [...seen.values()];
}"""


def ticked(page) -> list[bool]:
    return page.evaluate(TICKED_JS)


# -- annotators ------------------------------------------------------------------------------
def test_a_new_annotator_gets_items_from_the_page_and_works_by_keyboard(check, coded, artefacts):
    from playwright.sync_api import sync_playwright

    screens = artefacts / "screens" / coded.backend
    network = check.NetworkLog()
    with sync_playwright() as playwright:
        chromium, page = browser(check, playwright, network)
        page.goto(f"http://127.0.0.1:{coded.port}/annotate")
        name_box = page.get_by_role("combobox", name=re.compile("Annotator"))
        name_box.click()
        page.keyboard.type("carol")  # a name nobody has: typed into the same box
        page.keyboard.press("Enter")
        page.get_by_text("No items are assigned to carol yet").wait_for()
        assert "arenalens annotate sample" not in page.inner_text("body")
        page.get_by_role("button", name="Give me items to annotate").click()
        page.locator(".st-key-annotate_save button").wait_for()
        idle(page)
        page.screenshot(path=str(screens / "annotate-new-annotator-1280.png"))
        # tick five codes with the number keys (the first five the page lists)
        for index in range(5):
            if not ticked(page)[index]:
                page.keyboard.press(str(index + 1))
                page.wait_for_function(f"i => ({TICKED_JS})()[i]", arg=index)
                idle(page)
        assert ticked(page)[:5] == [True] * 5
        # P: the code last switched on is about the preferred answer; its polarity follows
        row = page.locator(".st-key-annotate_active_row")
        page.keyboard.press("p")
        row.locator('button[aria-checked="true"]', has_text="preferred").wait_for()
        row.locator('button[aria-checked="true"]', has_text="positive").wait_for()
        idle(page)
        page.keyboard.press("-")
        row.locator('button[aria-checked="true"]', has_text="negative").wait_for()
        idle(page)
        # the whole form, Save included, on one 1280x800 screen
        save = page.locator(".st-key-annotate_save button").bounding_box()
        page.screenshot(path=str(screens / "annotate-five-codes-1280.png"))
        assert save["y"] + save["height"] <= 800, save
        active = page.locator(".st-key-annotate_active_row p").first.inner_text()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]"
            ".some(e => /Item 2 of/.test(e.innerText))"
        )
        chromium.close()
    assert network.outside() == []
    app, queue = open_queue(coded)
    mine = queue.assignments().query("annotator == 'carol'")
    assert len(mine) > 0 and mine["overlap"].sum() > 0
    from arenalens.display import display_name
    from coding.persist import annotations_frame

    saved = annotations_frame(app.store, queue.version).query("annotator == 'carol'")
    (decisions,) = saved["decisions"]
    present = {code: d for code, d in decisions.items() if d["present"]}
    assert len(present) >= 5
    code = next(c for c in present if display_name(c) in active)
    assert (present[code]["side"], present[code]["polarity"]) == ("preferred", "negative")
    app.store.engine.dispose()


def test_export_after_dashboard_saves_carries_them_and_reimport_keeps_them(check, coded, tmp_path):
    run = load_driver().drive_keyboard(coded.port, "ann-1", 2)
    assert len(run.timings) == 2 and run.page_errors == []
    path = tmp_path / "ann-1.csv"
    exported = subprocess.run(
        check.arenalens_command(
            coded.workspace, coded.db, "annotate", "export", str(path), "--annotator", "ann-1"
        ),
        check=True,
        capture_output=True,
        text=True,
    )
    assert "saved answers marked done" in exported.stdout
    rows = {r["feedback_id"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}
    app, queue = open_queue(coded)
    from coding.persist import annotations_frame

    saved = annotations_frame(app.store, queue.version).query("annotator == 'ann-1'")
    saved = saved.set_index("feedback_id")
    for timing in run.timings:
        row = rows[timing.feedback_id]
        assert row["done"] == "1" and row["saved_annotation"]
        for code, decision in saved.loc[timing.feedback_id, "decisions"].items():
            assert row[code] == ("1" if decision["present"] else "0"), (code, row)
    before = len(annotations_frame(app.store, queue.version, latest_only=False))
    imported = subprocess.run(
        check.arenalens_command(coded.workspace, coded.db, "annotate", "import", str(path)),
        check=True,
        capture_output=True,
        text=True,
    )
    assert "0 saved" in imported.stdout  # the dashboard's answers are not overwritten
    assert len(annotations_frame(app.store, queue.version, latest_only=False)) == before
    app.store.engine.dispose()


# -- a votes-only workspace ------------------------------------------------------------------
def test_a_votes_only_workspace_gets_hints_that_can_run_and_nothing_cut_off(
    check, votes_only, artefacts
):
    from playwright.sync_api import sync_playwright

    screens = artefacts / "screens" / f"{votes_only.backend}-votes-only"
    network = check.NetworkLog()
    results = check.check_pages(
        votes_only.port, screens, network=network, only=["", "leaderboard", "benchmarks"]
    )
    for result in results:
        assert not result.errors, result
        assert result.overflow == [], result
        assert result.clipped == [], result
    with sync_playwright() as playwright:
        chromium, page = browser(check, playwright, network)
        page.goto(f"http://127.0.0.1:{votes_only.port}/leaderboard")
        check.wait_for_run(page, "Leaderboard", TIMEOUT_MS)
        text = page.inner_text("body")
        page.goto(f"http://127.0.0.1:{votes_only.port}/")
        check.wait_for_run(page, "Overview", TIMEOUT_MS)
        overview = page.inner_text("body")
        chromium.close()
    # the per-category boards say why they cannot run, as the Overview checklist does
    assert "Leaderboards per use case cannot run on this workspace" in text
    assert "needs the use-case taxonomy" in text
    assert "rank --by category" not in text  # no command that would fail here
    assert "taxonomy build" not in text
    assert "Code feedback into loss reasons cannot run on this workspace" in text
    # bare votes carry no lengths or latencies: the controlled board says so, names no control
    assert "Control for style and latency cannot run on this workspace" in text
    assert "--control" not in text
    assert "Leaderboards per use case — cannot run" in overview
    assert network.outside() == []
