"""The loaders' cache: the shared store, a version token, and the `loader` decorator.

Every loader is cached with `st.cache_data` under (database, store version, arguments); the
version changes whenever a run starts or finishes, or a human-written row (annotation,
taxonomy edit, ...) is added, so the caches invalidate by themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import func, select

from arenalens.config import load_settings
from arenalens.context import AppContext
from arenalens.stages import STAGES
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


@st.cache_resource(show_spinner=False)
def context_for(workspace: str, db: str | None) -> AppContext:
    """The process-wide AppContext (and store) of one workspace / database."""
    settings = load_settings({"workspace": workspace, "db": db})
    return AppContext(settings)


def app_context() -> AppContext:
    """The AppContext for the workspace named by ARENALENS_WORKSPACE / ARENALENS_DB.

    Settings are read afresh on every run (e.g. privacy_min_users); the store is shared.
    """
    settings = load_settings()
    shared = context_for(str(settings.workspace), settings.db)
    return AppContext(settings, _store=shared.store)


def _human_tables() -> list:
    """Stage tables written by people rather than runs (no run_id): annotations, edits, ..."""
    prefixes = tuple(f"{stage.name}_" for stage in STAGES)
    return [
        table
        for name, table in sorted(t.metadata.tables.items())
        if name.startswith(prefixes) and "run_id" not in table.c
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
    counts = tuple(store.count(table) for table in (*_CORE_COUNTED, *_human_tables()))
    return (str(runs["last_id"]), int(runs["runs"]), str(runs["last_finished"]), counts)


def key(app: AppContext) -> tuple[str, str | None]:
    """(workspace, database URL): what the shared store and every cache entry are keyed on."""
    return str(app.settings.workspace), app.settings.db


def store_version(app: AppContext) -> tuple:
    """A token that changes when runs, core rows or human-written rows change."""
    return _version(*key(app))


def invalidate() -> None:
    """Forget the version token and every cached frame (after this session wrote something)."""
    _version.clear()
    _run_loader.clear()


_LOADERS: dict[str, Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=256)
def _run_loader(name: str, workspace: str, db: str | None, version: tuple, args: tuple) -> Any:
    return _LOADERS[name](context_for(workspace, db), *args)


def loader(fn: Callable[..., T]) -> Callable[..., T]:
    """Cache `fn(app, *args)` per (database, store version, args); args must be hashable."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    _LOADERS[name] = fn

    @functools.wraps(fn)
    def call(app: AppContext, *args: Any) -> T:
        version = store_version(app)
        return _run_loader(name, *key(app), version, tuple(args))

    return call
