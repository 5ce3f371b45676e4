"""Warm every page's caches in a background thread when `arenalens dashboard` starts."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from arenalens.context import AppContext
from dashboard.cli import PREFETCH_ENV
from dashboard.loaders import cache, coding, inference, ranking, taxonomy, workspace


def prefetch(app: AppContext) -> dict[str, float]:
    """Fill the caches every page needs, heaviest first; returns seconds per loader."""
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("status", lambda: workspace.status(app)),
        ("runs", lambda: workspace.runs(app)),
        ("interactions", lambda: workspace.interactions(app)),
        ("feedback", lambda: workspace.feedback(app)),
        ("model_outputs", lambda: inference.model_outputs(app)),
        ("audio_roots", lambda: workspace.audio_roots(app)),
        ("latest_ratings", lambda: ranking.latest_ratings(app)),
    ]
    taxonomy_runs = taxonomy.taxonomy_run_ids(app)
    coded = coding.coding_ready(app) is None
    if taxonomy_runs:
        latest = taxonomy_runs[0]
        steps += [
            ("modality_shares", lambda: taxonomy.modality_shares(app)),
            ("category_shares", lambda: taxonomy.category_shares(app)),
            ("clusters", lambda: taxonomy.clusters(app, latest, 0)),
            ("parents", lambda: taxonomy.clusters(app, latest, 1)),
            ("query_clusters", lambda: taxonomy.query_clusters(app, latest)),
            ("modality_examples", lambda: taxonomy.modality_examples(app)),
            ("modality_win_rates", lambda: taxonomy.modality_win_rates(app)),
        ]
    if coded:
        steps += [
            ("prevalence", lambda: coding.prevalence(app, "overall")),
            ("top_loss_reasons", lambda: coding.top_loss_reasons(app, 3)),
            ("agreement", lambda: coding.agreement(app, 1000)),
            ("coded_items", lambda: coding.coded_items(app)),
            ("machine_codes", lambda: coding.machine_codes(app)),
        ]
    if taxonomy_runs and coded:
        steps.append(("cluster_loss_reasons", lambda: taxonomy.cluster_loss_reasons(app, latest)))
    seconds = {}
    for name, step in steps:
        started = time.perf_counter()
        try:
            step()
        except Exception:  # noqa: BLE001 - a page shows the error when it asks; prefetch is best-effort
            pass
        seconds[name] = time.perf_counter() - started
    # benchmarks/dashboard_browser.py waits for this line in the server's log
    print(f"arenalens dashboard: caches warmed in {sum(seconds.values()):.1f}s", file=sys.stderr)
    return seconds


# Libraries the pages import lazily. They are imported in the page's thread before the prefetch
# thread starts: two threads importing altair/sklearn (which share narwhals) at the same time can
# end in `_DeadlockError: deadlock detected by _ModuleLock('narwhals.stable.v2')`. (The stages'
# modules the loaders use are imported with this module.)
PREFETCH_IMPORTS = ("altair", "narwhals.stable.v2", "sklearn", "scipy.stats")


def import_before_prefetch() -> list[str]:
    """Import (in this thread) every module the prefetch may need; returns their names."""
    for name in PREFETCH_IMPORTS:
        importlib.import_module(name)
    return list(PREFETCH_IMPORTS)


@st.cache_resource(show_spinner=False, max_entries=8)
def prefetch_thread(workspace: str, db: str | None, version: tuple) -> threading.Thread:
    """The (started) prefetch thread of one workspace and store version: one per version."""
    # the loaders run outside any session here; Streamlit's "no ScriptRunContext" note is noise
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR
    )
    import_before_prefetch()
    thread = threading.Thread(
        target=prefetch,
        args=(cache.context_for(workspace, db),),
        name="arenalens-prefetch",
        daemon=True,
    )
    thread.start()
    return thread


def start_prefetch(app: AppContext) -> None:
    """Once per version of the runs and core rows, warm every page's caches in a background
    thread (when the `arenalens dashboard` command asked for it), so pages open fast at 100k
    interactions. An annotation or edit saved does not restart it: the few loaders that read
    those rows refill when a page asks."""
    if os.environ.get(PREFETCH_ENV) == "1":
        prefetch_thread(*cache.key(app), cache.version_for(cache.store_version(app), ()))
