"""One run lifecycle for every stage: published on success, failed on error, abandoned when the
process dies, one process per stage at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from arenalens.cli import main_group
from arenalens.store import SCHEMA_VERSION, Store, StoreError
from arenalens.store import tables as t
from arenalens.store.store import RunLeaseHeld

REPO_ROOT = Path(__file__).resolve().parents[1]

# A process that starts a run of `stage`, says so on stdout, then works (sleeps) until killed.
HOLD_A_RUN = textwrap.dedent(
    """
    import sys, time
    from arenalens.store import Store
    store = Store.open(sys.argv[1])
    with store.run(sys.argv[2], {"probe": True}) as run:
        print(run.id, flush=True)
        time.sleep(float(sys.argv[3]))
    print("published", flush=True)
    """
)


def _python(*args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _started_run(process: subprocess.Popen[str]) -> int:
    line = process.stdout.readline() if process.stdout else ""
    assert line.strip(), f"holder did not start: {process.stderr.read() if process.stderr else ''}"
    return int(line)


def test_a_run_is_published_with_its_summary(store: Store) -> None:
    with store.run("taxonomy", {"k": 3}, model="emb") as run:
        assert store.latest_run("taxonomy") is None  # not visible while running
        run.summary["clusters"] = 12
    latest = store.latest_run("taxonomy")
    assert latest["id"] == run.id and latest["status"] == "done"
    assert latest["summary"] == {"clusters": 12} and latest["finished_at"] is not None
    assert (latest["pid"], latest["host"]) == (os.getpid(), os.uname().nodename[:255])


def test_a_failing_run_is_marked_failed_with_the_reason_and_reraises(store: Store) -> None:
    with store.run("ranking", {}) as good:
        pass
    with pytest.raises(ValueError, match="no votes"):
        with store.run("ranking", {}) as run:
            run.summary["votes"] = 0
            raise ValueError("no votes")
    failed = store.latest_run("ranking", status="failed")
    assert failed["id"] == run.id
    assert failed["summary"] == {"votes": 0, "failure": "ValueError: no votes"}
    assert store.latest_run("ranking")["id"] == good.id  # readers keep the last finished run
    [unfinished] = store.status()["unfinished_runs"]
    assert (unfinished["id"], unfinished["status"]) == (run.id, "failed")


def test_a_run_stopped_early_on_purpose_is_partial(store: Store) -> None:
    with store.run("coding", {}) as run:
        run.status = "partial"
    assert store.latest_run("coding", status="partial")["id"] == run.id


def test_publish_actions_commit_with_the_run_or_not_at_all(store: Store) -> None:
    def add_alias(conn) -> None:
        conn.execute(t.model_aliases.insert().values(alias="gpt4o", canonical="GPT-4o"))

    with store.run("aliases", {}) as run:
        run.on_publish(add_alias)
    assert store.aliases() == {"gpt4o": "GPT-4o"}
    with pytest.raises(IntegrityError):
        with store.run("aliases", {}) as run:
            run.on_publish(add_alias)  # the same key again: the publish fails as a whole
    assert store.latest_run("aliases", status="failed")["id"] == run.id
    assert store.aliases() == {"gpt4o": "GPT-4o"}


def test_a_killed_process_leaves_an_abandoned_run_that_status_shows(
    db_url: str, tmp_path: Path
) -> None:
    store = Store.open(db_url)
    holder = _python(db_url, "coding", "120")
    try:
        run_id = _started_run(holder)
        assert store.status()["unfinished_runs"][0]["status"] == "running"
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
    status = store.status()
    [abandoned] = status["unfinished_runs"]
    assert (abandoned["id"], abandoned["status"]) == (run_id, "abandoned")
    assert str(holder.pid) in abandoned["reason"]
    assert store.latest_run("coding", status="abandoned")["id"] == run_id  # written, not only shown
    shown = CliRunner().invoke(main_group, ["--workspace", str(tmp_path), "--db", db_url, "status"])
    assert f"run {run_id} Coding feedback abandoned (pid {holder.pid} on " in shown.output
    with store.run("coding", {}) as run:  # the dead holder's lease does not block the next run
        pass
    assert store.latest_run("coding")["id"] == run.id
    store.engine.dispose()


def test_the_next_run_marks_a_dead_process_run_abandoned(db_url: str) -> None:
    store = Store.open(db_url)
    holder = _python(db_url, "taxonomy", "120")
    try:
        run_id = _started_run(holder)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
    with store.run("ranking", {}):  # any stage's start reaps dead runs
        pass
    assert store.latest_run("taxonomy", status="abandoned")["id"] == run_id
    store.engine.dispose()


def test_a_second_process_on_the_same_stage_is_refused_naming_the_holder(db_url: str) -> None:
    store = Store.open(db_url)
    holder = _python(db_url, "coding", "120")
    try:
        run_id = _started_run(holder)
        second = subprocess.run(
            [sys.executable, "-c", HOLD_A_RUN, db_url, "coding", "0"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            timeout=120,
        )
        assert second.returncode != 0 and "published" not in second.stdout
        message = second.stderr.strip().splitlines()[-1]
        assert f"run {run_id}, pid {holder.pid} on " in message and "since" in message
        with store.run("ranking", {}):  # other stages are not blocked
            pass
        with pytest.raises(RunLeaseHeld, match=f"pid {holder.pid}"):
            with store.run("coding", {}):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    runs = store.runs_frame()
    assert list(runs.loc[runs["stage"] == "coding", "id"]) == [run_id]  # refused runs never started
    store.engine.dispose()


def test_a_waiting_process_starts_when_the_holder_finishes(db_url: str) -> None:
    store = Store.open(db_url)
    holder = _python(db_url, "coding", "3")
    try:
        first = _started_run(holder)
        started = time.monotonic()
        with store.run("coding", {}, wait=60) as run:
            waited = time.monotonic() - started
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
    assert waited > 1 and run.id > first
    assert store.read_frame("SELECT status FROM runs ORDER BY id")["status"].tolist() == [
        "done",
        "done",
    ]
    store.engine.dispose()


def test_two_leased_runs_race_and_exactly_one_wins(db_url: str) -> None:
    holders = [_python(db_url, "coding", "5") for _ in range(2)]
    try:
        outcomes = [h.communicate(timeout=120) for h in holders]
    finally:
        for h in holders:
            h.kill()
    published = [out for out, _ in outcomes if "published" in out]
    refused = [err for _, err in outcomes if "RunLeaseHeld" in err]
    assert len(published) == 1 and len(refused) == 1


def test_a_version_1_workspace_opens_upgraded_with_its_data(db_url: str) -> None:
    store = Store.open(db_url)
    store.insert_ignore(
        t.interactions,
        [{"id": "i1", "model_a": "A", "model_b": "B", "winner": "model_a", "content_hash": "h"}],
    )
    done = store.start_run("ranking", {})
    store.finish_run(done, summary={"votes": 1})
    stuck = store.start_run("coding", {})  # left running by a v1 process, which recorded no pid
    with store.transaction() as conn:  # make it what arenalens 0.1 wrote: schema 1
        conn.execute(text("DROP TABLE stage_leases"))
        for column in ("pid", "host", "process_start"):
            conn.execute(text(f"ALTER TABLE runs DROP COLUMN {column}"))
        conn.execute(text("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'"))
    store.engine.dispose()
    with pytest.raises(StoreError, match="arenalens upgrade"):
        Store.open(db_url, upgrade=False)
    upgraded = Store.open(db_url)
    status = upgraded.status()
    assert status["schema_version"] == SCHEMA_VERSION and status["votes"] == 1
    assert upgraded.latest_run("ranking")["summary"] == {"votes": 1}
    assert upgraded.latest_run("coding", status="abandoned")["id"] == stuck
    with upgraded.run("coding", {}) as run:
        pass
    assert upgraded.latest_run("coding")["id"] == run.id
    upgraded.engine.dispose()


def test_a_read_only_store_refuses_runs_and_writes(db_url: str) -> None:
    Store.open(db_url).engine.dispose()
    reader = Store.open(db_url, read_only=True)
    assert reader.status()["interactions"] == 0
    with pytest.raises(StoreError, match="read-only"):
        with reader.run("ranking", {}):
            pass
    with pytest.raises(Exception, match="(?i)read.?only"):
        reader.set_aliases({"a": "b"})
    reader.engine.dispose()


def test_a_read_only_open_never_creates_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no workspace database"):
        Store.open(f"sqlite:///{tmp_path / 'missing.sqlite'}", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()
