"""Load on the rater app's serving path: N simulated raters vote as fast as they can for a
while, in one or two server processes sharing one database, on SQLite or PostgreSQL.

    flock /tmp/arenalens-bench.lock python benchmarks/arena_load.py --db sqlite --servers 1
    python benchmarks/arena_load.py --db postgresql --servers 2 --raters 20 --seconds 120

Each rater is a thread in a server process doing what one rater's page does between two clicks
in `arena/app.py`: `cast_vote` on the pair it holds, then `current_pair` for the next one (the
Streamlit page render around them is not included; no browser). Zero think time, so this is
the worst case, far above real raters. Afterwards it checks from the database: every vote that
was accepted is stored exactly once, no pair served beyond its quota, no rater given a pair
twice. PostgreSQL uses ARENALENS_BENCH_POSTGRES_URL or ARENALENS_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

CAMPAIGN = "load"


def make_pairs(count: int, seed: int = 0) -> pd.DataFrame:
    """`count` blind pairs among 8 systems with short texts."""
    from arena.pairs import PAIR_COLUMNS

    rng = np.random.default_rng(seed)
    systems = [f"system-{k}" for k in range(8)]
    rows = []
    for k in range(count):
        a, b = rng.choice(len(systems), 2, replace=False)
        rows.append(
            {
                "pair_id": f"pair-{k:05d}",
                "query_text": f"question {k}",
                "model_a": systems[a],
                "model_b": systems[b],
                "response_a": f"first answer to {k}",
                "response_b": f"second answer to {k}",
                "attention": False,
            }
        )
    return pd.DataFrame(rows).reindex(columns=PAIR_COLUMNS)


def _rater(
    url: str, workspace: str, name: str, seconds: float, out: list[dict[str, Any]], seed: int
) -> None:
    from arena import persist
    from arenalens.store import Store

    store = Store.open(url)
    until = time.monotonic() + seconds
    spec = persist.campaign(store, CAMPAIGN)
    rng = np.random.default_rng(seed)
    choices = ["a", "b", "tie", "both_bad"]
    stats: dict[str, Any] = {"rater": name, "accepted": 0, "errors": [], "next_s": []}
    stats["start"] = time.time()
    pair = persist.current_pair(store, CAMPAIGN, name, rng)
    while pair is not None and time.monotonic() < until:
        started = time.perf_counter()
        try:
            if persist.cast_vote(
                store, spec, name, pair, choices[int(rng.integers(4))], workspace=Path(workspace)
            ):
                stats["accepted"] += 1
            pair = persist.current_pair(store, CAMPAIGN, name, rng)
        except Exception as exc:  # counted: the run must show none
            stats["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
            break
        stats["next_s"].append(time.perf_counter() - started)
    stats["end"] = time.time()
    out.append(stats)
    store.engine.dispose()


def _server(url: str, workspace: str, names: list[str], seconds: float, queue: Any) -> None:
    """One server process: a thread per rater it serves."""
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=_rater, args=(url, workspace, name, seconds, results, k))
        for k, name in enumerate(names)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put(results)


def _postgres_database(base: str) -> str:
    name = f"arenalens_arena_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, not user input
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_postgres(base: str, url: str) -> None:
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")  # fmt: skip
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def run_load(
    db: str, servers: int, raters: int, seconds: float, pairs: int, per_pair: int
) -> dict[str, Any]:
    """Run the load and check the database; returns the figures and the checks."""
    from arena import persist
    from arenalens.store import Store

    workspace = tempfile.mkdtemp(prefix="arena-load-")
    base = os.environ.get("ARENALENS_BENCH_POSTGRES_URL") or os.environ.get(
        "ARENALENS_TEST_POSTGRES_URL"
    )
    if db == "postgresql":
        if not base:
            raise SystemExit("set ARENALENS_BENCH_POSTGRES_URL to a PostgreSQL server")
        url = _postgres_database(base)
    else:
        url = f"sqlite:///{workspace}/arenalens.sqlite"
    try:
        store = Store.open(url)
        persist.create_campaign(
            store, CAMPAIGN, "replay", raters_per_pair=per_pair, votes_per_minute=100_000
        )
        persist.add_pairs(store, CAMPAIGN, make_pairs(pairs))
        names = [f"rater-{k:02d}" for k in range(raters)]
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(
                target=_server, args=(url, workspace, names[k::servers], seconds, queue)
            )
            for k in range(servers)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        results = []
        for _ in processes:  # a server process that dies is an error, not a hang
            results += queue.get(timeout=seconds + 300)
        for process in processes:
            process.join(timeout=60)
        wall = time.perf_counter() - started
        voting_s = max(r["end"] for r in results) - min(r["start"] for r in results)
        accepted = sum(r["accepted"] for r in results)
        errors = [e for r in results for e in r["errors"]]
        waits = np.array([s for r in results for s in r["next_s"]])
        frame = store.interactions_frame(["id", "user_id", "extra"])
        votes = frame[frame["id"].str.startswith("arena_")]
        keys = votes["user_id"] + "|" + votes["extra"].map(lambda e: e["arena_pair"])
        rows = persist.pair_rows(store, CAMPAIGN)
        voted = persist.assignments(store, CAMPAIGN)
        voted = voted[voted["voted_at"].notna()]
        store.engine.dispose()
    finally:
        if db == "postgresql":
            _drop_postgres(base, url)
    return {
        "db": db,
        "servers": servers,
        "raters": raters,
        "seconds": seconds,
        "pairs": pairs,
        "raters_per_pair": per_pair,
        "wall_s": round(wall, 1),
        "votes_accepted": accepted,
        "votes_stored": len(votes),
        "voting_s": round(voting_s, 1),
        "votes_per_s": round(accepted / max(voting_s, 1e-9), 1),
        "errors": errors[:5],
        "error_count": len(errors),
        "stored_exactly_once": len(votes) == accepted == len(voted) and keys.is_unique,
        "over_quota_pairs": int((rows["served"] > rows["quota"]).sum()),
        "pairs_used_up": int((rows["served"] == rows["quota"]).sum()),
        "next_pair_p50_ms": round(float(np.percentile(waits, 50)) * 1000, 1)
        if len(waits)
        else None,
        "next_pair_p95_ms": round(float(np.percentile(waits, 95)) * 1000, 1)
        if len(waits)
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--raters-per-pair", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="Also write the result here.")
    args = parser.parse_args()
    result = run_load(
        args.db, args.servers, args.raters, args.seconds, args.pairs, args.raters_per_pair
    )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
