"""The one I/O boundary: a SQLAlchemy store over SQLite (default) or PostgreSQL."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql import Executable

from arenalens import __version__
from arenalens.models import canonical_models, resolve_models
from arenalens.store import tables as t

SCHEMA_VERSION = 1
# Tables of the stages, created alongside the core ones when their package is installed.
STAGE_TABLE_MODULES = ("taxonomy.tables", "coding.tables", "ranking.tables", "inference.tables")
# version -> function upgrading a connection from that version to version + 1.
MIGRATIONS: dict[int, Any] = {}


class StoreError(RuntimeError):
    """The store cannot be opened or used as asked."""


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the store writes."""
    return datetime.now(UTC)


def _load_stage_tables() -> None:
    for module in STAGE_TABLE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Engine with SQLite pragmas (WAL, busy timeout, foreign keys) where SQLite is used."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True)


class Store:
    """Typed access to the workspace database; stages read and write DataFrames through it."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Open (creating or upgrading) the database at `url`."""
        _load_stage_tables()
        try:
            engine = make_engine(url)
            store = cls(engine)
            store._prepare_schema(upgrade=upgrade)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {_redact(url)}: {exc.orig}") from exc
        return store

    # -- schema ---------------------------------------------------------------
    def _prepare_schema(self, *, upgrade: bool) -> None:
        with self.engine.begin() as conn:
            t.schema_info.create(conn, checkfirst=True)
            row = conn.execute(
                select(t.schema_info.c.value).where(t.schema_info.c.key == "schema_version")
            ).scalar_one_or_none()
            version = int(row) if row is not None else None
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(
                    f"this workspace uses schema version {version}, newer than this arenalens "
                    f"({__version__}, schema {SCHEMA_VERSION}); upgrade arenalens to open it"
                )
            if version is not None and version < SCHEMA_VERSION:
                if not upgrade:
                    raise StoreError(
                        f"this workspace uses schema version {version}; run "
                        f"`arenalens upgrade` to bring it to version {SCHEMA_VERSION}"
                    )
                for step in range(version, SCHEMA_VERSION):
                    if step not in MIGRATIONS:
                        raise StoreError(
                            f"no migration from schema {step}; export the data with the "
                            f"arenalens version that made it and re-ingest"
                        )
                    MIGRATIONS[step](conn)
            t.metadata.create_all(conn)
            self._set_info(conn, "schema_version", str(SCHEMA_VERSION))

    def _set_info(self, conn: Connection, key: str, value: str) -> None:
        self.insert_ignore(t.schema_info, [{"key": key, "value": value}], conn=conn)
        conn.execute(update(t.schema_info).where(t.schema_info.c.key == key).values(value=value))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- generic access -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit of work: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    def read_frame(
        self, query: Executable | str, params: Mapping[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run a SELECT (SQLAlchemy expression or parameterised text) into a DataFrame."""
        statement = text(query) if isinstance(query, str) else query
        with self.engine.connect() as conn:
            result = conn.execute(statement, dict(params or {}))
            # plain tuples: pandas probes SQLAlchemy Rows attribute by attribute (slow), then
            # converts them to tuples anyway, so the frame is the same
            rows = [tuple(row) for row in result.fetchall()]
            return pd.DataFrame(rows, columns=list(result.keys()))

    def read_table(self, table: Table) -> pd.DataFrame:
        return self.read_frame(select(table))

    def insert_ignore(
        self, table: Table, rows: Sequence[Mapping[str, Any]], *, conn: Connection | None = None
    ) -> int:
        """Insert rows, skipping those whose primary/unique key exists; returns rows inserted."""
        if not rows:
            return 0
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = insert(table).on_conflict_do_nothing()
        inserted = 0
        with self._maybe_conn(conn) as c:
            # executemany binds the first row's keys: group rows that name the same columns
            for group in _group_by_keys(rows):
                if self.dialect == "postgresql":  # psycopg reports no rowcount for executemany
                    key = list(table.primary_key.columns) or list(table.columns)[:1]
                    inserted += len(c.execute(statement.returning(*key), group).all())
                else:
                    inserted += int(c.execute(statement, group).rowcount or 0)
        return inserted

    def upsert(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        key_columns: Sequence[str],
        *,
        conn: Connection | None = None,
    ) -> None:
        """Insert rows, replacing the non-key columns of rows whose key exists."""
        if not rows:
            return
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self._maybe_conn(conn) as c:
            for group in _group_by_keys(rows):
                statement = insert(table)
                updates = {k: statement.excluded[k] for k in group[0] if k not in key_columns}
                statement = (
                    statement.on_conflict_do_update(index_elements=list(key_columns), set_=updates)
                    if updates
                    else statement.on_conflict_do_nothing()
                )
                c.execute(statement, group)

    @contextmanager
    def _maybe_conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as c:
                yield c

    def count(self, table: Table, *where: Any) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            )

    # -- runs -----------------------------------------------------------------
    def start_run(self, stage: str, config: Mapping[str, Any], model: str | None = None) -> int:
        """Record that a stage started; derived rows reference the returned run id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                t.runs.insert().values(
                    stage=stage,
                    config=_jsonable(config),
                    model=model,
                    code_version=code_version(),
                    started_at=utcnow(),
                    status="running",
                )
            )
            return int(result.inserted_primary_key[0])

    def finish_run(
        self, run_id: int, status: str = "done", summary: Mapping[str, Any] | None = None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(t.runs)
                .where(t.runs.c.id == run_id)
                .values(status=status, finished_at=utcnow(), summary=_jsonable(summary or {}))
            )

    def latest_run(self, stage: str, status: str | None = "done") -> dict[str, Any] | None:
        query = select(t.runs).where(t.runs.c.stage == stage)
        if status:
            query = query.where(t.runs.c.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(t.runs.c.id.desc()).limit(1)).mappings().first()
            return dict(row) if row else None

    def runs_frame(self) -> pd.DataFrame:
        return self.read_frame(select(t.runs).order_by(t.runs.c.id))

    # -- domain reads ---------------------------------------------------------
    def aliases(self) -> dict[str, str]:
        """alias -> canonical model name."""
        frame = self.read_table(t.model_aliases)
        return dict(zip(frame["alias"], frame["canonical"], strict=True)) if len(frame) else {}

    def set_aliases(self, mapping: Mapping[str, str]) -> int:
        rows = [{"alias": a, "canonical": c} for a, c in mapping.items()]
        self.upsert(t.model_aliases, rows, ["alias"])
        return len(rows)

    def interactions_frame(
        self, columns: Iterable[str] | None = None, include_extra: bool = True
    ) -> pd.DataFrame:
        """Interactions with the query text resolved (typed text, else the transcript);
        `include_extra=False` skips reading and decoding the JSON `extra` column."""
        cols = [t.interactions.c[c] for c in columns] if columns else list(t.interactions.c)
        if not include_extra:
            cols = [c for c in cols if c.name != "extra"]
        query = select(*cols, t.transcripts.c.text.label("transcript")).outerjoin(
            t.transcripts, t.transcripts.c.interaction_id == t.interactions.c.id
        )
        frame = resolve_models(self.read_frame(query.order_by(t.interactions.c.id)), self.aliases())
        if "query_text" in frame:
            frame["query"] = frame["query_text"].where(
                frame["query_text"].notna(), frame["transcript"]
            )
        return frame

    def queries_frame(self, include_extra: bool = True) -> pd.DataFrame:
        """One row per interaction that has a query (typed or transcribed): id, query, user, extra
        (`include_extra=False` leaves out `extra`, the slow part of the read)."""
        frame = self.interactions_frame(
            ["id", "query_text", "user_id", "language", "extra"], include_extra=include_extra
        )
        frame = frame[frame["query"].notna() & (frame["query"].astype(str).str.strip() != "")]
        return frame.reset_index(drop=True)

    def votes_frame(self, resolve_aliases: bool = True, include_extra: bool = True) -> pd.DataFrame:
        """One row per vote: id, model_a, model_b, winner, language, extra (aliases resolved;
        `include_extra=False` leaves out `extra`)."""
        c = t.interactions.c
        cols = [c.id, c.model_a, c.model_b, c.winner, c.language]
        query = select(*cols, *([c.extra] if include_extra else [])).where(c.winner.is_not(None))
        frame = self.read_frame(query.order_by(t.interactions.c.id))
        return resolve_models(frame, self.aliases()) if resolve_aliases else frame

    def feedback_frame(self) -> pd.DataFrame:
        """Feedback with its interaction context: query, both models and responses, the vote."""
        query = (
            select(
                t.feedback.c.id,
                t.feedback.c.interaction_id,
                t.feedback.c.text,
                t.interactions.c.query_text,
                t.transcripts.c.text.label("transcript"),
                t.interactions.c.model_a,
                t.interactions.c.model_b,
                t.interactions.c.response_a,
                t.interactions.c.response_b,
                t.interactions.c.winner,
                t.interactions.c.user_id,
                t.interactions.c.extra,
            )
            .join(t.interactions, t.interactions.c.id == t.feedback.c.interaction_id)
            .outerjoin(t.transcripts, t.transcripts.c.interaction_id == t.interactions.c.id)
            .order_by(t.feedback.c.id)
        )
        frame = resolve_models(self.read_frame(query), self.aliases())
        frame["query"] = frame["query_text"].where(frame["query_text"].notna(), frame["transcript"])
        return frame

    def benchmark_frame(self, resolve_aliases: bool = True) -> pd.DataFrame:
        frame = self.read_table(t.benchmark_scores)
        return resolve_models(frame, self.aliases()) if resolve_aliases else frame

    def status(self) -> dict[str, Any]:
        """Counts of what the workspace holds and which stages have run (keys are a contract)."""
        c = t.interactions.c
        runs = self.runs_frame()
        stages: dict[str, Any] = {}
        if len(runs):
            done = runs[runs["status"] == "done"]
            for stage, group in done.groupby("stage"):
                last = group.iloc[-1]
                stages[str(stage)] = {
                    "runs": int(len(group)),
                    "last_run_id": int(last["id"]),
                    "last_finished_at": str(last["finished_at"]),
                }
        with self.engine.connect() as conn:
            names = conn.execute(
                text(
                    "SELECT model_a FROM interactions WHERE model_a IS NOT NULL"
                    " UNION SELECT model_b FROM interactions WHERE model_b IS NOT NULL"
                )
            ).scalars()
            systems = len(canonical_models(names, self.aliases()))
        return {
            "db": self.dialect,
            "schema_version": SCHEMA_VERSION,
            "interactions": self.count(t.interactions),
            "votes": self.count(t.interactions, c.winner.is_not(None)),
            "ties": self.count(t.interactions, c.winner == "tie"),
            "queries": self.count(t.interactions, c.query_text.is_not(None)),
            "audio": self.count(t.query_audio),
            "transcripts": self.count(t.transcripts),
            "feedback": self.count(t.feedback),
            "systems": int(systems),
            "benchmark_scores": self.count(t.benchmark_scores),
            "aliases": self.count(t.model_aliases),
            "model_outputs": self.count(t.model_outputs),
            "stages": stages,
        }


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


def _group_by_keys(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Split rows into runs that name the same columns, keeping order."""
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _redact(url: str) -> str:
    """Hide a password in a database URL before it is shown."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "SQLAlchemyError", "code_version", "utcnow"]
