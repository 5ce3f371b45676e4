"""The store's errors (their own module, so `runs` and `store` both raise them)."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class StoreError(ArenalensError, RuntimeError):
    """The store cannot be opened or used as asked."""


class RunLeaseHeld(StoreError):
    """Another live process runs the same stage; the message names it (pid, host, since)."""
