"""The one I/O boundary: a SQLAlchemy store over SQLite (default) or PostgreSQL."""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable

from arenalens import __version__
from arenalens.models import canonical_models, resolve_models
from arenalens.stages import STAGES
from arenalens.store import tables as t

if TYPE_CHECKING:  # pandas loads on the first frame read: `arenalens status` never needs it
    import pandas as pd

from arenalens.store.conversations import ConversationReads
from arenalens.store.errors import RunLeaseHeld, StoreError, StoreUnwritable, unwritable_error
from arenalens.store.migrations import MIGRATIONS
from arenalens.store.runs import (
    Run,
    RunLifecycle,
    code_version,
    published,
    utcnow,
)

SCHEMA_VERSION = 5
SCHEMA_LOCK_KEY = 0x6172656E61  # PostgreSQL advisory lock taken while creating or upgrading


def _load_stage_tables() -> None:
    """Define every stage's tables on the shared metadata (stages named by the registry)."""
    for stage in STAGES:
        if stage.tables_module:
            importlib.import_module(stage.tables_module)


# SQLite has one writer at a time. Readers never wait (WAL); a writer queues behind another
# writer, e.g. `rank` behind a long ingest (one transaction per file), for up to this long.
SQLITE_WRITE_WAIT_S = 600


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_WRITE_WAIT_S * 1000}")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _use_wal(cursor: Any, wait_s: float = 30.0) -> None:
    """Switch the file to WAL (it stays so). Two processes opening a brand-new file at once can
    both try; SQLite refuses the second switch with "database is locked" at once, without its
    busy handler, so that one retries until the other has finished."""
    deadline = time.monotonic() + wait_s
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """Engine with SQLite pragmas (WAL, busy timeout, foreign keys) where SQLite is used, and
    environment failures (read-only, disk full, permissions) raised as one-line StoreUnwritable.

    `read_only`: SQLite opens the file with `mode=ro` (never created) and `query_only`;
    PostgreSQL sessions default to read-only transactions."""
    engine = _make_engine(url, read_only=read_only)
    if read_only:  # a write through a read-only store is a bug to see, not the environment
        return engine
    where = _database_name(url)
    folder = str(Path(where).parent) if url.startswith("sqlite") else None

    def translate(context: Any) -> None:
        error = unwritable_error(context.original_exception, where, folder)
        if error is not None:
            raise error from context.original_exception

    event.listen(engine, "handle_error", translate)
    return engine


def _database_name(url: str) -> str:
    """The database as a person knows it: the SQLite file's path, else the URL sans password."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        return str(Path(path).resolve()) if path and path != ":memory:" else "in memory"
    return redact_url(url)


def _make_engine(url: str, *, read_only: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if read_only:
            if not path or path == ":memory:" or not Path(path).is_file():
                raise StoreError(f"no workspace database at {path or url}; ingest data first")
            uri = Path(path).resolve().as_uri() + "?mode=ro"
            # a pool like a file URL's: "sqlite://" alone would get SingletonThreadPool, which
            # closes one thread's connection while another thread (a dashboard page) uses it
            engine = create_engine(
                "sqlite://",
                creator=lambda: sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False),
                poolclass=QueuePool,
            )
            event.listen(engine, "connect", _sqlite_read_only_pragmas)
            return engine
        if path and path != ":memory:":
            folder = Path(path).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the workspace folder {folder} ({exc.strerror or exc}); "
                    "choose a folder you may write (--workspace or --db)"
                ) from None
        engine = create_engine(url, connect_args={"timeout": SQLITE_WRITE_WAIT_S})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    connect_args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


class Store(RunLifecycle, ConversationReads):
    """Typed access to the workspace database; stages read and write DataFrames through it."""

    def __init__(self, engine: Engine, *, read_only: bool = False):
        self.engine = engine
        self.read_only = read_only

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, read_only: bool = False) -> Store:
        """Open the database at `url`, creating or upgrading it only when needed.

        A current schema is checked with reads alone, so opening never waits on a writer.
        `read_only=True` (dashboard, reports) refuses every write and never creates or upgrades.
        """
        _load_stage_tables()
        try:
            engine = make_engine(url, read_only=read_only)
            store = cls(engine, read_only=read_only)
            store._prepare_schema(upgrade=upgrade and not read_only)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {redact_url(url)}: {exc.orig}") from exc
        except (ImportError, ArgumentError) as exc:  # no driver for the URL, or not a URL
            raise StoreError(f"cannot open the store at {redact_url(url)}: {exc}") from None
        return store

    # -- schema ---------------------------------------------------------------
    def _schema_state(self, conn: Connection) -> tuple[int | None, set[str]]:
        """(schema version or None, names of tables this arenalens expects that are missing)."""
        existing = set(inspect(conn).get_table_names())
        version = None
        if t.schema_info.name in existing:
            row = conn.execute(
                select(t.schema_info.c.value).where(t.schema_info.c.key == "schema_version")
            ).scalar_one_or_none()
            version = int(row) if row is not None else None
        return version, set(t.metadata.tables) - existing

    def _prepare_schema(self, *, upgrade: bool) -> None:
        with self.engine.connect() as conn:
            version, missing = self._schema_state(conn)
        self._check_version(version, upgrade=upgrade)
        if version == SCHEMA_VERSION and not missing:
            return  # current: nothing to write, so readers never queue behind a writer
        if self.read_only:
            raise StoreError(
                "this workspace is not created or not upgraded yet; open it once for writing "
                "(e.g. `arenalens upgrade`) before opening it read-only"
            )
        with self.engine.begin() as conn:
            self._lock_schema(conn)  # two processes creating one workspace take turns
            version, missing = self._schema_state(conn)  # again, now that we hold the lock
            self._check_version(version, upgrade=upgrade)
            if version == SCHEMA_VERSION and not missing:
                return
            t.schema_info.create(conn, checkfirst=True)
            if version is not None and version < SCHEMA_VERSION:
                for step in range(version, SCHEMA_VERSION):
                    if step not in MIGRATIONS:
                        raise StoreError(
                            f"no migration from schema {step}; export the data with the "
                            f"arenalens version that made it and re-ingest"
                        )
                    MIGRATIONS[step](conn)
            t.metadata.create_all(conn)
            self._set_info(conn, "schema_version", str(SCHEMA_VERSION))

    def _lock_schema(self, conn: Connection) -> None:
        """Serialise schema creation and upgrades across processes (held until commit)."""
        if self.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite starts no transaction before DDL
        elif self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})

    @staticmethod
    def _check_version(version: int | None, *, upgrade: bool) -> None:
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"this workspace uses schema version {version}, newer than this arenalens "
                f"({__version__}, schema {SCHEMA_VERSION}); upgrade arenalens to open it"
            )
        if version is not None and version < SCHEMA_VERSION and not upgrade:
            raise StoreError(
                f"this workspace uses schema version {version}; run "
                f"`arenalens upgrade` to bring it to version {SCHEMA_VERSION}"
            )

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
        self,
        query: Executable | str,
        params: Mapping[str, Any] | None = None,
        *,
        plain: bool = False,
    ) -> pd.DataFrame:
        """Run a SELECT (SQLAlchemy expression or parameterised text) into a DataFrame.

        `plain=True` is for SELECTs of text and number columns only (no dates, no JSON): rows
        come straight from the driver without per-row type processing, about twice as fast
        on a million rows.
        """
        statement = text(query) if isinstance(query, str) else query
        with self.engine.connect() as conn:
            result = conn.execute(statement, dict(params or {}))
            if plain:
                rows = result.cursor.fetchall() if result.returns_rows else []
            else:
                # plain tuples: pandas probes SQLAlchemy Rows attribute by attribute (slow),
                # then converts them to tuples anyway, so the frame is the same
                rows = [tuple(row) for row in result.fetchall()]
            import pandas as pd

            return pd.DataFrame(rows, columns=list(result.keys()))

    def read_scalar(self, query: Executable, params: Mapping[str, Any] | None = None) -> Any:
        """The single value a SELECT returns (None when it returns no row)."""
        with self.engine.connect() as conn:
            return conn.execute(query, dict(params or {})).scalar_one_or_none()

    def read_table(self, table: Table) -> pd.DataFrame:
        return self.read_frame(select(table))

    def _dialect_insert(self) -> Any:
        """The backend's INSERT with ON CONFLICT (imported here: the PostgreSQL dialect costs
        ~0.1 s at start-up, which every command would otherwise pay)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert

    def insert_ignore(
        self, table: Table, rows: Sequence[Mapping[str, Any]], *, conn: Connection | None = None
    ) -> int:
        """Insert rows, skipping those whose primary/unique key exists; returns rows inserted."""
        if not rows:
            return 0
        insert = self._dialect_insert()
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
        insert = self._dialect_insert()
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

    @contextmanager
    def _writer_wait(self, conn: Connection, wait_s: float | None) -> Iterator[None]:
        """Inside `conn`, on SQLite, wait at most `wait_s` seconds for another writer (None: the
        usual SQLITE_WRITE_WAIT_S)."""
        short = wait_s is not None and self.dialect == "sqlite"
        if short:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            conn.commit()  # end the autobegun transaction; the pragma stays set
        try:
            yield
        finally:
            if short:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_WRITE_WAIT_S * 1000}")
                conn.commit()

    # -- domain reads ---------------------------------------------------------
    def ingested_file(self, key: str) -> dict[str, Any] | None:
        """The record (rows, ingested_at) of the file ingested under `key`, or None."""
        c = t.ingested_files.c
        with self.engine.connect() as conn:
            row = conn.execute(select(c.rows, c.ingested_at).where(c.sha256 == key)).first()
        return dict(row._mapping) if row is not None else None

    def aliases(self) -> dict[str, str]:
        """alias -> canonical model name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.model_aliases.c.alias, t.model_aliases.c.canonical))
            return {alias: canonical for alias, canonical in rows}

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
        if {"response_a", "response_b"} & set(frame.columns):
            frame = self.fill_answers_from_transcripts(frame)
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
        frame = self.fill_answers_from_transcripts(frame, "interaction_id")
        frame["query"] = frame["query_text"].where(frame["query_text"].notna(), frame["transcript"])
        return frame

    def benchmark_frame(self, resolve_aliases: bool = True) -> pd.DataFrame:
        frame = self.read_table(t.benchmark_scores)
        return resolve_models(frame, self.aliases()) if resolve_aliases else frame

    def status(self) -> dict[str, Any]:
        """Counts of what the workspace holds and which stages have run (keys are a contract)."""
        c = t.interactions.c
        if not self.read_only:
            try:
                self.reap_abandoned(wait_s=2)
            except (SQLAlchemyError, StoreUnwritable):
                pass  # another writer is busy: run_rows still shows dead runs as abandoned
        runs = self.run_rows()  # plain rows: status must not wait for pandas to import
        stages: dict[str, Any] = {}
        for row in runs:  # oldest first, so the last `done` row seen is the latest
            if row["status"] == "done":
                info = stages.setdefault(str(row["stage"]), {"runs": 0})
                info["runs"] += 1
                info["last_run_id"] = int(row["id"])
                info["last_finished_at"] = str(row["finished_at"])
        stages = dict(sorted(stages.items()))
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
            "spoken_answers": self.count(t.response_audio),
            "conversations": self.count_conversations(),
            "transcripts": self.count(t.transcripts),
            "feedback": self.count(t.feedback),
            "systems": int(systems),
            "benchmark_scores": self.count(t.benchmark_scores),
            "aliases": self.count(t.model_aliases),
            "model_outputs": self.count(t.model_outputs),
            "stages": stages,
            "unfinished_runs": self.unfinished_runs(runs),
        }


def _group_by_keys(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Split rows into runs that name the same columns, keeping order."""
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def redact_url(url: str) -> str:
    """Hide a password in a database URL before it is shown."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


__all__ = [
    "SCHEMA_VERSION",
    "Run",
    "RunLeaseHeld",
    "SQLAlchemyError",
    "Store",
    "StoreError",
    "code_version",
    "published",
    "utcnow",
]
