"""`arenalens rank` end to end on stored votes, by number of models: 10% ties, users.

Builds a SQLite workspace per model count (and, with --postgres URL, a PostgreSQL database for
the first count) holding N votes from U users among M models (setup, not timed). The votes are
a connected arena: a ring (model k against model k+1) plus uniformly random pairs; each vote
carries a time to first token and a response length per side (random, independent of the
outcome). Then it times `arenalens rank --json` as a user runs it (a fresh process: imports, SQL
GROUP BY, the default user-clustered bootstrap, win rates, fragility, storing the run) and
reports the wall time and the peak resident memory of that process; with `--cluster-none` also
the counts-only path, with `--control NAME` (repeatable) also the style/latency-controlled
board. With `--before-code DIR` the same command runs first with DIR (another checkout, e.g.
main unpacked to /tmp) first on PYTHONPATH, stopped after `--timeout` seconds.

    .venv/bin/python benchmarks/ranking_store.py --workspace DIR --models 6 500 10000 --setup-only
    nice -n 10 .venv/bin/python benchmarks/ranking_store.py --workspace DIR --models 6 500 10000 \
        [--votes N] [--users U] [--postgres URL] [--before-code /tmp/main-code --timeout 300] \
        [--control time_to_first_token --control response_length]

A workspace (and PostgreSQL database) that already holds the votes is reused, so the slow setup
can run separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.special import expit

from arenalens.config import Settings
from arenalens.store import Store
from arenalens.store import tables as t


def simulate(n: int, models: int, users: int, seed: int) -> dict[str, np.ndarray]:
    """A ring over all models (so the arena is connected) plus uniformly random pairs."""
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.6, models)
    ring = np.arange(min(models, n))
    rest = n - len(ring)
    a = np.concatenate([ring, rng.integers(0, models, rest)])
    b = np.concatenate(
        [(ring + 1) % models, (a[len(ring) :] + rng.integers(1, models, rest)) % models]
    )
    tie = rng.random(n) < 0.10
    win = rng.random(n) < expit(theta[a] - theta[b])
    winner = np.where(tie, "tie", np.where(win, "model_a", "model_b"))
    return {"a": a, "b": b, "winner": winner, "user": rng.integers(0, users, n)}


def fill(store: Store, votes: dict[str, np.ndarray], chunk: int = 50_000) -> None:
    """Bulk insert (setup only): plain executemany in chunks."""
    n = len(votes["a"])
    style = np.random.default_rng(1)  # its own stream: the votes are those of earlier runs
    ttft = np.round(style.gamma(4.0, 0.3, (n, 2)), 3)
    length = np.rint(style.lognormal(6.0, 0.6, (n, 2))).astype(int)
    for start in range(0, n, chunk):
        rows = [
            {
                "id": f"v{k}",
                "model_a": f"model-{votes['a'][k]:05d}",
                "model_b": f"model-{votes['b'][k]:05d}",
                "winner": str(votes["winner"][k]),
                "user_id": f"user-{votes['user'][k]}",
                "language": "en" if k % 3 else "th",
                "extra": {
                    "time_to_first_token_a": float(ttft[k, 0]),
                    "time_to_first_token_b": float(ttft[k, 1]),
                    "response_length_a": int(length[k, 0]),
                    "response_length_b": int(length[k, 1]),
                },
                "content_hash": f"h{k}",
            }
            for k in range(start, min(n, start + chunk))
        ]
        with store.transaction() as conn:
            conn.execute(t.interactions.insert(), rows)


def run_cli(
    workspace_args: list[str], extra: list[str], code: str | None = None, timeout: float = 0
) -> tuple[float, float, float, dict | None]:
    """Wall seconds, peak RSS (MiB), CPU seconds (user + system) and the JSON payload (None
    when stopped at `timeout`)."""
    entry = "from arenalens.cli import main; main()"
    command = [sys.executable, "-c", entry, *workspace_args, "rank", "--json", *extra]
    env = dict(os.environ)
    cwd = str(Path(__file__).resolve().parent.parent)  # `python -c` puts the cwd first on sys.path
    if code:
        env["PYTHONPATH"] = cwd = code
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, env=env, cwd=cwd)
        timer = None
        if timeout:
            import threading

            timer = threading.Timer(timeout, process.kill)
            timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if timer:
            timer.cancel()
        out.seek(0)
        text = out.read().decode()
    payload = json.loads(text) if process.returncode == 0 else None
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, payload


def describe(payload: dict | None, wall: float, rss: float, cpu: float, timeout: float) -> str:
    if payload is None:
        return (
            f"no result after {wall:.0f} s (cap {timeout:.0f} s; CPU {cpu:.0f} s, "
            f"peak RSS {rss:.0f} MiB so far)"
        )
    widths = [r["ci_high"] - r["ci_low"] for r in payload["ratings"]]
    return (
        f"{wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MiB "
        f"({len(payload['ratings'])} models, "
        f"{payload['votes']:,} votes; {payload['ci_method']}; mean 95% CI width "
        f"{np.mean(widths):.1f} points; {len(payload['win_rates']):,} win-rate rows; "
        f"{len(payload['fragility'])} fragility lines)"
    )


def controlled(payload: dict | None) -> str:
    """The controlled board's interval method, widths and coefficients, in one clause."""
    board = (payload or {}).get("controlled")
    if not board:
        return ""
    widths = [r["ci_high"] - r["ci_low"] for r in board["ratings"]]
    coefficients = ", ".join(
        f"{c['covariate']} {c['coefficient']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
        for c in board["coefficients"]
    )
    return (
        f"; controlled: {len(board['ratings'])} models, {board['votes']:,} votes, "
        f"{board['ci_method']}; mean 95% CI width {np.mean(widths):.1f} points; {coefficients}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, nargs="+", default=[50])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--postgres", help="also measure the first model count on this database")
    parser.add_argument("--workspace", type=Path, help="keep (or reuse) workspaces under here")
    parser.add_argument("--setup-only", action="store_true")
    parser.add_argument("--cluster-none", action="store_true", help="also time --cluster none")
    parser.add_argument(
        "--control", action="append", default=[], help="also time rank --control NAME (repeatable)"
    )
    parser.add_argument("--before-code", help="a checkout to time first (put on PYTHONPATH)")
    parser.add_argument("--timeout", type=float, default=300.0, help="cap of the before run (s)")
    parser.add_argument("--skip-before", action="store_true", help="ignore --before-code")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.workspace or Path(scratch)
        for index, models in enumerate(args.models):
            tmp = str(root / f"models-{models}")
            Path(tmp).mkdir(parents=True, exist_ok=True)
            targets = [("sqlite", ["--workspace", tmp])]
            if args.postgres and index == 0:
                targets.append(("postgresql", ["--workspace", tmp, "--db", args.postgres]))
            for backend, workspace_args in targets:
                url = (
                    args.postgres
                    if backend == "postgresql"
                    else Settings(workspace=Path(tmp)).db_url
                )
                store = Store.open(url)
                held = store.count(t.interactions)
                if held != args.votes:
                    if held:
                        raise SystemExit(f"{url} holds {held} votes, not {args.votes}")
                    started = time.perf_counter()
                    fill(store, simulate(args.votes, models, args.users, 0))
                    took = time.perf_counter() - started
                    print(
                        f"[{backend}, {models} models] setup: {args.votes:,} votes in {took:.0f} s"
                    )
                store.engine.dispose()
                if args.setup_only:
                    continue
                label = f"[{backend}, {models} models, {args.votes:,} votes]"
                rounds = ["--bootstrap", str(args.rounds)]
                variants = [("", rounds)]
                if args.cluster_none:
                    variants.append((", --cluster none", [*rounds, "--cluster", "none"]))
                if args.control:
                    controls = [part for name in args.control for part in ("--control", name)]
                    variants.append((f", {' '.join(controls)}", [*rounds, *controls]))
                for name, extra in variants:
                    if args.before_code and not args.skip_before:
                        wall, rss, cpu, payload = run_cli(
                            workspace_args, extra, args.before_code, args.timeout
                        )
                        text = describe(payload, wall, rss, cpu, args.timeout)
                        print(f"{label} before{name}: {text}{controlled(payload)}", flush=True)
                    wall, rss, cpu, payload = run_cli(workspace_args, extra)
                    text = describe(payload, wall, rss, cpu, 0) + controlled(payload)
                    print(f"{label} after{name}: {text}", flush=True)
                print(f"load average: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
