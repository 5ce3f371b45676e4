"""The run lifecycle's pieces that need no database: the run handle, process identity, liveness.

`Store.run` (in `store.py`) is the one place a stage starts, publishes, fails or abandons a run;
this module holds what it records about the process so a later one can tell if it died.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

#: statuses a run can end in; readers show results of `done` (and `partial`) runs only
FINISHED = ("done", "partial")
RUN_STATUSES = ("running", "done", "partial", "failed", "abandoned")


class RunLeaseHeld(RuntimeError):
    """Another live process holds the stage's lease (message names it: pid, host, since)."""


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


def process_start_token(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot on Linux): tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ')'
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def process_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
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
