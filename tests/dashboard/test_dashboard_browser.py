"""One real-browser pass: `arenalens dashboard` on loopback, every page in headless chromium."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "browser_check.py"


def load_browser_check():
    spec = importlib.util.spec_from_file_location("browser_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_page_opens_in_a_real_browser(demo_workspace, tmp_path):
    pytest.importorskip("playwright.sync_api")
    check = load_browser_check()
    if not Path(check.CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed (scripts/apt-packages.txt lists it)")
    screens = tmp_path / "screens"
    screens.mkdir()
    process = check.start_dashboard(demo_workspace, check.free_port(), screens / "dashboard.log")
    try:
        results = check.check_pages(_port_of(process), screens)
    finally:
        check.stop(process)
    assert [r.path for r in results] == list(check.PAGES)
    for result in results:
        title, heading = check.PAGES[result.path]
        assert result.title.startswith(title), result
        assert result.heading == heading, result
        assert not result.errors, result
        assert result.screenshot.stat().st_size > 10_000  # a rendered page, not a blank one


def _port_of(process) -> int:
    return int(process.args[process.args.index("--port") + 1])
