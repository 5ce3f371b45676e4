"""The annotator's path in real Chromium at 1280x800, on SQLite and PostgreSQL workspaces:
twenty items done with the keyboard only, each save in the store; one disagreement adjudicated.

Drives `arenalens dashboard` on loopback with benchmarks/annotate_keyboard.py (the same
functions that measure seconds per item for benchmarks/README.md; no timing is asserted here).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "annotate_keyboard.py"
ITEMS = 20


def load_driver():
    spec = importlib.util.spec_from_file_location("annotate_keyboard", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def driver():
    pytest.importorskip("playwright.sync_api")
    pytest.importorskip("coding.annotations")
    module = load_driver()
    if not Path(module.CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/apt-packages.txt lists it)")
    return module


def open_queue(workspace: Path, db: str):
    from coding.annotations import AnnotationQueue
    from coding.codebook import resolve_codebook

    app = AppContext(Settings(workspace=workspace, db=db, labeler="embedding"))
    return app, AnnotationQueue(app.store, resolve_codebook(workspace))


@pytest.fixture
def served(driver, db_url: str, tmp_path: Path):
    """A coded workspace with a 40-item sample for two annotators, served on loopback."""
    workspace = tmp_path / "workspace"
    driver.build_workspace(workspace, db_url, size=40)
    process = driver.start_dashboard(
        workspace, driver.free_port(), tmp_path / "dashboard.log", db=db_url
    )
    yield workspace, db_url, int(process.args[process.args.index("--port") + 1])
    driver.stop(process)


def test_twenty_items_by_keyboard_are_each_saved_as_decided(driver, served, tmp_path):
    workspace, db, port = served
    app, queue = open_queue(workspace, db)
    first_code = queue.codebook.code_names[0]
    screens = tmp_path / "screens"
    screens.mkdir()

    run = driver.drive_keyboard(port, "ann-1", ITEMS, screens)

    assert run.arrow_positions == [1, 2, 1]  # right arrow: next item; left arrow: back
    assert len(run.timings) == ITEMS
    assert run.outside_requests == []  # only loopback traffic, fonts and icons included
    assert run.page_errors == []
    assert len({t.feedback_id for t in run.timings}) == ITEMS  # every save moved on
    progress = {r["annotator"]: r for r in driver.annotate_progress(workspace, db)}
    assert progress["ann-1"]["annotated"] == ITEMS
    assert progress["ann-2"]["annotated"] == 0
    from coding.persist import annotations_frame

    saved = annotations_frame(app.store, queue.version).set_index("feedback_id")
    for timing in run.timings:
        machine = {c["code"] for c in queue.item(timing.feedback_id).machine_codes}
        decided = {c for c, d in saved.loc[timing.feedback_id, "decisions"].items() if d["present"]}
        expected = machine ^ {first_code} if timing.flipped else machine
        assert decided == expected, timing
    assert (screens / "annotate-first-item.png").stat().st_size > 10_000
    app.store.engine.dispose()


def test_a_disagreement_is_adjudicated_in_the_browser(driver, served, tmp_path):
    from playwright.sync_api import sync_playwright

    from coding.persist import adjudications_frame

    workspace, db, port = served
    app, queue = open_queue(workspace, db)
    assigned = queue.assignments()
    shared = assigned.groupby("feedback_id")["annotator"].nunique()
    item = shared[shared == 2].index[0]
    code = queue.codebook.code_names[1]
    queue.save("ann-1", item, {code: True}, note="it says so")
    queue.save("ann-2", item, {code: False})

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=driver.CHROMIUM, args=driver.CHROMIUM_ARGS
        )
        page = browser.new_page(viewport=driver.VIEWPORT)
        driver.open_page(page, port, "agreement")
        page.get_by_text("Disagreements awaiting adjudication").wait_for(timeout=90_000)
        # each annotator's answer is shown by name beside the machine's
        page.get_by_text("Annotators' answers on").wait_for(timeout=90_000)
        page.get_by_text("Adjudicated label for").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "agreement.png"), full_page=True)
        page.get_by_role("radio", name="absent").check(force=True)
        page.get_by_label("Adjudicator").fill("lead")
        page.get_by_label("Adjudicator").press("Tab")
        page.get_by_role("button", name="Save adjudication").click()
        page.get_by_text(f"Adjudicated {item} / {code}: absent.").wait_for(timeout=90_000)
        browser.close()

    settled = adjudications_frame(app.store, queue.version)
    assert list(zip(settled["feedback_id"], settled["code"], settled["present"], strict=True)) == [
        (item, code, 0)
    ]
    assert list(settled["adjudicator"]) == ["lead"]
    app.store.engine.dispose()
