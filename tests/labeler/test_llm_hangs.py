"""Nothing hangs: a refused connection fails in seconds, a silent endpoint ends within the run's
deadline, a failing one trips the circuit breaker, and retries are quiet (one warning line)."""

from __future__ import annotations

import logging
import shutil
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from fault_server import FaultServer
from test_llm_faults import CHOICES, GOOD, LABELS

from arenalens.app.cli import main
from arenalens.config import ConfigError
from arenalens.labeler import EndpointUnavailable, LabelerError
from arenalens.labeler.llm import LLMLabeler
from arenalens.labeler.llm_client import LLMClient
from arenalens.store import Store

TEXTS = [f"A was way too long, item {i}." for i in range(8)]


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def labeler(base_url: str, store: Store | None, concurrency: int = 2, **options: object):
    client = LLMClient(base_url=base_url, model="m", store=store, **options)  # type: ignore[arg-type]
    return LLMLabeler(client, concurrency=concurrency, show_progress=False)


def test_a_refused_connection_fails_in_seconds_with_one_retry(sqlite_store: Store) -> None:
    # the defaults: 5 retries, backoff from 1 s; a closed port is retried once, not five times
    started = time.monotonic()
    with pytest.raises(EndpointUnavailable, match="cannot reach http://127.0.0.1:.*refused"):
        labeler(closed_port_url(), sqlite_store).assign_labels(
            TEXTS, LABELS, attribute_choices=CHOICES
        )
    assert time.monotonic() - started < 5


def test_a_silent_endpoint_ends_within_the_deadline(sqlite_store: Store) -> None:
    with FaultServer([("hang", 60.0)]) as server:
        started = time.monotonic()
        with pytest.raises(EndpointUnavailable, match="deadline of 1.5 s"):
            labeler(
                server.base_url, sqlite_store, timeout_s=30.0, deadline_s=1.5, backoff_base_s=0.01
            ).assign_labels(TEXTS, LABELS, attribute_choices=CHOICES)
        elapsed = time.monotonic() - started
    assert elapsed < 3.0  # each request's timeout was cut to what was left of the deadline


def test_consecutive_failures_trip_the_breaker_for_every_request(sqlite_store: Store) -> None:
    with FaultServer([("status", 503)]) as server:
        sleeps: list[float] = []
        with pytest.raises(EndpointUnavailable, match="stopped after 4 failed attempts in a row"):
            labeler(
                server.base_url,
                sqlite_store,
                concurrency=1,
                max_retries=5,
                max_consecutive_failures=4,
                sleep=sleeps.append,
            ).assign_labels(TEXTS, LABELS, attribute_choices=CHOICES)
    # without the breaker: 8 texts x 6 attempts = 48 requests
    assert len(server.requests) == 4


def test_a_silent_endpoint_trips_the_breaker_on_timeouts(sqlite_store: Store) -> None:
    with FaultServer([("hang", 60.0)]) as server:
        started = time.monotonic()
        with pytest.raises(EndpointUnavailable, match="no answer within the timeout"):
            labeler(
                server.base_url,
                sqlite_store,
                timeout_s=0.2,
                max_consecutive_failures=4,
                backoff_base_s=0.01,
            ).assign_labels(TEXTS, LABELS, attribute_choices=CHOICES)
        assert time.monotonic() - started < 3.0
    assert len(server.requests) <= 5


def test_successes_reset_the_breaker_and_rate_limits_do_not_count(sqlite_store: Store) -> None:
    script = [("status", 500), ("ok", GOOD), ("status", 429), ("status", 429), ("status", 500)]
    script += [("ok", GOOD)] * 10
    with FaultServer(script) as server:
        results = labeler(
            server.base_url,
            sqlite_store,
            concurrency=1,
            max_consecutive_failures=2,
            sleep=lambda _: None,
        ).assign_labels(TEXTS[:4], LABELS, attribute_choices=CHOICES)
    assert [r.labels[0].label for r in results] == ["detail"] * 4


def test_retries_are_logged_at_debug_with_one_line_for_people(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    script = [("status", 502)] * 3 + [("ok", GOOD)] + [("status", 503)] * 3 + [("ok", GOOD)]
    caplog.set_level(logging.DEBUG, logger="arenalens.labeler.llm_client")
    with FaultServer(script) as server:
        labeler(server.base_url, sqlite_store, concurrency=1, sleep=lambda _: None).assign_labels(
            TEXTS[:2], LABELS, attribute_choices=CHOICES
        )
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and "retry" in r.message]
    assert len(warnings) == 1 and "is failing (status 502" in warnings[0].message
    assert len(debug) == 6


@pytest.mark.parametrize("url", ["http://[::1", "localhost:8080", "ftp://127.0.0.1/v1"])
def test_the_endpoint_url_is_checked_before_any_request(url: str) -> None:
    with pytest.raises(ConfigError, match="llm_base_url expects an http"):
        LLMClient(base_url=url, model="m")


def test_code_against_a_silent_endpoint_stops_within_the_deadline_and_publishes_nothing(
    sample_workspace: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(sample_workspace, workspace)
    monkeypatch.setenv("ARENALENS_LLM_TIMEOUT_S", "30")
    monkeypatch.setenv("ARENALENS_LLM_DEADLINE_S", "3")
    script = [("ok", '{"labels": []}')] * 6 + [("hang", 60.0)]
    with FaultServer(script) as server:
        started = time.monotonic()
        with pytest.raises(SystemExit) as exit_:
            main(
                ["--workspace", str(workspace), "--llm-base-url", server.base_url,
                 "--llm-model", "m", "code", "--batch-size", "4"]
            )  # fmt: skip
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "Traceback" not in err
    [line] = [x for x in err.splitlines() if x.startswith("error:")]
    assert "reached its deadline of 3 s" in line and "a rerun resumes" in line
    assert elapsed < 15
    with sqlite3.connect(workspace / "arenalens.sqlite") as conn:
        statuses = conn.execute("SELECT status FROM runs WHERE stage = 'coding'").fetchall()
        cached = conn.execute("SELECT count(*) FROM llm_cache").fetchone()[0]
    assert statuses == [("failed",)]  # nothing published
    assert cached == 6  # the replies received are kept for the rerun


def test_labeler_errors_still_name_the_endpoint(sqlite_store: Store) -> None:
    with FaultServer([("status", 404)]) as server:
        with pytest.raises(LabelerError, match="refused the request \\(404\\)"):
            labeler(server.base_url, sqlite_store).assign_labels(
                TEXTS[:1], LABELS, attribute_choices=CHOICES
            )
        assert len(server.requests) == 1
