"""Open every dashboard page in headless Debian chromium and screenshot it.

Usage: python scripts/browser_check.py --workspace DIR [--out DIR] [--port N]

Starts `arenalens dashboard` on 127.0.0.1, visits each page, checks the browser tab's title
and the page's heading, saves a full-page PNG per page, and exits non-zero on any failure.
The real-browser test (tests/dashboard/test_dashboard_browser.py) runs the same functions.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# url path -> (tab title, heading); url paths are Streamlit's, derived from the page files.
PAGES = {
    "": ("Overview", "Overview"),
    "use_cases": ("Use cases", "Use cases"),
    "feedback": ("Feedback", "Feedback"),
    "outputs": ("Outputs", "Outputs"),
    "annotate": ("Annotate", "Annotate"),
    "agreement": ("Agreement", "Agreement"),
    "leaderboard": ("Leaderboard", "Leaderboard"),
    "benchmarks": ("Benchmarks vs preference", "Benchmarks vs preference"),
}


@dataclass
class PageCheck:
    """What the browser saw on one page."""

    path: str
    title: str
    heading: str
    screenshot: Path
    errors: list[str]

    @property
    def ok(self) -> bool:
        expected_title, expected_heading = PAGES[self.path]
        return (
            self.title.startswith(expected_title)
            and self.heading == expected_heading
            and not self.errors
        )


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_dashboard(workspace: Path, port: int, log: Path) -> subprocess.Popen:
    """`arenalens --workspace DIR dashboard --port N` in the background; waits until it answers."""
    env = {**os.environ, "ARENALENS_WORKSPACE": str(workspace)}
    env.pop("ARENALENS_DB", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "arenalens"),
            "--workspace",
            str(workspace),
            "dashboard",
            "--port",
            str(port),
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, so stop() ends the Streamlit child too
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dashboard exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/_stcore/health", timeout=2
            ) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"dashboard did not answer on port {port} within 90 s; see {log}")


def stop(process: subprocess.Popen) -> None:
    """Stop the dashboard and its Streamlit child (the process group started above)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def check_pages(port: int, out: Path, timeout_ms: int = 60_000) -> list[PageCheck]:
    """Visit every page; return what each showed (title, heading, exceptions on the page)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for path, (_title, heading) in PAGES.items():
            page.goto(f"http://127.0.0.1:{port}/{path}", timeout=timeout_ms)
            page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout_ms)
            # wait until Streamlit has finished the script run (no "running" indicator)
            page.wait_for_function(
                "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                timeout=timeout_ms,
            )
            page.wait_for_timeout(1500)  # charts render after the data arrives
            errors = [e.inner_text() for e in page.locator('[data-testid="stException"]').all()]
            shot = out / f"{path or 'overview'}.png"
            page.screenshot(path=str(shot), full_page=True)
            results.append(
                PageCheck(
                    path, page.title(), page.locator("h1").first.inner_text().strip(), shot, errors
                )
            )
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument(
        "--out", type=Path, default=None, help="Screenshot folder (default: a temporary one)."
    )
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="arenalens-screens-"))
    out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    process = start_dashboard(args.workspace, port, out / "dashboard.log")
    try:
        results = check_pages(port, out)
    finally:
        stop(process)
    for r in results:
        print(
            f"{'ok ' if r.ok else 'BAD'} /{r.path:<12} title={r.title!r} heading={r.heading!r} {r.screenshot}"
        )
        for error in r.errors:
            print(f"    exception on page: {error[:300]}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
