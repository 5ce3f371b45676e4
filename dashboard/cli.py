"""`arenalens dashboard`: serve the Streamlit app (on loopback by default), blocking until stopped."""

from __future__ import annotations

import os
from pathlib import Path

import click

from arenalens.context import AppContext
from arenalens.streamlit_server import is_loopback, serve_until_stopped, streamlit_run

APP_PATH = Path(__file__).resolve().parent / "app.py"
# Set to "1" by this command: the app then warms every page's caches in the background.
PREFETCH_ENV = "ARENALENS_DASHBOARD_PREFETCH"


NO_LOGIN_WARNING = (
    "warning: the dashboard has no login; on {address} anyone who can reach this machine's "
    "port {port} sees the workspace's queries and feedback. Prefer the default 127.0.0.1 and "
    "an SSH tunnel (README: 'Reaching the dashboard from another machine')."
)


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The `streamlit run` argument list for the dashboard: `streamlit_run`'s settings (no
    external-IP lookup, no usage statistics) and nothing that makes the browser fetch from
    outside (see README, 'No outside requests')."""
    return streamlit_run(
        str(APP_PATH),
        port,
        address,
        # /_stcore/script-health-check runs the app once without a browser: `warm_at_start`
        # calls it so the prefetch starts with the server, not with the first visitor
        "--server.scriptHealthCheckEnabled",
        "true",
        # speed (benchmarks/README.md, time to interactive): Streamlit's default full garbage
        # collection after every script run walks the cached 100k-row frames (~0.5 s holding
        # the GIL, so the server answers nothing meanwhile), and its file watcher re-resolves
        # the path of every imported module on every run; a served dashboard needs neither
        "--runner.postScriptGC",
        "false",
        "--server.fileWatcherType",
        "none",
    )


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


def warm_at_start(port: int, address: str = "127.0.0.1", timeout_s: float = 120) -> bool:
    """Once the server answers, run the app once through Streamlit's script health check (no
    browser): that run starts the cache prefetch, so the first visitor finds warm caches.
    Returns whether the run happened; a server that never answers is left to say why."""
    import time
    import urllib.request

    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    base = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        return False
    try:  # the run itself takes as long as the Overview page's first render
        with urllib.request.urlopen(f"{base}/_stcore/script-health-check", timeout=timeout_s):
            return True
    except OSError:
        return False


@click.command("dashboard")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on. The dashboard has no login: keep 127.0.0.1 and use an SSH "
    "tunnel to reach it from elsewhere.",
)
@click.pass_obj
def dashboard_command(app: AppContext, port: int, address: str) -> None:
    """Serve the dashboard on http://127.0.0.1:PORT (or --address) until stopped (Ctrl-C)."""
    # open (creating or upgrading) the store here, so its errors show as one line
    counts = app.store.status()
    if not is_loopback(address):
        click.echo(NO_LOGIN_WARNING.format(address=address, port=port), err=True)
    host = f"[{address}]" if ":" in address else address
    click.echo(
        f"arenalens dashboard: http://{host}:{port}  (workspace {app.settings.workspace}, "
        f"{counts['interactions']:,} interactions)"
    )
    click.echo("press Ctrl-C to stop")
    environment = dashboard_environment(app)
    warm = None
    if environment.get(PREFETCH_ENV) == "1":
        import threading

        def warm() -> None:
            threading.Thread(target=warm_at_start, args=(port, address), daemon=True).start()

    serve_until_stopped(streamlit_command(port, address), environment, "dashboard", warm)


COMMANDS = [dashboard_command]
