"""The dashboard starts cleanly every time: no import deadlock between the start-up prefetch
thread and the first page, and a warning when it listens beyond loopback."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from arenalens.streamlit_server import is_loopback
from dashboard.cli import streamlit_command

STARTS = 20


PROBE = """
import json, sys, threading
from dashboard import prefetch
seen = []
class RecordingThread:
    def __init__(self, *args, **kwargs):
        seen.append(sorted(sys.modules))
    def start(self):
        pass
threading.Thread = RecordingThread
prefetch.prefetch_thread(sys.argv[1], None, ("v",))
print(json.dumps(seen[0]))
"""


def test_prefetch_modules_are_imported_before_the_thread_starts(tmp_path):
    """In a fresh interpreter: by the time the prefetch thread is created, the page's thread
    has imported what both need (two threads importing narwhals at once can deadlock)."""
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"altair", "narwhals.stable.v2", "sklearn"} <= imported
    assert {"taxonomy.persist", "coding.prevalence", "ranking.persist"} <= imported


def test_loopback_addresses_are_recognised():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_a_non_loopback_address_prints_the_no_login_warning(tiny_workspace, monkeypatch):
    import subprocess

    from arenalens.cli import main_group

    seen: list[list[str]] = []

    class FakeProcess:
        def __init__(self, args, **_kwargs) -> None:
            seen.append(args)

        def wait(self, timeout=None) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    runner = CliRunner()
    wide = runner.invoke(
        main_group,
        ["--workspace", str(tiny_workspace), "dashboard", "--address", "0.0.0.0", "--port", "8600"],
    )
    assert wide.exit_code == 0, wide.output
    assert "no login" in wide.output and "SSH tunnel" in wide.output
    assert seen[-1][seen[-1].index("--server.address") + 1] == "0.0.0.0"
    local = runner.invoke(main_group, ["--workspace", str(tiny_workspace), "dashboard"])
    assert local.exit_code == 0, local.output
    assert "no login" not in local.output
    assert seen[-1][seen[-1].index("--server.address") + 1] == "127.0.0.1"


def test_streamlit_is_told_not_to_gather_usage_statistics():
    command = streamlit_command(8765)
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"


@pytest.mark.slow
def test_overview_opens_without_an_error_on_every_start(check, demo_workspace, tmp_path):
    """Twenty fresh servers (the prefetch thread racing the first page each time)."""
    from playwright.sync_api import sync_playwright

    failures = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=check.CHROMIUM, args=check.CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for start in range(STARTS):
            port = check.free_port()
            process = check.start_dashboard(demo_workspace, port, tmp_path / f"start{start}.log")
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
                check.wait_for_run(page, "Overview", 90_000)
                errors = [e.inner_text() for e in page.locator('[data-testid="stException"]').all()]
            finally:
                check.stop(process)
            if errors:
                failures.append((start, errors[0][:300]))
        browser.close()
    assert failures == []


def test_streamlit_may_run_the_app_once_without_a_browser():
    command = streamlit_command(8765)
    assert command[command.index("--server.scriptHealthCheckEnabled") + 1] == "true"


@pytest.mark.slow
def test_the_caches_warm_at_server_start_before_anyone_visits(check, demo_workspace, tmp_path):
    """`arenalens dashboard` runs the app once itself, so the prefetch needs no first visitor."""
    import time

    log = tmp_path / "dashboard.log"
    process = check.start_dashboard(demo_workspace, check.free_port(), log)
    try:
        deadline = time.monotonic() + 240
        while "caches warmed in" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        check.stop(process)
    assert "caches warmed in" in log.read_text(), log.read_text()[-2000:]
