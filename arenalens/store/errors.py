"""The store's errors (their own module, so `runs` and `store` both raise them)."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class StoreError(ArenalensError, RuntimeError):
    """The store cannot be opened or used as asked."""


class RunLeaseHeld(StoreError):
    """Another live process runs the same stage; the message names it (pid, host, since)."""


class StoreUnwritable(StoreError):
    """The environment stops the store from writing: a read-only file or mount, a full disk,
    missing permissions or a failing disk. The message says what happened and what to do."""


#: SQLite error names and PostgreSQL SQLSTATEs -> (what happened, what to do).
_READ_ONLY = (
    "is read-only",
    "check the permissions of the file, its folder and the mount (a writer needs all three), "
    "or copy the workspace somewhere writable",
)
_READ_ONLY_MOUNT = (
    "is on a read-only file system",
    "remount it writable, or copy the workspace somewhere writable",
)
_FULL = ("has no space left", "free some space, or move the workspace to a larger disk")
_DENIED = (
    "cannot be opened or written (permission denied)",
    "check the permissions of the file and its folder, or choose another workspace",
)
_IO = ("reported a disk I/O error", "check the disk; copy the workspace elsewhere if it persists")
# PostgreSQL on a full disk: a new session must rewrite the database's relation-cache file and
# fails before any query, with no SQLSTATE and no errno, only these words
_SERVER_FILES = (
    "cannot write its files on the database server (usually its disk is full)",
    "free space on the server's disk (the data folder, or the tablespace of this database)",
)
_SQLITE = {
    "SQLITE_READONLY": _READ_ONLY,
    "SQLITE_FULL": _FULL,
    "SQLITE_PERM": _DENIED,
    "SQLITE_CANTOPEN": _DENIED,
    "SQLITE_IOERR": _IO,
}
_POSTGRES = {
    "25006": (
        "refuses writes (a read-only transaction or server)",
        "connect to a primary as a user that may write",
    ),
    "42501": ("refuses this user (insufficient privilege)", "connect as a user that may write"),
    "53100": _FULL,
    "53200": ("ran out of memory", "free memory on the database server and run again"),
}
_ERRNO = {28: _FULL, 30: _READ_ONLY, 13: _DENIED, 1: _DENIED, 5: _IO}  # ENOSPC EROFS EACCES ...


def unwritable_error(
    error: BaseException, where: str, folder: str | None = None
) -> StoreUnwritable | None:
    """The one-line StoreUnwritable for `error` (a DBAPI or OS error, or one wrapping it) when
    the environment caused it; None for anything else. `where` names the database for people;
    `folder` (SQLite's) is checked for a read-only mount, which SQLite reports as "cannot open"."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = _classify(current)
        if kind in (_DENIED, _IO) and folder is not None:  # SQLite's words hide the cause
            if _read_only_mount(folder):
                kind = _READ_ONLY_MOUNT
            elif kind is _IO and _nearly_full(folder):
                kind = _FULL
        if kind is not None:
            happened, todo = kind
            detail = str(current).strip().splitlines()[0][:160] if str(current).strip() else ""
            because = f" ({detail})" if detail else ""
            return StoreUnwritable(
                f"the workspace database {where} {happened}{because}; nothing was saved by this "
                f"command and earlier results are intact; {todo}"
            )
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def _read_only_mount(folder: str) -> bool:
    import os

    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _nearly_full(folder: str, margin_bytes: int = 1 << 20) -> bool:
    """Whether the disk holding `folder` has less than `margin_bytes` left for this user."""
    import os

    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < margin_bytes


def _classify(error: BaseException) -> tuple[str, str] | None:
    name = getattr(error, "sqlite_errorname", None)
    if isinstance(name, str):
        for prefix, kind in _SQLITE.items():
            if name == prefix or name.startswith(prefix + "_"):
                return kind
        return None
    state = getattr(error, "sqlstate", None)
    if isinstance(state, str):
        return _POSTGRES.get(state)
    if isinstance(error, OSError) and error.errno in _ERRNO:
        return _ERRNO[error.errno]
    text = str(error).lower()
    if "readonly database" in text or "read-only transaction" in text:
        return _READ_ONLY
    if "database or disk is full" in text or "no space left on device" in text:
        return _FULL
    if "could not write init file" in text:
        return _SERVER_FILES
    return None
