"""Seconds per item on the Annotate page for an annotator using the keyboard only.

Usage: python benchmarks/annotate_keyboard.py [--items 20] [--db URL] [--screens DIR]

Builds a workspace from the first interactions of the shipped sample arena (coded by the
offline labeler, a validation sample for two annotators), serves `arenalens dashboard` on
127.0.0.1, and drives headless Debian chromium at 1280x800 with key presses only: for each
item the annotator either accepts the machine's codes (Enter) or flips one code and saves
(a number key, then Enter). Each item's time runs from the item appearing to the next item
appearing after its save. The saves are then checked with `arenalens annotate progress`.
The slow browser test (tests/dashboard/test_dashboard_annotate_browser.py) runs the same
functions on SQLite and PostgreSQL workspaces.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

# the shared browser helpers: chromium, the dashboard process, the loopback-only network log
from browser_check import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    NetworkLog,
    arenalens_command,
    free_port,
    open_browser,
    start_dashboard,
    stop,
)

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port", "start_dashboard", "stop"]

VIEWPORT = {"width": 1280, "height": 800}
ANNOTATORS = ("ann-1", "ann-2")
ITEM_HEADER = re.compile(r"Item (\d+) of (\d+)")
ITEM_ID = re.compile(r"id (\S+) ·")
FIRST_TOGGLE = "[class*='st-key-annotate_toggle'] button"


@dataclass
class ItemTiming:
    """One keyboard-annotated item: which, whether a code was flipped, seconds to the next."""

    feedback_id: str
    flipped: str | None
    seconds: float


@dataclass
class KeyboardRun:
    """What the browser did: per-item timings, screenshots, and any non-loopback request."""

    timings: list[ItemTiming]
    outside_requests: list[str]
    page_errors: list[str]
    # "Item k" positions seen on the first item, then after the right arrow, then the left
    arrow_positions: list[int] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(t.seconds for t in self.timings)


def build_workspace(
    workspace: Path, db: str | None = None, interactions: int = 200, size: int = 40
) -> None:
    """Ingest the first `interactions` of the sample arena, code them offline and draw a
    `size`-item validation sample for two annotators (each gets about `size` / 2 + overlap)."""
    from arenalens.app.demo import sample_file
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from arenalens.ingest import ingest_interactions
    from coding.codebook import resolve_codebook
    from coding.coder import CodingConfig, code_feedback
    from coding.sampling import create_validation_sample

    workspace.mkdir(parents=True, exist_ok=True)
    subset = workspace / "subset.jsonl"
    with sample_file("interactions.jsonl").open() as source:
        subset.write_text(
            "".join(line for _, line in zip(range(interactions), source, strict=False))
        )
    app = AppContext(Settings(workspace=workspace, db=db, labeler="embedding"))
    try:
        ingest_interactions(app.store, subset, "jsonl", progress=False)
        codebook = resolve_codebook(workspace)
        code_feedback(app.store, app.labeler, codebook, CodingConfig(), progress=False)
        create_validation_sample(
            app.store, codebook, ANNOTATORS, name="check", size=size, overlap=0.2
        )
    finally:
        app.store.engine.dispose()


def annotate_progress(workspace: Path, db: str | None) -> list[dict]:
    """`arenalens annotate progress --json`, as the records it prints."""
    done = subprocess.run(
        arenalens_command(workspace, db, "annotate", "progress", "--json"),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def open_page(page, port: int, path: str, timeout_ms: int = 90_000) -> None:
    """Open a dashboard page by its URL, as a bookmark would."""
    page.goto(f"http://127.0.0.1:{port}/{path}", timeout=timeout_ms)


def _idle(page, timeout_ms: int) -> None:
    """Wait until the page is ready for the next key, as a person would: the script run has
    finished (no running icon, nothing stale or still loading), the last button is drawn and
    no text field holds the keyboard focus."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid^="stStatusWidgetRunning"]')
                 && !document.querySelector('[data-stale="true"]')
                 && !document.querySelector('[data-testid="stSkeleton"]')
                 && (document.querySelector('.st-key-annotate_next button')
                     || document.querySelector('[data-testid=stAlertContentSuccess]'))
                 && !['INPUT', 'TEXTAREA'].includes(document.activeElement.tagName)""",
        timeout=timeout_ms,
    )


def current_item(page) -> tuple[int, str]:
    """(k of 'Item k of N', feedback id) of the item the page shows."""
    header = page.locator("[data-testid=stMarkdownContainer]", has_text=ITEM_HEADER)
    header = header.first.inner_text()
    return int(ITEM_HEADER.search(header).group(1)), ITEM_ID.search(header).group(1)


# true once the page shows another item than `old` (or the 'queue is done' message)
MOVED_ON = """(old) => {
  const header = [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]
    .find(e => /Item \\d+ of \\d+/.test(e.innerText));
  if (!header) return !!document.querySelector('[data-testid=stAlertContentSuccess]');
  return !header.innerText.includes('id ' + old + ' ');
}"""


def drive_keyboard(
    port: int,
    annotator: str,
    items: int,
    screens: Path | None = None,
    timeout_ms: int = 90_000,
) -> KeyboardRun:
    """Annotate `items` items with key presses only; every other item flips one code. First
    the right arrow moves to the next item and the left arrow back (not timed)."""
    from playwright.sync_api import sync_playwright

    network = NetworkLog()
    errors: list[str] = []
    timings: list[ItemTiming] = []
    arrows: list[int] = []
    with sync_playwright() as playwright:
        browser, context = open_browser(
            playwright, (VIEWPORT["width"], VIEWPORT["height"]), network
        )
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_page(page, port, "annotate", timeout_ms)
        page.get_by_role("combobox", name=re.compile("Annotator")).wait_for(timeout=timeout_ms)
        if screens is not None:
            page.screenshot(path=str(screens / "annotate-choose-name.png"))
        # choose the name by typing it into the (focused) select box
        page.get_by_role("combobox", name=re.compile("Annotator")).focus()
        page.keyboard.type(annotator)
        page.keyboard.press("Enter")
        # (the page takes the focus off the name box itself when the first item shows)
        page.locator(".st-key-annotate_save button").wait_for(timeout=timeout_ms)
        _idle(page, timeout_ms)
        if screens is not None:
            page.screenshot(path=str(screens / "annotate-first-item.png"))
        arrows.append(current_item(page)[0])
        for key in ("ArrowRight", "ArrowLeft"):
            feedback_id = current_item(page)[1]
            page.keyboard.press(key)
            page.wait_for_function(MOVED_ON, arg=feedback_id, timeout=timeout_ms)
            _idle(page, timeout_ms)
            arrows.append(current_item(page)[0])
        for index in range(items):
            started = time.perf_counter()
            _position, feedback_id = current_item(page)
            flipped = None
            if index % 2 == 1:  # flip the first code, and see it flipped before saving
                flipped = "1"
                before = page.locator(FIRST_TOGGLE).first.get_attribute("data-testid")
                page.keyboard.press("1")
                page.wait_for_function(
                    "([sel, before]) => { const b = document.querySelector(sel);"
                    " return b && b.getAttribute('data-testid') !== before; }",
                    arg=[FIRST_TOGGLE, before],
                    timeout=timeout_ms,
                )
                _idle(page, timeout_ms)
            page.keyboard.press("Enter")
            page.wait_for_function(MOVED_ON, arg=feedback_id, timeout=timeout_ms)
            _idle(page, timeout_ms)  # the next item is ready for keys, not just its header
            timings.append(ItemTiming(feedback_id, flipped, time.perf_counter() - started))
            if screens is not None and index == 1:
                page.screenshot(path=str(screens / "annotate-after-save.png"))
        _idle(page, timeout_ms)
        if screens is not None:
            page.screenshot(path=str(screens / "annotate-end.png"))
        browser.close()
    return KeyboardRun(timings, network.outside(), errors, arrows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--db", default=None, help="Database URL (default: SQLite in workspace).")
    parser.add_argument("--workspace", type=Path, default=None, help="Default: a temporary one.")
    parser.add_argument("--annotator", default=ANNOTATORS[0], choices=ANNOTATORS)
    parser.add_argument("--screens", type=Path, default=None, help="Save screenshots here.")
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="arenalens-annotate-")) / "ws"
    if not workspace.exists():
        build_workspace(workspace, args.db, size=max(40, 2 * args.items))
    if args.screens:
        args.screens.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = start_dashboard(workspace, port, workspace / "dashboard.log", db=args.db)
    try:
        run = drive_keyboard(port, args.annotator, args.items, args.screens)
    finally:
        stop(process)
    progress = {r["annotator"]: r for r in annotate_progress(workspace, args.db)}
    saved = progress[args.annotator]["annotated"]
    seconds = sorted(t.seconds for t in run.timings)
    print(
        f"{len(run.timings)} items by keyboard: median {run.median_s:.2f} s/item, "
        f"fastest {seconds[0]:.2f} s, slowest {seconds[-1]:.2f} s; "
        f"`annotate progress` shows {saved} saved for {args.annotator}; "
        f"non-loopback requests: {len(run.outside_requests)}; page errors: {len(run.page_errors)}"
    )
    return 0 if saved == len(run.timings) and not run.outside_requests else 1


if __name__ == "__main__":
    sys.exit(main())
