"""The store: the single I/O boundary of arenalens."""

from arenalens.store.runs import Run
from arenalens.store.store import (
    SCHEMA_VERSION,
    RunLeaseHeld,
    Store,
    StoreError,
    code_version,
    published,
    utcnow,
)

__all__ = [
    "SCHEMA_VERSION",
    "Run",
    "RunLeaseHeld",
    "Store",
    "StoreError",
    "code_version",
    "published",
    "utcnow",
]
