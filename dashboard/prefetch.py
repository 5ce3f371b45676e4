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
from ranking.persist import CONTROLLED


def prefetch_steps(app: AppContext) -> list[tuple[str, Callable[[], Any]]]:
    """(name, loader call) of every page's caches, page by page in the order of the sidebar:
    a first visitor arriving while the prefetch runs usually opens the Overview and then walks
    down the sidebar, so each page's loaders are warm (or being computed) when they come. The
    Overview's come last: the page run that starts the prefetch (the start-up run of
    `arenalens dashboard`, which is the Overview) computes them alongside."""
    taxonomy_runs = taxonomy.taxonomy_run_ids(app)
    latest = taxonomy_runs[0] if taxonomy_runs else None
    coded = coding.coding_ready(app) is None
    version = coding.codebook(app).version_key
    ranked = workspace.latest_runs(app, "ranking")
    ranking_run = int(ranked.iloc[0]["id"]) if len(ranked) else None
    # the boards the Leaderboard reads: the newest run's overall and length-controlled boards,
    # and the newest `rank --by FIELD` run's board per field
    boards = [(ranking_run, ""), (ranking_run, CONTROLLED)] if ranking_run is not None else []
    for run in ranked.itertuples():
        field = (run.config or {}).get("by")
        if field and field not in {f for _, f in boards}:
            boards.append((int(run.id), field))
    regressed = workspace.latest_runs(app, "regression")
    counts = workspace.status(app)
    conversations = bool(counts.get("conversations"))
    spoken = bool(counts.get("spoken_answers"))  # the Outputs page shows their speech features
    steps: list[tuple[str, Callable[[], Any], bool]] = [
        ("status", lambda: workspace.status(app), True),
        ("runs", lambda: workspace.runs(app), True),
        # Use cases
        ("clusters", lambda: taxonomy.clusters(app, latest, 0), bool(taxonomy_runs)),
        ("parents", lambda: taxonomy.clusters(app, latest, 1), bool(taxonomy_runs)),
        ("query_clusters", lambda: taxonomy.query_clusters(app, latest), bool(taxonomy_runs)),
        (
            "conversation_shares",
            lambda: taxonomy.conversation_shares(app, latest),
            bool(taxonomy_runs),
        ),
        ("taxonomy_edits", lambda: taxonomy.taxonomy_edits(app), bool(taxonomy_runs)),
        ("category_names", lambda: taxonomy.category_names(app), bool(taxonomy_runs)),
        (
            "cluster_loss_reasons",
            lambda: taxonomy.cluster_loss_reasons(app, latest),
            bool(taxonomy_runs) and coded,
        ),
        # Feedback
        ("coded_items", lambda: coding.coded_items(app), coded),
        ("machine_codes", lambda: coding.machine_codes(app), coded),
        ("candidate_reasons", lambda: coding.candidate_reasons(app, version), coded),
        # Outputs
        ("interactions", lambda: workspace.interactions(app), True),
        ("model_aliases", lambda: workspace.model_aliases(app), True),
        ("feedback", lambda: workspace.feedback(app), True),
        ("model_outputs", lambda: inference.model_outputs(app), True),
        ("audio_roots", lambda: workspace.audio_roots(app), True),
        ("response_audio", lambda: workspace.response_audio(app), True),
        ("conversation_turns", lambda: workspace.conversation_turns(app), conversations),
        ("vote_features", lambda: workspace.vote_features(app), spoken),
        # Annotate and Agreement
        ("annotation_queue", lambda: coding.annotation_queue(app, None), coded),
        ("agreement", lambda: coding.agreement(app, 1000), coded),
        ("disagreement_details", lambda: coding.disagreement_details(app), coded),
        # Leaderboard
        ("win_rates", lambda: ranking.win_rates(app, ranking_run), ranking_run is not None),
        *[
            (
                f"ratings {field or 'overall'}",
                lambda r=run, f=field: ranking.ratings(app, r, f),
                True,
            )
            for run, field in boards
        ],
        ("prevalence_by_model", lambda: coding.prevalence(app, "model"), coded),
        # Benchmarks vs preference
        (
            "regression_terms",
            lambda: ranking.regression_terms(app, int(regressed.iloc[0]["id"])),
            len(regressed) > 0,
        ),
        # Overview: last, as the run that starts the prefetch is usually the Overview's own
        # (`arenalens dashboard`'s start-up run, or a first visitor's), computing these meanwhile
        ("synthetic_share", lambda: workspace.synthetic_share(app), True),
        ("workspace_facts", lambda: workspace.workspace_facts(app), True),  # next steps
        ("latest_ratings", lambda: ranking.latest_ratings(app), True),
        ("prevalence", lambda: coding.prevalence(app, "overall"), coded),
        ("top_loss_reasons", lambda: coding.top_loss_reasons(app, 3), coded),
        ("modality_shares", lambda: taxonomy.modality_shares(app), bool(taxonomy_runs)),
        ("category_shares", lambda: taxonomy.category_shares(app), bool(taxonomy_runs)),
        ("modality_examples", lambda: taxonomy.modality_examples(app), bool(taxonomy_runs)),
        ("modality_win_rates", lambda: taxonomy.modality_win_rates(app), bool(taxonomy_runs)),
    ]
    return [(name, step) for name, step, wanted in steps if wanted]


PREFETCH_SWITCH_INTERVAL_S = 0.0005


def prefetch(app: AppContext) -> dict[str, float]:
    """Fill the caches every page needs, in the order users arrive; returns seconds per loader."""
    try:
        steps = prefetch_steps(app)
    except Exception:  # noqa: BLE001 - a page shows the error when it asks; prefetch is best-effort
        steps = []
    seconds = {}
    # While this thread computes, the server's thread must still answer a first visitor: hand
    # the interpreter lock over every 0.5 ms instead of every 5 ms, so serving Streamlit's
    # JavaScript and the page's own script run wait less on it.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(PREFETCH_SWITCH_INTERVAL_S)
    try:
        for name, step in steps:
            started = time.perf_counter()
            try:
                step()
            except Exception:  # noqa: BLE001 - a page shows the error when it asks; best-effort
                pass
            seconds[name] = time.perf_counter() - started
    finally:
        sys.setswitchinterval(switch)
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
