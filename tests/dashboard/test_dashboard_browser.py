"""Real-browser check that hostile text stays inert: `arenalens dashboard` on loopback, every
page in headless chromium at 1280x800 over a workspace whose names, queries and feedback hold
HTML, markdown and a planted URL; nothing is fetched or rendered as an element. (Layout and each
user's path: test_dashboard_user_paths_browser.py and test_dashboard_annotate_browser.py.)"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dashboard_testkit import plant_hostile_text

from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow


class CountingServer:
    """A loopback HTTP server that records every path requested from it (the planted URL)."""

    def __init__(self) -> None:
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer()
    yield server
    server.close()


def _pick_option(page, label: str, contains: str) -> None:
    """Open the selectbox labelled `label` and choose the option whose text contains `contains`."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.get_by_role("option").filter(has_text=contains).first.click()


def _show_per_model(page) -> None:
    page.get_by_text("Per model (the model that lost)").click()


HOSTILE_ACTIONS = {
    "feedback": _show_per_model,
    "annotate": lambda page: _pick_option(page, "Annotator", "annotator"),
}


def test_hostile_text_stays_text_on_every_page(
    check, demo_workspace, tmp_path, artefacts, counting_server
):
    workspace = tmp_path / "hostile"
    shutil.copytree(demo_workspace, workspace)
    app = AppContext(Settings(workspace=workspace))
    planted = plant_hostile_text(app.store, counting_server.port)
    app.store.engine.dispose()
    assert {"model", "cluster", "parent", "category", "annotator", "query", "feedback"} <= set(
        planted
    )
    screens = artefacts / "hostile"
    marker = f"127.0.0.1:{counting_server.port}"
    process = check.start_dashboard(workspace, check.free_port(), screens / "dashboard.log")
    network = check.NetworkLog()
    try:
        results = check.check_pages(
            _port_of(process),
            screens,
            planted_marker=marker,
            actions=HOSTILE_ACTIONS,
            network=network,
        )
    finally:
        check.stop(process)
    for result in results:
        assert not result.errors, result
        assert result.planted == [], f"/{result.path} rendered a planted element"
    assert counting_server.hits == [], "a planted URL was fetched"
    assert [u for u in network.urls if marker in u] == []
    assert network.outside() == [], "the dashboard made the browser leave the machine"


def _port_of(process) -> int:
    return int(process.args[process.args.index("--port") + 1])
