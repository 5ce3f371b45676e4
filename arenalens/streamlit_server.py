"""Serving a Streamlit app (the dashboard, the rater app): one place for how it starts, stops
and stays on this machine.

`python -m arenalens.streamlit_server run APP ...` is Streamlit's own command line minus its one
lookup that leaves the machine. Bound to a wildcard address (`--address 0.0.0.0`), Streamlit asks
http(s)://checkip.amazonaws.com for this machine's external IP (for its "External URL" banner
line, and as a fallback when it checks a browser's origin). No option turns that off, so this
entry point replaces the lookup with "unknown" before Streamlit starts: the banner shows local and
network URLs only, and an origin is checked against the address given, loopback and the internal
IP (README, 'No outside requests')."""

from __future__ import annotations

import ipaddress
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping

import click


def is_loopback(address: str) -> bool:
    """Whether the server address only accepts connections from this machine."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def streamlit_run(app_path: str, port: int, address: str, *options: str) -> list[str]:
    """The argument list that runs `app_path` under Streamlit with the external-IP lookup off,
    headless, without usage statistics or developer menus; `options` are further `--name value`
    settings."""
    return [
        sys.executable,
        "-m",
        "arenalens.streamlit_server",
        "run",
        app_path,
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "minimal",
        *options,
    ]


def serve_until_stopped(
    command: list[str],
    environment: Mapping[str, str] | None,
    label: str,
    on_start: Callable[[], None] | None = None,
) -> subprocess.Popen:
    """Start the server (then `on_start`) and wait for it: SIGTERM/SIGHUP to this command stop
    it too, Ctrl-C stops it and says so; a crash is one line."""
    process = subprocess.Popen(command, env=dict(environment) if environment is not None else None)
    if on_start is not None:
        on_start()

    def _stop_server(signum: int, _frame: object) -> None:
        process.terminate()

    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop_server)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        click.echo(f"{label} stopped")
        return process
    if code not in (0, -signal.SIGTERM):
        raise click.ClickException(f"streamlit exited with status {code}")
    return process


def no_external_ip() -> None:
    """Streamlit's external-IP detection, answered without asking anyone: unknown."""
    return None


def main() -> None:
    """Run Streamlit's command line (`streamlit run ...`) with external-IP detection off."""
    from streamlit import net_util
    from streamlit.web import cli

    net_util.get_external_ip = no_external_ip
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
