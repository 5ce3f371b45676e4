"""`arenalens dashboard`: serve the Streamlit app on loopback, blocking until stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click

from arenalens.context import AppContext

APP_PATH = Path(__file__).resolve().parent / "app.py"
# Set to "1" by this command: the app then warms every page's caches in the background.
PREFETCH_ENV = "ARENALENS_DASHBOARD_PREFETCH"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The `streamlit run` argument list for the dashboard (headless, no telemetry)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
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
    ]


def dashboard_environment(app: AppContext, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment telling the app which workspace (and database) to open."""
    env = dict(os.environ if base is None else base)
    env["ARENALENS_WORKSPACE"] = str(Path(app.settings.workspace).resolve())
    env.setdefault(PREFETCH_ENV, "1")  # warm the page caches in the background at start-up
    if app.settings.db:
        env["ARENALENS_DB"] = app.settings.db
    else:
        env.pop("ARENALENS_DB", None)
    return env


@click.command("dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.pass_obj
def dashboard_command(app: AppContext, port: int) -> None:
    """Serve the dashboard on http://127.0.0.1:PORT until stopped (Ctrl-C)."""
    # open (creating or upgrading) the store here, so its errors show as one line
    counts = app.store.status()
    click.echo(
        f"arenalens dashboard: http://127.0.0.1:{port}  (workspace {app.settings.workspace}, "
        f"{counts['interactions']:,} interactions)"
    )
    click.echo("press Ctrl-C to stop")
    process = subprocess.Popen(streamlit_command(port), env=dashboard_environment(app))

    def _stop_server(signum: int, _frame: object) -> None:
        process.terminate()  # SIGTERM/SIGHUP to this command also stops the server

    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _stop_server)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        click.echo("dashboard stopped")
        return
    if code not in (0, -signal.SIGTERM):
        raise click.ClickException(f"streamlit exited with status {code}")


COMMANDS = [dashboard_command]
