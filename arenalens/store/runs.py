"""The run lifecycle: the run handle, process identity and liveness, and `RunLifecycle`, the
`Store` methods that start, publish, fail or abandon a run and read the runs.

`Store.run` is the one place a stage starts, publishes, fails or abandons a run; what it
records about the process lets a later one tell whether it died.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from arenalens import __version__
from arenalens.store import tables as t
from arenalens.store.errors import RunLeaseHeld, StoreError, StoreUnwritable

if TYPE_CHECKING:
    import pandas as pd

#: statuses a run can end in; readers show results of `done` (and `partial`) runs only
FINISHED = ("done", "partial")
RUN_STATUSES = ("running", "done", "partial", "failed", "abandoned")


@dataclass
class Run:
    """A started run: fill `summary`, set `status = "partial"` when stopping early on purpose.

    Work that must become visible together with the run (e.g. swapping old results for new
    ones) is registered with `on_publish` and executed in the transaction that marks it done.
    """

    id: int
    stage: str
    summary: dict[str, Any] = field(default_factory=dict)
    status: str = "done"
    _on_publish: list[Callable[[Connection], None]] = field(default_factory=list, repr=False)

    def on_publish(self, action: Callable[[Connection], None]) -> None:
        """Run `action(conn)` inside the transaction that publishes this run."""
        self._on_publish.append(action)


def hostname() -> str:
    return socket.gethostname()[:255]


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (empty when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return []
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    return stat.rsplit(")", 1)[-1].split()


def process_start_token(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot on Linux): tells a reused pid apart."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else None


def process_state(pid: int) -> str | None:
    """The process's state letter (R, S, Z, ...), or None when it does not exist."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def process_alive(pid: int | None, start_token: str | None = None) -> bool:
    """Whether the process that recorded (`pid`, `start_token`) on this host still runs."""
    if pid is None:
        return True  # nothing recorded (older runs): cannot tell, so never reap it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    except OSError:
        return False
    if process_state(int(pid)) in ("Z", "X"):
        return False  # killed, not yet reaped by its parent
    if start_token is not None:
        current = process_start_token(int(pid))
        if current is not None and current != start_token:
            return False  # the pid was reused by a newer process
    return True


def this_process() -> dict[str, Any]:
    """pid, host and start token of the current process, as stored in `runs` and `stage_leases`."""
    pid = os.getpid()
    return {"pid": pid, "host": hostname(), "process_start": process_start_token(pid)}


def holder_is_gone(row: Any) -> bool:
    """A run or lease row whose process was on this host and no longer exists."""
    return row["host"] == hostname() and not process_alive(row["pid"], row["process_start"])


def short_reason(exc: BaseException) -> str:
    """One line about why a run failed, cut to 300 characters."""
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the store writes."""
    return datetime.now(UTC)


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def jsonable(value: Any) -> Any:
    """`value` with paths as text and numpy scalars as Python numbers, for a JSON column."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def published(run_id_column: Any) -> Any:
    """SQL condition: the row's run finished (`done` or `partial`), so readers may show it.

    Rows of a run still running, failed or abandoned stay hidden."""
    return run_id_column.in_(select(t.runs.c.id).where(t.runs.c.status.in_(FINISHED)))


class _LeaseBusy(Exception):
    def __init__(self, holder: dict[str, Any]):
        super().__init__(holder)
        self.holder = holder


class RunLifecycle:
    """The run methods of `Store` (mixed into it): start, publish, fail, abandon, read runs.

    They use the store's engine, `transaction()`, `insert_ignore()` and `_writer_wait()`.
    """

    engine: Engine
    read_only: bool

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[Connection]: ...

        def insert_ignore(
            self, table: Table, rows: Sequence[Mapping[str, Any]], *, conn: Connection | None = None
        ) -> int: ...

        def _writer_wait(
            self, conn: Connection, wait_s: float | None
        ) -> AbstractContextManager[None]: ...

    @contextmanager
    def run(
        self,
        stage: str,
        config: Mapping[str, Any],
        model: str | None = None,
        *,
        lease: str | bool = True,
        wait: bool | float = False,
    ) -> Iterator[Run]:
        """The one run lifecycle: start, then publish on success or mark failed and re-raise.

        `with store.run("coding", config, model=...) as run:` gives `run.id` for derived rows;
        fill `run.summary`, set `run.status = "partial"` to stop early on purpose. Readers see a
        run's results once it is published (`done`/`partial`). A process that dies leaves its
        run `running` until the next start (or `status`) marks it `abandoned`.
        `lease` (default: the stage name; a string for a finer key, False for none) keeps a
        second process off the same work: it raises `RunLeaseHeld` naming the holder, or with
        `wait` (True, or seconds) waits for the lease.
        """
        self._require_writable()
        lease_key = stage if lease is True else (lease or None)
        self.reap_abandoned()
        run_id = self._start_leased_run(stage, config, model, lease_key, wait)
        handle = Run(run_id, stage)
        try:
            yield handle
            self._publish_run(handle, lease_key)
        except BaseException as exc:
            self._fail_run(handle, lease_key, exc)
            raise

    def start_run(self, stage: str, config: Mapping[str, Any], model: str | None = None) -> int:
        """Insert a `running` run row (no lease): for fixtures; stages use `Store.run`."""
        self._require_writable()
        with self.transaction() as conn:
            return self._insert_run(conn, stage, config, model)

    def finish_run(
        self, run_id: int, status: str = "done", summary: Mapping[str, Any] | None = None
    ) -> None:
        """Close a run row started with `start_run` (fixtures; stages use `Store.run`)."""
        with self.transaction() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(status=status, finished_at=utcnow(), summary=jsonable(summary or {}))
            )

    def _insert_run(
        self, conn: Connection, stage: str, config: Mapping[str, Any], model: str | None
    ) -> int:
        result = conn.execute(
            t.runs.insert().values(
                stage=stage,
                config=jsonable(config),
                model=model,
                code_version=code_version(),
                started_at=utcnow(),
                status="running",
                **this_process(),
            )
        )
        return int(result.inserted_primary_key[0])

    def _start_leased_run(
        self,
        stage: str,
        config: Mapping[str, Any],
        model: str | None,
        lease_key: str | None,
        wait: bool | float,
    ) -> int:
        deadline = None if wait is True else time.monotonic() + float(wait or 0)
        while True:
            try:
                with self.transaction() as conn:
                    run_id = self._insert_run(conn, stage, config, model)
                    held = self._take_lease(conn, lease_key, run_id) if lease_key else None
                    if held is not None:
                        raise _LeaseBusy(held)  # roll back: this run never started
                    return run_id
            except _LeaseBusy as busy:
                holder = busy.holder
            if deadline is not None and time.monotonic() >= deadline:
                since = holder["acquired_at"]
                since_text = since.strftime("%Y-%m-%d %H:%M:%S") if since else "?"
                raise RunLeaseHeld(
                    f"{lease_key} is already running (run {holder['run_id']}, pid {holder['pid']} "
                    f"on {holder['host']}, since {since_text} UTC); wait for it to finish "
                    f"(or pass --wait)"
                )
            time.sleep(0.5)

    def _take_lease(self, conn: Connection, key: str, run_id: int) -> dict[str, Any] | None:
        """Take lease `key` for `run_id` inside `conn`; returns the live holder when taken."""
        lease = t.stage_leases.c
        row = conn.execute(select(t.stage_leases).where(lease.lease == key)).mappings().first()
        if row is not None and holder_is_gone(row):
            conn.execute(delete(t.stage_leases).where(lease.lease == key))
            self._mark_abandoned(conn, [int(row["run_id"])])
        elif row is not None:
            return dict(row)
        taken = self.insert_ignore(
            t.stage_leases,
            [{"lease": key, "run_id": run_id, "acquired_at": utcnow(), **this_process()}],
            conn=conn,
        )
        if taken:
            return None
        row = conn.execute(select(t.stage_leases).where(lease.lease == key)).mappings().first()
        return dict(row) if row is not None else None

    def _publish_run(self, run: Run, lease_key: str | None) -> None:
        """Make the run's results visible: its publish actions, status and summary commit together."""
        with self.transaction() as conn:
            for action in run._on_publish:
                action(conn)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run.id)
                .values(status=run.status, finished_at=utcnow(), summary=jsonable(run.summary))
            )
            if lease_key is not None:
                conn.execute(
                    delete(t.stage_leases).where(
                        t.stage_leases.c.lease == lease_key, t.stage_leases.c.run_id == run.id
                    )
                )

    def _fail_run(self, run: Run, lease_key: str | None, exc: BaseException) -> None:
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else short_reason(exc)
        try:
            with self.transaction() as conn:
                conn.execute(
                    update(t.runs)
                    .where(t.runs.c.id == run.id, t.runs.c.status == "running")
                    .values(
                        status="failed",
                        finished_at=utcnow(),
                        summary=jsonable({**run.summary, "failure": reason}),
                    )
                )
                if lease_key is not None:
                    conn.execute(
                        delete(t.stage_leases).where(
                            t.stage_leases.c.lease == lease_key, t.stage_leases.c.run_id == run.id
                        )
                    )
        except (SQLAlchemyError, StoreUnwritable):
            pass  # the store itself failed: the caller sees the original error; reaped later

    def _mark_abandoned(self, conn: Connection, run_ids: Sequence[int]) -> None:
        for run_id in run_ids:
            row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
            if row is None or row["status"] != "running":
                continue
            reason = f"process {row['pid']} on {row['host']} ended without finishing the run"
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id, t.runs.c.status == "running")
                .values(
                    status="abandoned",
                    finished_at=utcnow(),
                    summary=jsonable({**(row["summary"] or {}), "failure": reason}),
                )
            )

    def dead_runs(self) -> list[int]:
        """Ids of `running` runs whose process on this host is gone (read only)."""
        r = t.runs.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(r.id, r.pid, r.host, r.process_start).where(
                    r.status == "running", r.host == hostname()
                )
            ).mappings()
            return [int(row["id"]) for row in rows if holder_is_gone(row)]

    def reap_abandoned(self, wait_s: float | None = None) -> list[int]:
        """Mark `running` runs of dead processes on this host `abandoned`, release their leases
        (`wait_s`: on SQLite, wait at most this long for another writer)."""
        dead = self.dead_runs()
        if not dead or self.read_only:
            return dead
        with self.engine.connect() as conn, self._writer_wait(conn, wait_s):
            with conn.begin():
                self._mark_abandoned(conn, dead)
                conn.execute(delete(t.stage_leases).where(t.stage_leases.c.run_id.in_(dead)))
        return dead

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError("this store was opened read-only; runs cannot be started from it")

    def latest_run(self, stage: str, status: str | None = "done") -> dict[str, Any] | None:
        """The newest run of `stage` with `status` (default `done`: what readers show)."""
        query = select(t.runs).where(t.runs.c.stage == stage)
        if status:
            query = query.where(t.runs.c.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(t.runs.c.id.desc()).limit(1)).mappings().first()
            return dict(row) if row else None

    def run_rows(self) -> list[dict[str, Any]]:
        """Every run, oldest first; a `running` run whose process is gone shows as `abandoned`."""
        with self.engine.connect() as conn:
            query = select(t.runs).order_by(t.runs.c.id)
            rows = [dict(row) for row in conn.execute(query).mappings()]
        dead = set(self.dead_runs()) if rows else set()
        for row in rows:
            if row["id"] in dead:
                row["status"] = "abandoned"
        return rows

    def runs_frame(self) -> pd.DataFrame:
        """Every run (`run_rows`) as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.run_rows(), columns=[column.name for column in t.runs.c])

    def unfinished_runs(self, runs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Runs newer than their stage's last `done` run that did not finish (running, failed,
        abandoned), oldest first, with the reason recorded."""
        runs = self.run_rows() if runs is None else runs
        last_done: dict[str, int] = {}
        for row in runs:
            if row["status"] in ("done", "partial"):
                last_done[row["stage"]] = max(last_done.get(row["stage"], -1), int(row["id"]))
        out: list[dict[str, Any]] = []
        for row in runs:
            if int(row["id"]) <= last_done.get(row["stage"], -1):
                continue
            summary = row.get("summary") if isinstance(row.get("summary"), dict) else {}
            out.append(
                {
                    "id": int(row["id"]),
                    "stage": str(row["stage"]),
                    "status": str(row["status"]),
                    "started_at": str(row["started_at"]),
                    "finished_at": None if row["finished_at"] is None else str(row["finished_at"]),
                    "pid": None if row.get("pid") is None else int(row["pid"]),
                    "host": row.get("host"),
                    "reason": summary.get("failure"),
                }
            )
        return sorted(out, key=lambda r: r["id"])
