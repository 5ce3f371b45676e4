"""The store: the single I/O boundary of arenalens."""

from arenalens.store.store import SCHEMA_VERSION, Store, StoreError, code_version, utcnow

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "code_version", "utcnow"]
