"""The rater app in headless Debian chromium at 1280 px: `arenalens arena serve` on loopback, a
rater casts 20 votes with the keyboard alone; each is stored once, no pair comes back, and
hostile text in queries, answers and the rater's name renders as text."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from arena_testkit import HOSTILE, make_pairs

from arena import persist
from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
KEYS = ["a", "b", "t", "x"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(workspace: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-c", "from arenalens.cli import main; main()"]
    command += ["--workspace", str(workspace)]
    command += ["arena", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise AssertionError(f"the rater app did not start:\n{log.read_text()}")


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/apt-packages.txt lists it)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _query(page) -> str:
    texts = page.locator("[data-testid=stText]").all_inner_texts()
    return next((t for t in texts if t.startswith("question number")), "")


def test_twenty_keyboard_votes_each_stored_once_none_shown_twice(browser, tmp_path: Path):
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "c1", "replay", raters_per_pair=2, votes_per_minute=100)
    persist.add_pairs(app.store, "c1", make_pairs(19))
    persist.add_pairs(app.store, "c1", make_pairs(1, hostile=True).assign(pair_id="hostile"))
    token = persist.invite(app.store, "c1", f"rater {HOSTILE}")
    port = _free_port()
    process = _serve(app.settings.workspace, port, tmp_path / "arena.log")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"http://127.0.0.1:{port}/?token=wrong")
        page.get_by_text("This link is not valid").wait_for(timeout=30_000)
        assert page.locator("button").filter(has_text="is better").count() == 0
        page.goto(f"http://127.0.0.1:{port}/?token={token}")
        heading = page.get_by_role("heading", name="Which answer is better?")
        heading.wait_for(timeout=30_000)
        shown: list[str] = []
        for index in range(20):
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stText]')]"
                ".some(e => e.innerText.startsWith('question number'))",
                timeout=30_000,
            )
            page.get_by_text(f"Your votes so far: {index}.").wait_for(timeout=30_000)
            page.get_by_role("button", name="Both are bad").wait_for(timeout=30_000)
            page.wait_for_function(  # the run has finished: no element left from the last pair
                "() => !document.querySelector('[data-testid=stStatusWidget]')"
                " && !document.querySelector('[data-stale=true]')",
                timeout=30_000,
            )
            shown.append(_query(page))
            assert page.locator("img, script:not([src])").filter(has_text="alert").count() == 0
            assert page.locator("img[src=x]").count() == 0 and page.locator("strong").count() == 0
            heading.click()  # focus outside the reason box: keys vote, as a rater would
            page.keyboard.press(KEYS[index % 4])
            if index < 19:
                page.wait_for_function(
                    "(previous) => { const q = [...document.querySelectorAll("
                    "'[data-testid=stText]')].find(e => e.innerText.startsWith('question number'));"
                    " return q && q.innerText !== previous; }",
                    arg=shown[-1],
                    timeout=30_000,
                )
        page.get_by_text("nothing left to rate").wait_for(timeout=30_000)
        page.screenshot(path=str(tmp_path / "done.png"))
        assert len(set(shown)) == 20
        assert any(
            HOSTILE in text for text in page.locator("[data-testid=stText]").all_inner_texts()
        )
        assert all(url.startswith(f"http://127.0.0.1:{port}") for url in requests)
    finally:
        process.terminate()
        process.wait(timeout=20)
    votes = app.store.votes_frame()
    assert len(votes) == 20 and votes["id"].is_unique
    choices = persist.assignments(app.store, "c1")["choice"].value_counts().to_dict()
    assert choices == {"a": 5, "b": 5, "tie": 5, "both_bad": 5}
