"""Broken environments give one line saying what happened and what to do, never a traceback:
a read-only or full database, unusable workspace and database settings, bad LLM settings."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_databases import create_test_database, drop_test_database

from arenalens.app.cli import main
from arenalens.store import Store
from arenalens.store import store as store_module

# Commands that write: each must refuse with one line when the database cannot be written.
WRITING_COMMANDS = [
    ["rank", "--bootstrap", "0", "--no-fragility"],
    ["aliases", "add", "gpt4o", "GPT-4o"],
    ["taxonomy", "build"],
    ["code"],
]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of `arenalens ARGV`, run in this process."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return int(exit_.value.code or 0), capsys.readouterr().err


def one_error_line(err: str) -> str:
    """The one `error:` line of stderr (progress bars aside); fails on a traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def workspace(sample_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the sample arena workspace (SQLite)."""
    copy = tmp_path / "workspace"
    shutil.copytree(sample_workspace, copy)
    return copy


def with_pragma(monkeypatch: pytest.MonkeyPatch, pragma: Callable[[Any], str]) -> None:
    """Every SQLite connection the CLI opens runs `pragma(cursor)` after the usual pragmas."""
    usual = store_module._sqlite_pragmas

    def pragmas(dbapi_connection: Any, record: Any) -> None:
        usual(dbapi_connection, record)
        cursor = dbapi_connection.cursor()
        cursor.execute(pragma(cursor))
        cursor.close()

    monkeypatch.setattr(store_module, "_sqlite_pragmas", pragmas)


def integrity_and_counts(workspace: Path) -> tuple[str, int, int]:
    """(PRAGMA integrity_check, interactions, runs) of the workspace database, read directly."""
    with sqlite3.connect(workspace / "arenalens.sqlite") as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        interactions = conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
        runs = conn.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0]
    return check, interactions, runs


@pytest.mark.parametrize("command", WRITING_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_read_only_database_is_one_line_and_nothing_changes(
    workspace: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = integrity_and_counts(workspace)
    # SQLite's own read-only switch: writes fail as on a read-only file ("attempt to write a
    # readonly database"); chmod would not stop the root user the tests may run as
    with_pragma(monkeypatch, lambda _: "PRAGMA query_only = ON")
    code, err = run_cli(["--workspace", str(workspace), *command], capsys)
    line = one_error_line(err)
    assert code == 2
    assert f"{(workspace / 'arenalens.sqlite').resolve()} is read-only" in line
    assert "copy the workspace somewhere writable" in line
    monkeypatch.undo()
    assert integrity_and_counts(workspace) == before


def new_votes(path: Path, n: int = 200) -> Path:
    """A JSONL file of `n` votes the sample workspace does not hold."""
    rows = [
        {"id": f"new-{i}", "query_text": f"question {i} " * 20, "model_a": "GPT-4o",
         "model_b": "DiVA-8B", "winner": "model_a", "feedback": "clear and short " * 10}
        for i in range(n)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# rank and `aliases add` write a few rows, which may fit in the pages the file already has;
# these commands need new pages, as a full disk would refuse
@pytest.mark.parametrize(
    "command", [["ingest", "NEW"], ["taxonomy", "build"], ["code"]], ids=lambda c: c[0]
)
def test_a_full_disk_is_one_line_and_nothing_changes(
    workspace: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    new = str(new_votes(workspace.parent / "new.jsonl"))
    command = [new if part == "NEW" else part for part in command]
    with sqlite3.connect(workspace / "arenalens.sqlite") as conn:
        conn.execute("VACUUM")  # packed pages: a write needs a new page
    before = integrity_and_counts(workspace)
    # the file may not grow by a single page: SQLite answers SQLITE_FULL, as on a full disk
    with_pragma(
        monkeypatch,
        lambda cursor: (
            "PRAGMA max_page_count = " + str(cursor.execute("PRAGMA page_count").fetchone()[0])
        ),
    )
    code, err = run_cli(["--workspace", str(workspace), *command], capsys)
    line = one_error_line(err)
    assert code == 2
    assert "has no space left" in line and "free some space" in line
    monkeypatch.undo()
    assert integrity_and_counts(workspace) == before


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database with the arenalens schema."""
    base = os.environ.get("ARENALENS_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("ARENALENS_TEST_POSTGRES_URL not set (scripts/postgres.sh start sets it up)")
    url = create_test_database(base)
    Store.open(url).engine.dispose()
    yield url
    drop_test_database(url)


@pytest.mark.parametrize(
    "command",
    [["aliases", "add", "gpt4o", "GPT-4o"], ["ingest", "SAMPLE"]],
    ids=lambda c: c[0],
)
def test_a_read_only_postgresql_database_is_one_line(
    postgres_url: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = Path(__file__).parents[1] / "data" / "sample_arena" / "interactions.jsonl"
    command = [str(sample) if part == "SAMPLE" else part for part in command]
    # what a read-only replica or a read-only role does: every transaction refuses writes
    monkeypatch.setenv("PGOPTIONS", "-c default_transaction_read_only=on")
    code, err = run_cli(["--db", postgres_url, *command], capsys)
    line = one_error_line(err)
    assert code == 2
    assert "refuses writes" in line and "nothing was saved" in line
    assert "the workspace database postgresql://postgres" in line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--db", "notaurl"], "db (flag --db) expects a database URL starting sqlite:///"),
        (["--db", "mysql://me:pw@host/db"], "not 'mysql://me:***@host/db'"),
        (
            ["--db", "sqlite:////proc/nope/x.sqlite"],
            "cannot create the workspace folder /proc/nope",
        ),
        (["--workspace", "/proc/nope"], "cannot create the workspace folder /proc/nope"),
        (["--workspace", "/etc/passwd"], "workspace (flag --workspace) /etc/passwd is a file"),
        (["--llm-base-url", "http://[::1"], "llm_base_url (flag --llm-base-url) expects an http"),
        (["--llm-base-url", "localhost:8080"], "expects an http:// or https:// URL with a host"),
    ],
    ids=lambda v: v[-1] if isinstance(v, list) else "",
)
def test_unusable_locations_and_urls_are_one_line(
    flags: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli([*flags, "status"], capsys)
    assert code == 2
    assert expected in one_error_line(err)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("llm_timeout_s", "-1", "seconds, more than 0"),
        ("llm_concurrency", "0", "a whole number from 1 to 64"),
        ("llm_concurrency", "-5", "a whole number from 1 to 64"),
        ("privacy_min_users", "-1", "a whole number, 1 or more"),
        ("llm_deadline_s", "0", "seconds, more than 0"),
        ("llm_temperature", "nan", "a number from 0 to 2"),
        ("seed", "-3", "a whole number from 0"),
    ],
)
def test_settings_out_of_range_name_the_setting_its_source_and_what_is_expected(
    tmp_path: Path,
    setting: str,
    value: str,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "arenalens.yaml").write_text(f"{setting}: {value}\n")
    code, err = run_cli(["--workspace", str(tmp_path), "status"], capsys)
    line = one_error_line(err)
    assert code == 2
    assert f"{setting} (file {tmp_path / 'arenalens.yaml'}) expects {expected}" in line
    (tmp_path / "arenalens.yaml").unlink()
    monkeypatch.setenv(f"ARENALENS_{setting.upper()}", value)
    code, err = run_cli(["--workspace", str(tmp_path), "status"], capsys)
    assert f"{setting} (environment variable ARENALENS_{setting.upper()}) expects" in err


def test_a_full_disk_under_an_output_file_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import click

    from arenalens.app.cli import main_group

    @click.command("write-file")
    @click.argument("path")
    def write_file(path: str) -> None:  # what every export does: open, write, close
        with open(path, "w") as handle:
            handle.write("x" * 10_000)

    monkeypatch.setitem(main_group.commands, "write-file", write_file)
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full (a device whose writes fail with 'No space left')")
    code, err = run_cli(["write-file", "/dev/full"], capsys)
    assert code == 2
    line = one_error_line(err)  # a failed write() names no file; a failed open() does
    assert line.startswith("error: cannot write") and "(No space left on device)" in line


@pytest.mark.parametrize(
    ("sqlstate", "words"),
    [("53100", "has no space left"), ("25006", "refuses writes"), ("42501", "refuses this user")],
)
def test_postgresql_environment_failures_are_named_by_sqlstate(sqlstate: str, words: str) -> None:
    # psycopg errors carry the server's SQLSTATE; a real full disk under PostgreSQL needs root
    # and a server on this machine (tests/test_full_disk_postgres.py), so the classification is
    # also checked on the SQLSTATE alone, for servers elsewhere
    from arenalens.store.errors import unwritable_error

    error = type("ServerError", (Exception,), {"sqlstate": sqlstate})("could not extend file")
    message = str(unwritable_error(error, "postgresql://me:***@db/arena"))
    assert words in message and "nothing was saved" in message
    assert unwritable_error(type("E", (Exception,), {"sqlstate": "23505"})("dup"), "x") is None
