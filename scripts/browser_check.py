"""Open every dashboard page in headless Debian chromium and screenshot it.

Usage: python scripts/browser_check.py --workspace DIR [--db URL] [--out DIR] [--port N]
       [--viewport 1280x800 --viewport 1440x900] [--page PATH]

Starts `arenalens dashboard` on 127.0.0.1, visits each page at each window size, checks the
browser tab's title, the page's heading and that no chart or table overflows its container,
saves a full-page PNG per page and size (PAGE-WIDTH.png), and exits non-zero on any failure.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

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
    "raters": ("Raters", "Raters"),
}


@dataclass
class PageCheck:
    """What the browser saw on one page."""

    path: str
    title: str
    heading: str
    screenshot: Path
    errors: list[str]
    # elements whose src/href points at a planted URL (see hostile payloads), as outer HTML
    planted: list[str] = field(default_factory=list)
    # charts and tables wider than their container at this viewport ("testid: scroll > client")
    overflow: list[str] = field(default_factory=list)
    # seconds from navigation start until the page had finished its script run (no spinner)
    seconds: float = 0.0
    # text cut off inside its cell or box ("table cell 'demo-annotator-': 131 > 118 px")
    clipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        expected_title, expected_heading = PAGES[self.path]
        return (
            self.title.startswith(expected_title)
            and self.heading == expected_heading
            and not self.errors
            and not self.planted
            and not self.clipped
        )


@dataclass
class NetworkLog:
    """Every request the browser made; requests to other hosts than loopback are refused."""

    urls: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def outside(self) -> list[str]:
        return [u for u in self.urls if not is_loopback_url(u)]


def is_loopback_url(url: str) -> bool:
    """Whether a request stays on this machine (data:/blob: URLs never leave it)."""
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "chrome-extension"):
        return True
    return parsed.hostname in ("127.0.0.1", "localhost", "::1")


# Charts and tables must fit their container: an element wider than its box hides columns or
# labels off the right edge. Glide (st.dataframe) scrolls inside `.dvn-scroller`, st.table
# inside the box around its <table>.
OVERFLOW_JS = """() => {
  const out = [];
  const main = document.querySelector('[data-testid="stMainBlockContainer"]')
    || document.querySelector('section.main') || document.body;
  const right = main.getBoundingClientRect().right + 1;
  for (const el of document.querySelectorAll(
      '[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"], '
      + '[data-testid="stDataFrame"], [data-testid="stTable"]')) {
    const testid = el.getAttribute('data-testid');
    const box = el.getBoundingClientRect();
    if (box.width < 100 || !el.checkVisibility()) continue;  // e.g. inside a closed expander
    const table = el.querySelector('table');
    const inner = el.querySelector('.dvn-scroller') || (table && table.parentElement) || el;
    if (inner.scrollWidth > inner.clientWidth + 2)
      out.push(`${testid}: scrollWidth ${inner.scrollWidth} > clientWidth ${inner.clientWidth}`);
    for (const drawn of el.querySelectorAll('canvas, svg.marks')) {
      const r = drawn.getBoundingClientRect();
      if (r.width > 0 && (r.right > box.right + 2 || r.right > right))
        out.push(`${testid}: drawing ends at ${Math.round(r.right)} beyond ${Math.round(Math.min(box.right, right))}`);
    }
  }
  return out;
}"""

# Free-text columns of st.dataframe grids: cut inside their cell on purpose (each page shows
# the whole text in a detail view or on hover); every other grid column must show its text whole.
FREE_TEXT_COLUMNS = frozenset(
    {"query", "feedback", "text", "evidence", "description", "examples", "keywords", "output",
     "response A", "response B", "transcript", "note", "reason", "why"}
)  # fmt: skip

# Text people must read whole, cut off in its box: table cells and headers (st.table), metric
# values and labels, and the cells and headings of st.dataframe grids. A grid draws on a
# canvas: its columns (title, width), theme (font, padding) and cell texts are read from the
# grid's own properties, and each text is measured in the grid's font. Every row is checked,
# not only those scrolled into view.
CLIPPED_JS = """(freeText) => {
  const out = [];
  const measure = document.createElement('canvas').getContext('2d');
  for (const grid of document.querySelectorAll('[data-testid="stDataFrame"]')) {
    if (!grid.checkVisibility()) continue;
    const canvas = grid.querySelector('canvas');
    const fiberKey = canvas && Object.keys(canvas).find(k => k.startsWith('__reactFiber'));
    let fiber = fiberKey ? canvas[fiberKey] : null, props = null;
    for (let depth = 0; fiber && depth < 30; depth++, fiber = fiber.return) {
      const p = fiber.memoizedProps || {};
      if (Array.isArray(p.columns) && p.getCellContent && p.theme) { props = p; break; }
    }
    if (!props) { out.push('grid: its columns could not be read'); continue; }
    const theme = props.theme, pad = 2 * (theme.cellHorizontalPadding || 8);
    const rows = Math.min(props.rows || 0, 500);
    props.columns.forEach((column, index) => {
      const title = String(column.title || '');
      if (!title || freeText.includes(title)) return;
      measure.font = theme.headerFontFull || `${theme.headerFontStyle} ${theme.fontFamily}`;
      if (measure.measureText(title).width + pad > column.width + 1)
        out.push(`grid heading '${title}': ${Math.ceil(measure.measureText(title).width + pad)} > ${column.width} px`);
      measure.font = theme.baseFontFull || `${theme.baseFontStyle} ${theme.fontFamily}`;
      for (let row = 0; row < rows; row++) {
        const cell = props.getCellContent([index, row]) || {};
        const text = String(cell.displayData ?? cell.data ?? '');
        const need = measure.measureText(text).width + pad;
        if (need > column.width + 1) {
          out.push(`grid cell '${title}' '${text.slice(0, 40)}': ${Math.ceil(need)} > ${column.width} px`);
          break;  // one line per column
        }
      }
    });
  }
  const selector = '[data-testid="stTable"] th, [data-testid="stTable"] td, '
    + '[data-testid="stMetricValue"] > div, [data-testid="stMetricLabel"] p';
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility() || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) {
      const text = el.innerText.trim().slice(0, 40);
      out.push(`${el.tagName.toLowerCase()} '${text}': ${el.scrollWidth} > ${el.clientWidth} px`);
    }
  }
  return out;
}"""

PLANTED_JS = """(marker) => Array.from(document.querySelectorAll('[src], [href], [srcset], [style]'))
  .filter(el => ['src', 'href', 'srcset', 'style'].some(a => (el.getAttribute(a) || '').includes(marker)))
  .map(el => {
    const box = el.closest('[data-testid^="st"]');
    const where = box ? box.getAttribute('data-testid') : '?';
    return `${where}: ${el.outerHTML.slice(0, 200)}`;
  })"""


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def arenalens_command(workspace: Path, db: str | None, *args: str) -> list[str]:
    """`arenalens --workspace DIR [--db URL] ARGS...` with this interpreter's entry point."""
    command = [str(Path(sys.executable).parent / "arenalens"), "--workspace", str(workspace)]
    return [*command, *(["--db", db] if db else []), *args]


def start_dashboard(
    workspace: Path, port: int, log: Path, db: str | None = None, timeout_s: float = 120
) -> subprocess.Popen:
    """`arenalens --workspace DIR [--db URL] dashboard --port N` in the background (its own
    process group); waits until it answers."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ARENALENS_WORKSPACE": str(workspace)}
    env.pop("ARENALENS_DB", None)
    process = subprocess.Popen(
        arenalens_command(workspace, db, "dashboard", "--port", str(port)),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group, so stop() ends the Streamlit child too
    )
    deadline = time.monotonic() + timeout_s
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
    stop(process)
    raise RuntimeError(
        f"dashboard did not answer on port {port} within {timeout_s:.0f} s; see {log}"
    )


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


def open_browser(playwright, viewport: tuple[int, int], network: NetworkLog):
    """Headless Debian chromium and a context at `viewport` whose every request is logged in
    `network`; requests leaving loopback are refused (and logged as refused)."""

    def route(request_route) -> None:
        url = request_route.request.url
        if is_loopback_url(url):
            request_route.continue_()
        else:
            network.refused.append(url)
            request_route.abort()

    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.on("request", lambda request: network.urls.append(request.url))
    context.route("**/*", route)
    return browser, context


def wait_for_run(page, heading: str, timeout_ms: int) -> None:
    """Wait until the page shows `heading` and Streamlit has finished the script run."""
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms,
    )


def wait_for_charts(page, timeout_ms: int) -> None:
    """Wait until every chart has drawn (Vega renders after the data arrives)."""
    page.wait_for_timeout(1000)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]'))"
        ".every(c => c.querySelector('svg, canvas'))",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(1500)  # tables lay out their columns after the first paint


def expand_to_content(page, viewport: tuple[int, int], timeout_ms: int) -> None:
    """Make the window as tall as the page (same width, same layout): Streamlit scrolls inside
    its main block and draws elements only once they are on screen, so checks and the
    screenshot see every element only this way."""
    last = 0
    for _ in range(6):  # elements drawn on becoming visible can make the page taller again
        height = page.evaluate(
            "() => Math.max(...['stMain', 'stMainBlockContainer', 'stAppViewContainer']"
            '.map(id => document.querySelector(`[data-testid="${id}"]`))'
            ".filter(Boolean).map(e => e.scrollHeight))"
        )
        if int(height) <= last:
            break
        last = int(height)
        page.set_viewport_size({"width": viewport[0], "height": max(viewport[1], last + 40)})
        wait_for_charts(page, timeout_ms)


def check_pages(
    port: int,
    out: Path,
    timeout_ms: int = 60_000,
    *,
    viewport: tuple[int, int] = (1280, 800),
    planted_marker: str | None = None,
    actions: dict[str, Callable] | None = None,
    network: NetworkLog | None = None,
    only: list[str] | None = None,
    settle: bool = True,
) -> list[PageCheck]:
    """Visit every page at `viewport`; return what each showed (title, heading, exceptions,
    elements pointing at `planted_marker`, overflowing charts/tables) and save a screenshot.
    `actions[path](page)` runs after the page loaded (e.g. open a drill-down) before the checks.
    Every request is logged in `network`; requests leaving loopback are refused.
    `settle=False` only times each page (no chart wait, layout checks or screenshot)."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    network = network if network is not None else NetworkLog()
    actions = actions or {}
    results = []
    with sync_playwright() as playwright:
        browser, context = open_browser(playwright, viewport, network)
        page = context.new_page()
        for path, (_title, heading) in PAGES.items():
            if only is not None and path not in only:
                continue
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/{path}", timeout=timeout_ms)
            wait_for_run(page, heading, timeout_ms)
            seconds = time.perf_counter() - started
            if not settle:
                errors = [e.inner_text() for e in page.locator('[data-testid="stException"]').all()]
                results.append(
                    PageCheck(path, page.title(), heading, Path(), errors, [], [], seconds)
                )
                continue
            wait_for_charts(page, timeout_ms)
            if path in actions:
                actions[path](page)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                    timeout=timeout_ms,
                )
                wait_for_charts(page, timeout_ms)
            expand_to_content(page, viewport, timeout_ms)
            errors = [e.inner_text() for e in page.locator('[data-testid="stException"]').all()]
            planted = page.evaluate(PLANTED_JS, planted_marker) if planted_marker else []
            overflow = page.evaluate(OVERFLOW_JS)
            clipped = page.evaluate(CLIPPED_JS, sorted(FREE_TEXT_COLUMNS))
            shot = out / f"{path or 'overview'}-{viewport[0]}.png"
            page.screenshot(path=str(shot), full_page=True)
            page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
            results.append(
                PageCheck(
                    path,
                    page.title(),
                    page.locator("h1").first.inner_text().strip(),
                    shot,
                    errors,
                    planted,
                    overflow,
                    seconds,
                    clipped,
                )
            )
        browser.close()
    return results


def parse_viewport(text: str) -> tuple[int, int]:
    """'1280x800' -> (1280, 800)."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"viewport {text!r}: expected WIDTHxHEIGHT") from None
    return width, height


VIEWPORTS = [(1280, 800), (1440, 900)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--db", default=None, help="Database URL (default: SQLite in workspace).")
    parser.add_argument(
        "--out", type=Path, default=None, help="Screenshot folder (default: a temporary one)."
    )
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument(
        "--viewport",
        type=parse_viewport,
        action="append",
        default=None,
        help="Window size WIDTHxHEIGHT (repeatable; default 1280x800 and 1440x900).",
    )
    parser.add_argument(
        "--page", action="append", default=None, help="Only this url path ('' = Overview)."
    )
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="arenalens-screens-"))
    out.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    process = start_dashboard(args.workspace, port, out / "dashboard.log", db=args.db)
    results = []
    try:
        for viewport in args.viewport or VIEWPORTS:
            results += check_pages(port, out, viewport=viewport, only=args.page)
    finally:
        stop(process)
    for r in results:
        print(
            f"{'ok ' if r.ok and not r.overflow else 'BAD'} /{r.path:<12} {r.seconds:5.1f}s "
            f"title={r.title!r} heading={r.heading!r} {r.screenshot}"
        )
        for error in r.errors:
            print(f"    exception on page: {error[:300]}")
        for line in r.overflow:
            print(f"    overflow: {line}")
        for line in r.clipped:
            print(f"    clipped: {line}")
    return 0 if all(r.ok and not r.overflow for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
