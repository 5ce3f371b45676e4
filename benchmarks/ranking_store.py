"""`arenalens rank` end to end on stored votes: 1,000,000 votes, 50 models, 10% ties, users.

Builds a SQLite workspace (and, with --postgres URL, a PostgreSQL one) holding N votes from U
users (setup, not timed), then times, in the same run:

- after: `arenalens rank --json` as a user runs it (a fresh process: imports, SQL GROUP BY,
  user-clustered bootstrap, win rates, fragility, storing the run), and with `--cluster none`;
- before: the path `rank` used until now (every vote read into pandas with its metadata, then
  `rank_votes` on the per-vote arrays, vote-level bootstrap), in-process.

    .venv/bin/python benchmarks/ranking_store.py --workspace DIR --setup-only   # fill (slow)
    flock /tmp/arenalens-bench.lock .venv/bin/python benchmarks/ranking_store.py --workspace DIR
        [--votes N] [--users U] [--postgres URL]

A workspace (and PostgreSQL database) that already holds the votes is reused, so the slow setup
can run outside the benchmark lock.
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
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.6, models)
    a = rng.integers(0, models, n)
    b = (a + rng.integers(1, models, n)) % models
    tie = rng.random(n) < 0.10
    win = rng.random(n) < expit(theta[a] - theta[b])
    winner = np.where(tie, "tie", np.where(win, "model_a", "model_b"))
    return {"a": a, "b": b, "winner": winner, "user": rng.integers(0, users, n)}


def fill(store: Store, votes: dict[str, np.ndarray], chunk: int = 50_000) -> None:
    """Bulk insert (setup only): plain executemany in chunks."""
    n = len(votes["a"])
    for start in range(0, n, chunk):
        rows = [
            {
                "id": f"v{k}",
                "model_a": f"model-{votes['a'][k]:03d}",
                "model_b": f"model-{votes['b'][k]:03d}",
                "winner": str(votes["winner"][k]),
                "user_id": f"user-{votes['user'][k]}",
                "language": "en" if k % 3 else "th",
                "extra": {"time_to_first_token_a": 1.0, "time_to_first_token_b": 1.2},
                "content_hash": f"h{k}",
            }
            for k in range(start, min(n, start + chunk))
        ]
        with store.transaction() as conn:
            conn.execute(t.interactions.insert(), rows)


def time_cli(workspace_args: list[str], *extra: str) -> tuple[float, dict]:
    entry = "from arenalens.cli import main; main()"
    command = [sys.executable, "-c", entry, *workspace_args, "rank", "--json", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, json.loads(done.stdout)


def time_before(store: Store, rounds: int) -> float:
    """The previous path: all votes into pandas (with metadata), then per-vote ranking."""
    from ranking.bradley_terry import winner_scores
    from ranking.leaderboard import RankingOptions, rank_votes

    started = time.perf_counter()
    votes = store.votes_frame()
    rank_votes(
        votes["model_a"].to_numpy(),
        votes["model_b"].to_numpy(),
        winner_scores(votes["winner"]),
        RankingOptions(bootstrap_rounds=rounds, cluster="none", fragility=False),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--postgres", help="also measure on this (empty) PostgreSQL database URL")
    parser.add_argument("--skip-before", action="store_true")
    parser.add_argument("--workspace", type=Path, help="keep (or reuse) the workspace here")
    parser.add_argument("--setup-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.workspace or scratch)
        targets = [("sqlite", ["--workspace", tmp])]
        if args.postgres:
            targets.append(("postgresql", ["--workspace", tmp, "--db", args.postgres]))
        for backend, workspace_args in targets:
            url = args.postgres if backend == "postgresql" else Settings(workspace=Path(tmp)).db_url
            store = Store.open(url)
            held = store.count(t.interactions)
            if held != args.votes:
                if held:
                    raise SystemExit(f"{url} holds {held} votes, not {args.votes}; use a new one")
                started = time.perf_counter()
                fill(store, simulate(args.votes, args.models, args.users, 0))
                took = time.perf_counter() - started
                print(f"[{backend}] setup: {args.votes:,} votes stored in {took:.0f} s", flush=True)
            if args.setup_only:
                store.engine.dispose()
                continue
            after, payload = time_cli(workspace_args, "--bootstrap", str(args.rounds))
            print(
                f"[{backend}] after: `arenalens rank --json` end to end {after:.2f} s "
                f"({payload['ci_method']}; {len(payload['ratings'])} models, "
                f"{payload['votes']:,} votes; width ratio {payload['clustering']['width_ratio']:.2f})"
            )
            plain, payload = time_cli(
                workspace_args, "--bootstrap", str(args.rounds), "--cluster", "none"
            )
            print(f"[{backend}] after, --cluster none: {plain:.2f} s ({payload['ci_method']})")
            if not args.skip_before:
                before = time_before(store, args.rounds)
                print(
                    f"[{backend}] before: votes_frame + per-vote rank_votes {before:.2f} s (in-process)"
                )
            store.engine.dispose()
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
