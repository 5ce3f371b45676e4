"""Time to interactive of every dashboard page, measured in real Chromium (goal: <= 2 s once the
start-up prefetch has filled the caches, <= 4 s on the very first visit).

Usage:
    python benchmarks/dashboard_browser.py --workspace DIR [--rounds 3] [--out DIR]

DIR is a workspace where every stage has run (e.g. the 100,000-interaction one that
`benchmarks/dashboard_render.py --scaled DIR` builds). The script starts `arenalens dashboard`
on loopback and, in headless Chromium at 1280x800, measures from navigation start until the
page shows its heading and Streamlit's "running" indicator is gone (the page is interactive):
- first visit: each page opened once, right after the server answered (prefetch still running);
- after prefetch: the dashboard log says the caches are warm, then each page opened `--rounds`
  times in a fresh browser session (median reported);
- returning browser: a full page load (typed URL, reload) in a browser that has been on the
  dashboard before, so its HTTP cache holds Streamlit's JavaScript (`--rounds` rounds, median).
  The fresh-browser figure above has no HTTP cache at all: Playwright's request interception,
  which refuses requests leaving loopback there, disables the cache; here a host-resolver rule
  in Chromium blocks every host but 127.0.0.1 instead and every request is still checked;
- in-app navigation: in one browser session, each page reached by clicking its sidebar link, as
  a user moves between pages (`--rounds` rounds, median reported).
Each full page load is also split, from the browser's clock, into Streamlit's front end
(navigation -> websocket open), the script run (rerun request -> the run's last message) and
drawing (-> no spinner).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import browser_check  # noqa: E402 - the shared browser helpers live in scripts/

FIRST_VISIT_GOAL_S = 4.0
WARM_GOAL_S = 2.0
PREFETCH_DONE = "caches warmed in"  # the line dashboard.prefetch.prefetch prints when it is done


def wait_for_prefetch(log: Path, timeout_s: float = 1800) -> float:
    """Seconds the prefetch took, read from the dashboard log once it says so."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if PREFETCH_DONE in line:
                return float(line.rsplit(PREFETCH_DONE, 1)[1].split("s")[0])
        time.sleep(1)
    raise TimeoutError(f"the prefetch did not finish within {timeout_s:.0f} s; see {log}")


# Records in the page when Streamlit's websocket opens, sends and receives (browser clock), so a
# visit splits into front end (navigation -> websocket open), script run (the rerun request ->
# the run's last message) and drawing (-> no spinner).
WEBSOCKET_TIMES_JS = """(() => {
  window.__arenalensWs = {};
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = new Native(url, protocols);
    const times = window.__arenalensWs;
    ws.addEventListener('open', () => { times.open = times.open || performance.now(); });
    ws.addEventListener('message', () => { times.last = performance.now(); });
    const send = ws.send.bind(ws);
    ws.send = (data) => { times.sent = times.sent || performance.now(); return send(data); };
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();"""
SPLIT_JS = """() => { const t = window.__arenalensWs || {}, now = performance.now();
  return [t.open || 0, (t.last || now) - (t.sent || t.open || 0), now - (t.last || now)]; }"""


@dataclass
class Visit:
    """One page load: seconds to interactive, and its front end / script run / drawing parts."""

    seconds: float
    front_end: float
    script: float
    drawing: float


def visit(page, url: str, heading: str, timeout_ms: int = 60_000) -> Visit:
    """Load `url` in `page` (made with WEBSOCKET_TIMES_JS) and time it until interactive."""
    started = time.perf_counter()
    page.goto(url, timeout=timeout_ms)
    browser_check.wait_for_run(page, heading, timeout_ms)
    seconds = time.perf_counter() - started
    errors = [e.inner_text() for e in page.locator('[data-testid="stException"]').all()]
    if errors:
        raise RuntimeError(f"{url}: {errors[0][:300]}")
    front, script, drawing = (ms / 1000 for ms in page.evaluate(SPLIT_JS))
    return Visit(seconds, front, script, drawing)


def page_times(port: int) -> dict[str, Visit]:
    """Each page loaded once (url path -> visit) in a newly launched browser without an HTTP
    cache (the request interception that keeps it on loopback turns the cache off)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, context = browser_check.open_browser(
            playwright, (1280, 800), browser_check.NetworkLog()
        )
        context.add_init_script(WEBSOCKET_TIMES_JS)
        page = context.new_page()
        visits = {
            path: visit(page, f"http://127.0.0.1:{port}/{path}", heading)
            for path, (_title, heading) in browser_check.PAGES.items()
        }
        browser.close()
    return visits


# Without request interception (it disables the HTTP cache) Chromium resolves no host but
# loopback; requests are still logged and any off loopback fails the run.
LOOPBACK_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def returning_times(port: int, rounds: int, timeout_ms: int = 60_000) -> dict[str, list[Visit]]:
    """Seconds from navigation start to interactive per page, `rounds` times, each a full page
    load in one browser whose HTTP cache already holds the dashboard's static files."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[Visit]] = {path: [] for path in browser_check.PAGES}
    urls: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_check.CHROMIUM,
            args=[*browser_check.CHROMIUM_ARGS, *LOOPBACK_ONLY_ARGS],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.on("request", lambda request: urls.append(request.url))
        context.add_init_script(WEBSOCKET_TIMES_JS)
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/agreement", timeout=timeout_ms)  # the earlier visit
        browser_check.wait_for_run(page, "Agreement", timeout_ms)
        for _ in range(rounds):
            for path, (_title, heading) in browser_check.PAGES.items():
                url = f"http://127.0.0.1:{port}/{path}"
                times[path].append(visit(page, url, heading, timeout_ms))
        browser.close()
    outside = [url for url in urls if not browser_check.is_loopback_url(url)]
    if outside:
        raise RuntimeError(
            f"the browser requested {len(outside)} URL(s) off loopback: {outside[0]}"
        )
    return times


def median_visit(visits: list[Visit]) -> Visit:
    """The median of each part over several loads of one page."""
    return Visit(
        *(statistics.median(getattr(v, f) for v in visits) for f in Visit.__dataclass_fields__)
    )


NO_SPINNER = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"


def click_times(port: int, rounds: int, timeout_ms: int = 60_000) -> dict[str, list[float]]:
    """Seconds from a sidebar click to the page being interactive, per page, `rounds` times,
    in one browser session (the app stays loaded; only the page's script runs)."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {path: [] for path in browser_check.PAGES}
    with sync_playwright() as playwright:
        browser, context = browser_check.open_browser(
            playwright, (1280, 800), browser_check.NetworkLog()
        )
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/agreement", timeout=timeout_ms)  # not Overview,
        browser_check.wait_for_run(page, "Agreement", timeout_ms)  # the first page clicked
        for _ in range(rounds):
            for path, (title, heading) in browser_check.PAGES.items():
                link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=title).first
                started = time.perf_counter()
                link.click()
                page.get_by_role("heading", name=heading, exact=True).first.wait_for(
                    timeout=timeout_ms
                )
                page.wait_for_function(NO_SPINNER, timeout=timeout_ms)
                times[path].append(time.perf_counter() - started)
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="Folder for the dashboard's log.")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="arenalens-dashboard-browser-"))
    out.mkdir(parents=True, exist_ok=True)
    log = out / "dashboard.log"
    port = browser_check.free_port()
    started = time.perf_counter()
    process = browser_check.start_dashboard(args.workspace, port, log)
    try:
        answered = time.perf_counter() - started
        first = page_times(port)
        prefetch_s = wait_for_prefetch(log)
        warm_rounds = [page_times(port) for _ in range(args.rounds)]
        returning_rounds = returning_times(port, args.rounds)
        clicks = click_times(port, args.rounds)
    finally:
        browser_check.stop(process)
    warm = {p: median_visit([r[p] for r in warm_rounds]) for p in first}
    returning = {p: median_visit(v) for p, v in returning_rounds.items()}
    clicked = {p: statistics.median(s) for p, s in clicks.items()}
    print(f"server answered after {answered:.1f} s; prefetch {prefetch_s:.1f} s")
    print(
        f"{'page':<14} {'first visit':>12} {'fresh browser':>14} {'returning browser':>18}"
        f" {'sidebar click':>14}   (after prefetch: medians)"
    )
    for path in first:
        name = browser_check.PAGES[path][0]
        print(
            f"{name:<14.14} {first[path].seconds:>11.2f}s {warm[path].seconds:>13.2f}s"
            f" {returning[path].seconds:>17.2f}s {clicked[path]:>13.2f}s"
        )
    print("front end / script run / drawing, seconds (medians after prefetch):")
    for label, visits in (("first visit", first), ("fresh", warm), ("returning", returning)):
        parts = ", ".join(
            f"{browser_check.PAGES[p][0][:10]} {v.front_end:.2f}/{v.script:.2f}/{v.drawing:.2f}"
            for p, v in visits.items()
        )
        print(f"  {label}: {parts}")
    slow_first = [p for p, v in first.items() if v.seconds > FIRST_VISIT_GOAL_S]
    slow_warm = [p for p, v in warm.items() if v.seconds > WARM_GOAL_S]
    slow_returning = [p for p, v in returning.items() if v.seconds > WARM_GOAL_S]
    slow_clicks = [p for p, s in clicked.items() if s > WARM_GOAL_S]
    print(
        f"goal first visit <= {FIRST_VISIT_GOAL_S:.0f} s: "
        + ("met" if not slow_first else f"missed on {slow_first}")
    )
    for label, slow in (
        ("fresh browser", slow_warm),
        ("returning browser", slow_returning),
        ("sidebar click", slow_clicks),
    ):
        print(
            f"goal after prefetch <= {WARM_GOAL_S:.0f} s, {label}: "
            + ("met" if not slow else f"missed on {slow}")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
