"""A real full disk under PostgreSQL: the workspace database lives in a tablespace on a small
tmpfs, the tmpfs is filled, and the commands that write end in one line saying so; once space
is freed the data is as it was and the commands work again.

Needs the test server (ARENALENS_TEST_POSTGRES_URL) on this machine and root (to mount the
tmpfs and give it to the server's user); skipped otherwise. The SQLSTATE-only check in
tests/test_broken_environments.py covers servers elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_databases import create_test_database, drop_test_database
from sqlalchemy import create_engine, text
from test_broken_environments import one_error_line, run_cli

from arenalens.app.cli import main
from arenalens.store import Store

pytestmark = pytest.mark.slow

TMPFS_BYTES = 48 << 20  # the sample arena takes ~6 MB of it


class FullDisk:
    """A tablespace on its own tmpfs; `fill` leaves no byte free, `free` gives the space back."""

    def __init__(self, mount: Path) -> None:
        self.filler = mount / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab") as out:
            try:
                while True:
                    out.write(b"\0" * (1 << 20))
                    out.flush()
            except OSError:  # ENOSPC: nothing left; smaller writes take the last pages
                pass
        with open(self.filler, "ab", buffering=0) as out:
            for size in (1 << 16, 1 << 12, 1 << 9):
                try:
                    while True:
                        out.write(b"\0" * size)
                except OSError:
                    continue

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def _admin(url: str):  # noqa: ANN202 - a SQLAlchemy engine
    server = url.rsplit("/", 1)[0] + "/postgres"
    return create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1),
                         isolation_level="AUTOCOMMIT")  # fmt: skip


@pytest.fixture(scope="module")
def full_disk_database() -> Iterator[tuple[str, FullDisk]]:
    """The sample arena in a database whose tablespace is a 48 MB tmpfs."""
    base = os.environ.get("ARENALENS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set (scripts/postgres.sh start sets it up)")
    if "@127.0.0.1:" not in base and "@localhost:" not in base:
        pytest.skip("the test server is not on this machine: its disk cannot be filled from here")
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs for the tablespace needs root")
    admin = _admin(base)
    with admin.connect() as conn:
        data_directory = conn.execute(text("SHOW data_directory")).scalar_one()
    owner = os.stat(data_directory)
    # outside pytest's folders, which only root may enter: the server's user must reach it
    mount = Path(tempfile.mkdtemp(prefix="arenalens-pg-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        admin.dispose()
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    space = f"arenalens_full_{uuid.uuid4().hex[:8]}"  # generated, not user input
    url = None
    try:
        os.chown(mount, owner.st_uid, owner.st_gid)
        with admin.connect() as conn:
            conn.execute(text(f"CREATE TABLESPACE {space} LOCATION '{mount}'"))
        url = create_test_database(base)
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.rsplit("/", 1)[1]}" SET TABLESPACE {space}'))
        store = Store.open(url)
        from arenalens.app.demo import load_sample_arena

        load_sample_arena(store, with_audio=False)
        store.engine.dispose()
        yield url, FullDisk(mount)
    finally:
        FullDisk(mount).free()
        if url is not None:
            drop_test_database(url)
        with admin.connect() as conn:
            conn.execute(text(f"DROP TABLESPACE IF EXISTS {space}"))
        admin.dispose()
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def _counts(url: str) -> dict[str, object]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # fixed names
            for table in (
                "interactions",
                "feedback",
                "ranking_ratings",
                "coding_codes",
                "taxonomy_clusters",
            )
        }
        # published runs; a run that failed may be recorded as failed (the run lifecycle)
        counts["finished runs"] = conn.execute(
            text("SELECT count(*) FROM runs WHERE status = 'done'")
        ).scalar_one()
    engine.dispose()
    return counts


@pytest.mark.parametrize(
    "command",
    [["rank", "--bootstrap", "50"], ["code"], ["taxonomy", "build"]],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_full_disk_under_postgresql_is_one_line_and_nothing_changes(
    full_disk_database: tuple[str, FullDisk],
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, disk = full_disk_database
    before = _counts(url)  # also a session that writes the server's relation-cache file
    disk.fill()
    try:
        code, err = run_cli(["--workspace", str(tmp_path), "--db", url, *command], capsys)
    finally:
        disk.free()
    line = one_error_line(err)
    assert code == 2
    # in a session: SQLSTATE 53100 (could not extend file); a new session: the relation-cache
    # file cannot be written (no SQLSTATE), which says the disk is the likely cause
    assert "has no space left" in line or "usually its disk is full" in line, line
    assert "nothing was saved by this command and earlier results are intact" in line
    assert _counts(url) == before
    # with space again, the same database takes writes
    main(["--workspace", str(tmp_path), "--db", url, "rank", "--bootstrap", "0", "--no-fragility"])
    assert _counts(url)["finished runs"] == before["finished runs"] + 1


def test_a_full_disk_when_a_session_starts_is_one_line(
    full_disk_database: tuple[str, FullDisk], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, disk = full_disk_database
    before = _counts(url)
    # what the server does when a catalog changes: the relation-cache file goes, and the next
    # session must write it again before any query; on a full disk that session ends (FATAL).
    # The file goes first: removing it would free the space it takes
    (cache_file,) = disk.filler.parent.glob("PG_*/*/pg_internal.init")
    cache_file.unlink()
    disk.fill()
    try:
        code, err = run_cli(["--workspace", str(tmp_path), "--db", url, "rank"], capsys)
    finally:
        disk.free()
    line = one_error_line(err)
    assert code == 2
    assert "cannot write its files on the database server (usually its disk is full)" in line
    assert "could not write init file" in line and "free space on the server's disk" in line
    assert _counts(url) == before
