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
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
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


def page_times(port: int, out: Path) -> dict[str, float]:
    """Seconds to interactive per page (url path -> seconds), one visit each."""
    results = browser_check.check_pages(port, out, viewport=(1280, 800), settle=False)
    failed = [r for r in results if r.errors]
    if failed:
        raise RuntimeError(f"/{failed[0].path}: {failed[0].errors[0][:300]}")
    return {r.path: r.seconds for r in results}


# Without request interception (it disables the HTTP cache) Chromium resolves no host but
# loopback; requests are still logged and any off loopback fails the run.
LOOPBACK_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def returning_times(port: int, rounds: int, timeout_ms: int = 60_000) -> dict[str, list[float]]:
    """Seconds from navigation start to interactive per page, `rounds` times, each a full page
    load in one browser whose HTTP cache already holds the dashboard's static files."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {path: [] for path in browser_check.PAGES}
    urls: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=browser_check.CHROMIUM,
            args=[*browser_check.CHROMIUM_ARGS, *LOOPBACK_ONLY_ARGS],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.on("request", lambda request: urls.append(request.url))
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/agreement", timeout=timeout_ms)  # the earlier visit
        browser_check.wait_for_run(page, "Agreement", timeout_ms)
        for _ in range(rounds):
            for path, (_title, heading) in browser_check.PAGES.items():
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/{path}", timeout=timeout_ms)
                browser_check.wait_for_run(page, heading, timeout_ms)
                times[path].append(time.perf_counter() - started)
        browser.close()
    outside = [url for url in urls if not browser_check.is_loopback_url(url)]
    if outside:
        raise RuntimeError(
            f"the browser requested {len(outside)} URL(s) off loopback: {outside[0]}"
        )
    return times


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
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="arenalens-dashboard-browser-"))
    out.mkdir(parents=True, exist_ok=True)
    log = out / "dashboard.log"
    port = browser_check.free_port()
    started = time.perf_counter()
    process = browser_check.start_dashboard(args.workspace, port, log)
    try:
        answered = time.perf_counter() - started
        first = page_times(port, out / "first")
        prefetch_s = wait_for_prefetch(log)
        warm_rounds = [page_times(port, out / f"warm{i}") for i in range(args.rounds)]
        returning_rounds = returning_times(port, args.rounds)
        clicks = click_times(port, args.rounds)
    finally:
        browser_check.stop(process)
    warm = {p: statistics.median(r[p] for r in warm_rounds) for p in first}
    returning = {p: statistics.median(s) for p, s in returning_rounds.items()}
    clicked = {p: statistics.median(s) for p, s in clicks.items()}
    print(f"server answered after {answered:.1f} s; prefetch {prefetch_s:.1f} s")
    print(
        f"{'page':<14} {'first visit':>12} {'fresh browser':>14} {'returning browser':>18}"
        f" {'sidebar click':>14}   (after prefetch: medians)"
    )
    for path in first:
        name = browser_check.PAGES[path][0]
        print(
            f"{name:<14.14} {first[path]:>11.2f}s {warm[path]:>13.2f}s {returning[path]:>17.2f}s"
            f" {clicked[path]:>13.2f}s"
        )
    slow_first = [p for p, s in first.items() if s > FIRST_VISIT_GOAL_S]
    slow_warm = [p for p, s in warm.items() if s > WARM_GOAL_S]
    slow_returning = [p for p, s in returning.items() if s > WARM_GOAL_S]
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
