"""The loaders' cache: the shared read-only store, version tokens, and the `loader` decorator.

The dashboard reads through a store opened read-only (`Store.open(..., read_only=True)`); its
few writes (annotations, adjudications, taxonomy edits: `dashboard.writes`) open a writable
store for the one save. Every loader is cached under (database, version, arguments) and hands
each caller a private copy (`private_copy`). The version is what the loader reads: runs and
core rows for every loader, plus the human-written rows (annotations, edits, ...) of the stages
it names in `@loader(human=...)`, so saving an annotation refills the coding loaders that read
annotations and nothing else.
"""

from __future__ import annotations

import functools
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, overload

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from arenalens.config import load_settings
from arenalens.context import AppContext
from arenalens.stages import STAGES
from arenalens.store import Store, StoreError
from arenalens.store import tables as t

T = TypeVar("T")

# How long a computed version token is reused before the store is asked again (seconds).
VERSION_TTL_S = 2.0
# Core tables whose row counts enter the version token (caches are left out on purpose).
_CORE_COUNTED = (
    t.interactions,
    t.feedback,
    t.transcripts,
    t.query_audio,
    t.model_outputs,
    t.benchmark_scores,
    t.model_aliases,
)


# The rows a feedback frame is built from (feedback, its interaction, transcript, model aliases).
_FEEDBACK_SOURCES = (t.feedback, t.interactions, t.transcripts, t.model_aliases)


class PageStore(Store):
    """The pages' read-only store. It also keeps the last feedback frame while the rows it is
    built from are unchanged: six loaders read it (feedback, coded items, prevalence overall and
    per model, agreement, the annotation queue), ~1.5 s each at 43k feedback items."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._feedback: tuple[tuple, pd.DataFrame] | None = None
        self._feedback_lock = threading.Lock()

    def feedback_frame(self) -> pd.DataFrame:
        # a second reader waits for the first read instead of repeating it
        with self._feedback_lock:
            rows = tuple(self.count(table) for table in _FEEDBACK_SOURCES)
            if self._feedback is None or self._feedback[0] != rows:
                self._feedback = (rows, super().feedback_frame())
            return self._feedback[1].copy(deep=False)  # copy-on-write: callers change their own


def open_read_only(url: str) -> Store:
    """The store at `url`, read-only. A workspace not created (or not upgraded) yet is prepared
    once by a writable open first, as `arenalens dashboard` does before it starts the server."""
    try:
        return PageStore.open(url, read_only=True)
    except StoreError:
        Store.open(url).engine.dispose()  # raises the real reason when the store cannot open
        return PageStore.open(url, read_only=True)


@st.cache_resource(show_spinner=False)
def context_for(workspace: str, db: str | None) -> AppContext:
    """The process-wide AppContext of one workspace / database, its store opened read-only."""
    settings = load_settings({"workspace": workspace, "db": db})
    return AppContext(settings, _store=open_read_only(settings.db_url))


@contextmanager
def writable_store(app: AppContext) -> Iterator[Store]:
    """A store opened for writing for one save (the pages' store is read-only), then closed."""
    store = Store.open(app.settings.db_url)
    try:
        yield store
    finally:
        store.engine.dispose()


def app_context() -> AppContext:
    """The AppContext for the workspace named by ARENALENS_WORKSPACE / ARENALENS_DB.

    Settings are read afresh on every run (e.g. privacy_min_users); the store is shared.
    """
    settings = load_settings()
    shared = context_for(str(settings.workspace), settings.db)
    return AppContext(settings, _store=shared.store)


def human_tables(stage: str) -> list:
    """A stage's tables written by people rather than runs (no run_id): annotations, edits, ..."""
    return [
        table
        for name, table in sorted(t.metadata.tables.items())
        if name.startswith(f"{stage}_") and "run_id" not in table.c
    ]


@st.cache_data(ttl=VERSION_TTL_S, show_spinner=False)
def _version(workspace: str, db: str | None) -> tuple:
    store = context_for(workspace, db).store
    runs = store.read_frame(
        select(
            func.max(t.runs.c.id).label("last_id"),
            func.count().label("runs"),
            func.max(t.runs.c.finished_at).label("last_finished"),
        )
    ).iloc[0]
    core = tuple(store.count(table) for table in _CORE_COUNTED)
    human = tuple(
        (stage.name, tuple(store.count(table) for table in human_tables(stage.name)))
        for stage in STAGES
    )
    return (str(runs["last_id"]), int(runs["runs"]), str(runs["last_finished"]), core, human)


def key(app: AppContext) -> tuple[str, str | None]:
    """(workspace, database URL): what the shared store and every cache entry are keyed on."""
    return str(app.settings.workspace), app.settings.db


def store_version(app: AppContext) -> tuple:
    """A token that changes when runs, core rows or human-written rows change."""
    return _version(*key(app))


def version_for(token: tuple, human: tuple[str, ...]) -> tuple:
    """The part of a store version a loader depends on: runs, core rows, and the human-written
    rows of the stages in `human`."""
    *runs_and_core, by_stage = token
    return (*runs_and_core, tuple(part for part in by_stage if part[0] in human))


def reread_version() -> None:
    """Read the version token again on the next call (after this session wrote): loaders whose
    rows changed refill, the others stay cached."""
    _version.clear()


def invalidate() -> None:
    """Forget the version token and every cached frame (the sidebar's "Reload data")."""
    _version.clear()
    _run_loader.clear()


_LOADERS: dict[str, Callable[..., Any]] = {}


def registered_loaders() -> dict[str, Callable[..., Any]]:
    """Every cached loader by module-qualified name (the undecorated functions)."""
    return dict(_LOADERS)


@st.cache_resource(show_spinner=False, max_entries=256)
def _run_loader(name: str, workspace: str, db: str | None, version: tuple, args: tuple) -> Any:
    return _LOADERS[name](context_for(workspace, db), *args)


def private_copy(value: T) -> T:
    """What a cached loader hands a page: a frame as a copy-on-write shallow copy (free; a page
    that changes it changes its own copy), anything else as a pickled copy. `st.cache_data`
    pickled every frame on every read instead: ~1 s a read for the 43k coded items at 100k."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


@overload
def loader(fn: Callable[..., T], /) -> Callable[..., T]: ...
@overload
def loader(*, human: tuple[str, ...] = ()) -> Callable[[Callable[..., T]], Callable[..., T]]: ...
def loader(fn: Callable[..., Any] | None = None, /, *, human: tuple[str, ...] = ()) -> Any:
    """Cache `fn(app, *args)` per (database, version of what it reads, args); args must be
    hashable. `human`: stages whose human-written tables (annotations, edits, labels) `fn`
    reads, directly or through another loader."""
    unknown = set(human) - {stage.name for stage in STAGES}
    if unknown:
        raise ValueError(f"@loader(human=...) names no stage: {sorted(unknown)}")

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        name = f"{fn.__module__}.{fn.__qualname__}"
        _LOADERS[name] = fn

        @functools.wraps(fn)
        def call(app: AppContext, *args: Any) -> T:
            version = version_for(store_version(app), human)
            return private_copy(_run_loader(name, *key(app), version, tuple(args)))

        return call

    return decorate(fn) if fn is not None else decorate
