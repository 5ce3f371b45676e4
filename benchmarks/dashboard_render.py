"""First render time of every dashboard page on a 100,000-interaction workspace (goal < 3 s).

Usage:
    python benchmarks/dashboard_render.py --base DEMO_WORKSPACE [--target 100000] [--scaled DIR]

DEMO_WORKSPACE is a workspace where `arenalens demo` has run (sample arena, every stage). The
benchmark copies it and scales it up by replication: each copy of an interaction (and its
feedback) gets a new id and user, the same taxonomy assignment and the same machine codes as
its original; then the taxonomy run is recounted (taxonomy's `reapply_edits`) and the votes are
re-ranked and re-regressed (ranking's `compute_rankings` / `compute_regression`), so every page
reads a store of the target size. Each page is then rendered with Streamlit's AppTest (the same
script run a browser session triggers, without the browser's drawing):
- cold: every cache cleared, the page computes everything it shows;
- after prefetch: what a user sees once `arenalens dashboard`'s start-up prefetch (a background
  thread filling every page's caches; its time is reported too) has finished;
- warm: the same page opened again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
PAGES = [
    "overview.py",
    "use_cases.py",
    "feedback.py",
    "outputs.py",
    "annotate.py",
    "agreement.py",
    "leaderboard.py",
    "benchmarks.py",
]
GOAL_S = 3.0


def _suffixed(
    frame: pd.DataFrame, k: int, id_columns: tuple[str, ...], user_column: str | None = None
) -> pd.DataFrame:
    """A copy of `frame` whose id columns (and user) carry the replica suffix ~r<k>."""
    part = frame.copy()
    for column in id_columns:
        part[column] = part[column].astype(str) + f"~r{k}"
    if user_column:
        part[user_column] = part[user_column].map(lambda u: None if u is None else f"{u}~r{k}")
    return part


def scale_workspace(base: Path, scaled: Path, target: int) -> dict:
    """Copy `base` to `scaled` and replicate interactions (+ derived rows) up to `target`."""
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from arenalens.store import tables as t

    if scaled.exists():
        shutil.rmtree(scaled)
    scaled.mkdir(parents=True)
    for name in ("arenalens.sqlite",):
        shutil.copy2(base / name, scaled / name)
    app = AppContext(Settings(workspace=scaled, labeler="embedding"))
    store = app.store
    interactions = store.read_table(t.interactions)
    feedback = store.read_table(t.feedback)
    copies = max(0, -(-target // len(interactions)) - 1)
    stage_tables = dict(t.metadata.tables)
    assignments = stage_tables.get("taxonomy_assignments")
    items, codes = stage_tables.get("coding_items"), stage_tables.get("coding_codes")
    taxonomy_rows = store.read_table(assignments) if assignments is not None else pd.DataFrame()
    item_rows = store.read_table(items) if items is not None else pd.DataFrame()
    code_rows = (
        store.read_table(codes).drop(columns=["id"]) if codes is not None else pd.DataFrame()
    )
    needed = target - len(interactions)
    with tqdm(total=copies, desc="replicating", unit=" copies") as bar:
        for k in range(1, copies + 1):
            part = _suffixed(interactions, k, ("id",), "user_id").head(
                needed - (k - 1) * len(interactions)
            )
            keep = set(part["id"])
            fb = _suffixed(feedback, k, ("id", "interaction_id"))
            fb = fb[fb["interaction_id"].isin(keep)]
            kept_feedback = set(fb["id"])
            with store.transaction() as conn:
                store.insert_ignore(t.interactions, part.to_dict("records"), conn=conn)
                store.insert_ignore(t.feedback, fb.to_dict("records"), conn=conn)
                if len(taxonomy_rows):
                    rows = _suffixed(taxonomy_rows, k, ("interaction_id",))
                    rows = rows[rows["interaction_id"].isin(keep)]
                    store.insert_ignore(assignments, rows.to_dict("records"), conn=conn)
                if len(item_rows):
                    rows = _suffixed(item_rows, k, ("feedback_id",))
                    rows = rows[rows["feedback_id"].isin(kept_feedback)]
                    store.insert_ignore(items, rows.to_dict("records"), conn=conn)
                if len(code_rows):
                    rows = _suffixed(code_rows, k, ("feedback_id",))
                    rows = rows[rows["feedback_id"].isin(kept_feedback)]
                    store.insert_ignore(codes, rows.to_dict("records"), conn=conn)
            bar.update(1)
    _recompute_derived(app)
    status = store.status()
    store.engine.dispose()
    return {
        "copies": copies,
        **{k: status[k] for k in ("interactions", "votes", "feedback", "systems")},
    }


def _recompute_derived(app) -> None:
    """Recount the taxonomy run and re-rank / re-regress the scaled votes with the stages' code."""
    try:
        from taxonomy.categories import resolve_categories
        from taxonomy.persist import latest_run_id
        from taxonomy.pipeline import reapply_edits

        if latest_run_id(app.store) is not None:
            reapply_edits(app.store, resolve_categories(None, app.settings.workspace))
    except ModuleNotFoundError:
        pass
    try:
        from ranking.cli import compute_rankings, compute_regression
        from ranking.leaderboard import RankingOptions

        compute_rankings(app, RankingOptions(bootstrap_rounds=1000, seed=0))
        compute_regression(app, seed=0)
    except ModuleNotFoundError:
        pass


def _render(page: str) -> float:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.switch_page(f"views/{page}")
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    return elapsed


def _clear_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def render_times(workspace: Path) -> tuple[list[dict], dict[str, float]]:
    """Per page: cold render (every cache cleared), render after the start-up prefetch that
    `arenalens dashboard` runs, and warm render; plus the prefetch's own time per loader."""
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from dashboard.prefetch import prefetch as warm_caches

    os.environ["ARENALENS_WORKSPACE"] = str(workspace)
    os.environ.pop("ARENALENS_DB", None)
    os.environ.pop("ARENALENS_DASHBOARD_PREFETCH", None)
    rows = {page: {"page": page} for page in PAGES}
    for page in PAGES:
        _clear_caches()
        rows[page]["cold_s"] = round(_render(page), 2)
        print(f"{page:<16} cold      {rows[page]['cold_s']:6.2f} s", flush=True)
    _clear_caches()
    started = time.perf_counter()
    prefetch = warm_caches(AppContext(Settings(workspace=workspace)))
    prefetch["total"] = time.perf_counter() - started
    print(
        f"start-up prefetch {prefetch['total']:.1f} s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in prefetch.items() if k != "total"),
        flush=True,
    )
    for page in PAGES:
        rows[page]["after_prefetch_s"] = round(_render(page), 2)
        rows[page]["warm_s"] = round(_render(page), 2)
        print(
            f"{page:<16} prefetched {rows[page]['after_prefetch_s']:6.2f} s   warm {rows[page]['warm_s']:6.2f} s",
            flush=True,
        )
    return list(rows.values()), {k: round(v, 2) for k, v in prefetch.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", type=Path, required=True, help="A workspace where `arenalens demo` ran."
    )
    parser.add_argument("--target", type=int, default=100_000)
    parser.add_argument("--scaled", type=Path, default=Path("/tmp/arenalens-dashboard-bench"))
    parser.add_argument("--reuse", action="store_true", help="Reuse --scaled if it already exists.")
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.reuse and (args.scaled / "arenalens.sqlite").exists():
        built = {"reused": str(args.scaled)}
    else:
        built = scale_workspace(args.base, args.scaled, args.target)
    print(f"workspace: {built} ({time.perf_counter() - started:.0f} s to build)", flush=True)
    rows, prefetch = render_times(args.scaled)
    cold = max(r["cold_s"] for r in rows)
    served = max(r["after_prefetch_s"] for r in rows)
    print(
        f"slowest cold render {cold:.2f} s; slowest after the start-up prefetch {served:.2f} s (goal < {GOAL_S} s)"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"workspace": built, "prefetch_s": prefetch, "pages": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
