"""The dashboard's loaders read through a read-only store and never write; its saves go through
a store opened for the save, and refill only the loaders that read what was saved."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.exc import OperationalError

from arenalens.store import tables as t
from dashboard import loaders, prefetch, writes
from dashboard.loaders import cache, coding, inference, ranking, raters, taxonomy, workspace

# what a statement that changes the database starts with (PRAGMA x = y changes settings only)
WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|REPLACE|UPSERT|CREATE|DROP|ALTER|TRUNCATE|VACUUM|REINDEX|GRANT)\b",
    re.IGNORECASE,
)


def dashboard_app(workspace: Path):
    """The AppContext the pages use for `workspace` (its store shared and read-only)."""
    cache.invalidate()
    return cache.context_for(str(workspace), None)


def record_statements(app) -> list[str]:
    """Every SQL statement the app's store sends from now on."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(app.store.engine, "before_cursor_execute", seen)
    return statements


def every_loader_call(app) -> list[tuple[Callable[..., Any], tuple]]:
    """One call of each cached loader (with arguments that reach its real work)."""
    ranking_run = int(workspace.latest_runs(app, "ranking").iloc[0]["id"])
    regression_run = int(workspace.latest_runs(app, "regression").iloc[0]["id"])
    taxonomy_run = taxonomy.taxonomy_run_ids(app)[0]
    version = coding.codebook(app).version_key
    return [
        (workspace.status, ()),
        (workspace.runs, ()),
        (workspace.synthetic_share, ()),
        (workspace.feedback, ()),
        (workspace.interactions, ()),
        (workspace.model_aliases, ()),
        (workspace.audio_roots, ()),
        (workspace.workspace_facts, ()),
        (workspace.response_audio, ()),
        (workspace.vote_features, ()),
        (workspace.conversation_turns, ()),
        (inference.model_outputs, ()),
        (coding.codebook, ()),
        (coding.coded_versions, ()),
        (coding.prevalence, ("overall",)),
        (coding.prevalence, ("model",)),
        (coding.prevalence, ("category",)),
        (coding.coded_items, ()),
        (coding.machine_codes, ()),
        (coding.agreement, (20,)),
        (coding.disagreement_details, ()),
        (coding.feedback_categories, ()),
        (coding.feedback_answer_forms, ()),
        (coding.top_loss_reasons, (3,)),
        (coding.candidate_reasons, (version,)),
        (ranking.ratings, (ranking_run, "")),
        (ranking.win_rates, (ranking_run,)),
        (ranking.regression_terms, (regression_run,)),
        (taxonomy.category_shares, ()),
        (taxonomy.modality_shares, ()),
        (taxonomy.clusters, (taxonomy_run, 0)),
        (taxonomy.clusters, (taxonomy_run, 1)),
        (taxonomy.query_clusters, (taxonomy_run,)),
        (taxonomy.modality_examples, ()),
        (taxonomy.modality_win_rates, ()),
        (taxonomy.cluster_loss_reasons, (taxonomy_run,)),
        (taxonomy.taxonomy_edits, ()),
        (taxonomy.category_names, ()),
        (taxonomy.conversation_shares, (taxonomy_run,)),
        (raters.rater_quality, ()),
    ]


def test_every_loader_reads_the_read_only_store_without_a_write(private_demo_workspace):
    app = dashboard_app(private_demo_workspace)
    assert app.store.read_only
    statements = record_statements(app)

    calls = every_loader_call(app)
    for load, args in calls:
        load(app, *args)
    # the readers that are not cached, and the start-up prefetch
    assert workspace.workspace_steps(app)
    workspace.step_message(app, "Rank models")
    assert ranking.latest_ratings(app) is not None
    assert coding.coding_ready(app) is None and taxonomy.taxonomy_ready(app) is None
    coding.annotation_samples(app)
    queue = coding.annotation_queue(app, None)
    queue.progress()
    queue.pending("someone new")
    workspace.playable_audio(app, str(workspace.interactions(app)["id"].iloc[0]))
    prefetch.prefetch(app)

    called = {f"{load.__module__}.{load.__qualname__}" for load, _ in calls}
    assert called == set(cache.registered_loaders()), "a loader this test does not call"
    assert len(statements) > len(calls)
    assert [s for s in statements if WRITE.match(s)] == []
    with pytest.raises(OperationalError, match="readonly"):  # and the store would refuse one
        with app.store.transaction() as conn:
            conn.execute(insert(t.model_aliases).values(alias="x", canonical="y"))


def test_saving_an_annotation_refills_only_the_loaders_that_read_annotations(
    private_demo_workspace, monkeypatch
):
    app = dashboard_app(private_demo_workspace)
    computed: Counter[str] = Counter()

    def count_calls(module: Any, name: str) -> None:
        original = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            computed[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    count_calls(loaders.ranking, "ratings_frame")
    count_calls(loaders.taxonomy.persist, "cluster_table")
    count_calls(loaders.coding, "agreement_report")
    count_calls(loaders.coding, "prevalence_table")
    ranking_run = int(workspace.latest_runs(app, "ranking").iloc[0]["id"])
    taxonomy_run = taxonomy.taxonomy_run_ids(app)[0]

    def read_pages() -> None:
        ranking.ratings(app, ranking_run, "")
        taxonomy.clusters(app, taxonomy_run, 0)
        coding.agreement(app, 20)
        coding.prevalence(app, "overall")

    read_pages()
    read_pages()
    assert set(computed.values()) == {1}  # cached

    item = str(coding.coded_items(app)["feedback_id"].iloc[0])
    code = coding.codebook(app).code_names[0]
    queue = coding.annotation_queue(app, None)
    before = len(queue.annotation_matrix())
    writes.save_annotation(app, queue, "annotator-x", item, {code: True}, note="checked")
    assert len(queue.annotation_matrix()) > before  # saved, and the read-only store sees it
    read_pages()
    assert computed["agreement_report"] == 2 and computed["prevalence_table"] == 2
    assert computed["ratings_frame"] == 1 and computed["cluster_table"] == 1


def test_the_pages_store_refuses_writes_and_a_save_still_lands(db_url, tmp_path):
    """On SQLite and PostgreSQL alike: the pages' store is read-only, saves open their own."""
    from sqlalchemy.exc import DBAPIError

    from arenalens.store import Store

    Store.open(db_url).engine.dispose()  # what `arenalens dashboard` does before it starts
    app = cache.context_for(str(tmp_path / "ws"), db_url)
    assert app.store.read_only
    with pytest.raises(DBAPIError, match="(?i)read.?only"):
        with app.store.transaction() as conn:
            conn.execute(insert(t.model_aliases).values(alias="x", canonical="y"))
    with cache.writable_store(app) as store:
        store.set_aliases({"x": "y"})
    assert app.store.aliases() == {"x": "y"}
    app.store.engine.dispose()


THREADS_PROBE = """
import sys, threading
from sqlalchemy import select
from arenalens.store import Store, tables as t
store = Store.open(sys.argv[1], read_only=True)
errors = []
def read():
    try:
        for _ in range(30):
            store.read_frame(select(t.interactions.c.id, t.interactions.c.query_text).limit(2000))
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=read) for _ in range(16)]
for thread in threads: thread.start()
for thread in threads: thread.join()
print(errors)
"""


def test_the_read_only_store_serves_many_page_threads_at_once(sample_workspace):
    """Streamlit runs each page in its own thread: a read-only SQLite store shared by 16 reading
    threads neither fails nor crashes the process (it segfaulted with a per-thread pool)."""
    import subprocess
    import sys

    url = f"sqlite:///{sample_workspace / 'arenalens.sqlite'}"
    done = subprocess.run(
        [sys.executable, "-c", THREADS_PROBE, url], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_a_page_that_changes_a_loaded_frame_changes_only_its_own_copy(tiny_workspace):
    app = dashboard_app(tiny_workspace)
    first = workspace.interactions(app)
    expected = first.copy(deep=True)
    first["query"] = "changed by a page"
    first.loc[first.index[0], "model_a"] = "changed too"
    first["added"] = 1
    again = workspace.interactions(app)
    assert again.equals(expected)
    status = workspace.status(app)
    status["interactions"] = -1
    assert workspace.status(app)["interactions"] == len(expected)


def test_an_annotation_save_does_not_restart_the_start_up_prefetch(
    private_demo_workspace, monkeypatch
):
    import threading

    from dashboard.cli import PREFETCH_ENV

    started: list[str] = []

    def start() -> None:
        """start_prefetch, then wait for the thread it started (if any) to end."""
        prefetch.start_prefetch(app)
        for thread in threading.enumerate():
            if thread.name == "arenalens-prefetch":
                thread.join(timeout=30)

    monkeypatch.setattr(prefetch, "prefetch", lambda app: started.append("prefetch"))
    monkeypatch.setenv(PREFETCH_ENV, "1")
    app = dashboard_app(private_demo_workspace)
    start()
    start()
    assert started == ["prefetch"]  # once per version

    item = str(coding.coded_items(app)["feedback_id"].iloc[0])
    code = coding.codebook(app).code_names[0]
    writes.save_annotation(app, coding.annotation_queue(app, None), "ann-x", item, {code: True})
    start()
    assert started == ["prefetch"]

    with cache.writable_store(app) as store:  # a new run is a new version: prefetch again
        store.finish_run(store.start_run("example", {}))
    cache.reread_version()
    start()
    assert started == ["prefetch", "prefetch"]


def test_after_the_start_up_prefetch_no_page_computes_a_loader(
    private_demo_workspace, monkeypatch, render
):
    """The prefetch warms what every page reads when it opens, so a page opened afterwards
    only reads caches (the 2 s goal at 100k interactions rests on this)."""
    app = dashboard_app(private_demo_workspace)
    prefetch.prefetch(app)
    computed: list[str] = []
    for name, fn in cache.registered_loaders().items():

        def counted(*args: Any, _name: str = name, _fn: Callable = fn) -> Any:
            computed.append(_name)
            return _fn(*args)

        monkeypatch.setitem(cache._LOADERS, name, counted)
    pages = ["overview.py", "use_cases.py", "feedback.py", "outputs.py", "annotate.py"]
    pages += ["agreement.py", "leaderboard.py", "benchmarks.py"]
    by_page = {}
    for page in pages:
        at = render(private_demo_workspace, page)
        assert not at.exception, (page, at.exception)
        by_page[page], computed[:] = list(computed), []
    assert by_page == {page: [] for page in pages}


def test_the_prefetch_warms_the_pages_in_the_order_of_the_sidebar_overview_last(
    private_demo_workspace,
):
    """The page run that starts the prefetch is the Overview's (the start-up run), which
    computes its own loaders meanwhile; the prefetch goes on from the second page."""
    app = dashboard_app(private_demo_workspace)
    order = [name for name, _ in prefetch.prefetch_steps(app)]
    assert order[:2] == ["status", "runs"]
    outputs = order.index("model_outputs")
    assert order.index("query_clusters") < order.index("coded_items") < outputs
    assert outputs < order.index("agreement") < order.index("win_rates")
    assert order.index("regression_terms") < order.index("top_loss_reasons")
    assert order[-1] == "modality_win_rates"


def test_the_pages_store_reads_the_feedback_frame_once_until_its_rows_change(
    tiny_workspace, tmp_path, monkeypatch
):
    import json

    from arenalens.ingest import ingest_interactions
    from arenalens.store import Store

    app = dashboard_app(tiny_workspace)
    reads = Counter()
    original = Store.feedback_frame

    def counted(self):
        reads["feedback_frame"] += 1
        return original(self)

    monkeypatch.setattr(Store, "feedback_frame", counted)
    first = app.store.feedback_frame()
    rows = len(first)
    first["text"] = "changed by one reader"
    second = app.store.feedback_frame()
    assert reads["feedback_frame"] == 1
    assert "changed by one reader" not in set(second["text"])
    assert len(second) == rows

    record = {"id": "i-new", "user_id": "u9", "query_text": "q", "model_a": "alpha"}
    record |= {"model_b": "beta", "winner": "model_a", "feedback": "new feedback"}
    source = tmp_path / "more.jsonl"
    source.write_text(json.dumps(record) + "\n")
    writer = Store.open(app.settings.db_url)
    ingest_interactions(writer, source, "jsonl", progress=False)
    writer.engine.dispose()
    third = app.store.feedback_frame()
    assert reads["feedback_frame"] == 2
    assert "new feedback" in set(third["text"]) and len(third) == rows + 1
