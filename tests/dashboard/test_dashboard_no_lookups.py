"""The served dashboard and rater app ask no one outside the machine anything: no DNS lookup of a name other
than localhost and no TCP connection beyond loopback, bound to loopback or to every interface
(Streamlit on 0.0.0.0 looks up checkip.amazonaws.com unless told otherwise)."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Loaded by every Python process started with this folder first on PYTHONPATH (the arenalens
# command and its Streamlit child): each name lookup and TCP connection is appended to a file.
RECORDER = """
import json, os, socket

_LOG = os.environ["ARENALENS_TEST_LOOKUP_LOG"]


def _record(kind, host):
    with open(_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps([kind, str(host), os.getpid()]) + "\\n")


def _wrap(name):
    original = getattr(socket, name)

    def recorded(host, *args, **kwargs):
        _record(name, host)
        return original(host, *args, **kwargs)

    setattr(socket, name, recorded)


for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"):
    _wrap(_name)
_connect = socket.socket.connect


def _recorded_connect(self, address):
    if self.type == socket.SOCK_STREAM and self.family in (socket.AF_INET, socket.AF_INET6):
        _record("connect", address[0])
    return _connect(self, address)


socket.socket.connect = _recorded_connect
_record("loaded", "")
"""

LOCAL_NAMES = {"localhost", "", "None"}
REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def off_machine(records: list[list[str]]) -> list[list[str]]:
    """Records that would leave the machine: a lookup of any name but localhost, or a TCP
    connection (or lookup) of an address that is not loopback or this machine's wildcard."""
    out = []
    for kind, host, _pid in records:
        host = host.strip("[]")
        if kind == "loaded" or host in LOCAL_NAMES:
            continue
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            out.append([kind, host])  # a name: resolving it asks a DNS server
            continue
        if not (address.is_loopback or address.is_unspecified):
            out.append([kind, host])
    return out


def test_off_machine_records_are_recognised():
    records = [
        ["getaddrinfo", "localhost", 1],
        ["getaddrinfo", "0.0.0.0", 1],
        ["connect", "127.0.0.1", 1],
        ["getaddrinfo", "checkip.amazonaws.com", 1],
        ["connect", "52.1.2.3", 1],
    ]
    assert off_machine(records) == [
        ["getaddrinfo", "checkip.amazonaws.com"],
        ["connect", "52.1.2.3"],
    ]


SERVE = {"dashboard": ["dashboard"], "rater app": ["arena", "serve"]}


def served_lookups(
    workspace: Path, address: str, tmp_path: Path, app: str = "dashboard"
) -> tuple[list, str]:
    """Start `arenalens dashboard --address ADDRESS` (or the rater app's `arena serve`) under
    the recorder, load the app once, stop it; every lookup and connection its processes made,
    and its output."""
    shim = tmp_path / f"shim-{address.replace(':', '_')}"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(RECORDER, encoding="utf-8")
    log = tmp_path / f"lookups-{address.replace(':', '_')}.jsonl"
    out = tmp_path / f"dashboard-{address.replace(':', '_')}.log"
    env = {
        **os.environ,
        # the recorder, then this checkout (its code, not an installed copy), then the rest
        "PYTHONPATH": os.pathsep.join(
            [str(shim), str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
        "ARENALENS_TEST_LOOKUP_LOG": str(log),
        "ARENALENS_DASHBOARD_PREFETCH": "0",
    }
    env.pop("ARENALENS_DB", None)
    port = _free_port()
    command = [str(Path(sys.executable).parent / "arenalens"), "--workspace", str(workspace)]
    process = subprocess.Popen(
        [*command, *SERVE[app], "--address", address, "--port", str(port)],
        stdout=out.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, out.read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail(f"the dashboard did not answer: {out.read_text()[-2000:]}")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200
        # the start-up banner (where the external-IP lookup happens) follows the first answer
        while "URL:" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return records, out.read_text()


@pytest.mark.parametrize("app", list(SERVE))
@pytest.mark.parametrize("address", ["127.0.0.1", "0.0.0.0"])
def test_the_served_apps_make_no_outside_lookup(empty_workspace, tmp_path, address, app):
    records, output = served_lookups(empty_workspace, address, tmp_path, app)
    loaded = {pid for kind, _host, pid in records if kind == "loaded"}
    assert len(loaded) >= 2, "the recorder was not loaded in the command and its server"
    assert off_machine(records) == [], output[-2000:]
    assert "URL:" in output  # Streamlit started and printed where it listens
