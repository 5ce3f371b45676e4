"""Load on the rater app's serving path: N simulated raters vote as fast as they can for a
while, in one or two server processes sharing one database, on SQLite or PostgreSQL.

    flock /tmp/arenalens-bench.lock python benchmarks/arena_load.py --db sqlite --servers 1
    python benchmarks/arena_load.py --db postgresql --servers 2 --raters 20 --seconds 120

Each rater is a thread in a server process doing what one rater's page does between two clicks
in `arena/app.py`: `cast_vote` on the pair it holds, then `current_pair` for the next one (the
Streamlit page render around them is not included; no browser). Zero think time, so this is
the worst case, far above real raters. With `--abandon-every K`, every K-th pair a rater is
given is left unvoted (the person closes the tab; the thread goes on as a new person), and the
campaign's expiry (`--expire-s`) gives those slots back. Afterwards it checks from the
database: every vote that was accepted is stored exactly once, no pair served or voted beyond
its quota, each pair's count of raters equals the raters holding or having voted it, no rater
given a pair twice (expired ones included), and left pairs were served again.
PostgreSQL uses ARENALENS_BENCH_POSTGRES_URL or ARENALENS_TEST_POSTGRES_URL.
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
    url: str,
    workspace: str,
    name: str,
    seconds: float,
    out: list[dict[str, Any]],
    seed: int,
    abandon_every: int = 0,
) -> None:
    from arena import persist, serving
    from arenalens.store import Store

    store = Store.open(url)
    until = time.monotonic() + seconds
    spec = persist.campaign(store, CAMPAIGN)
    rng = np.random.default_rng(seed)
    choices = ["a", "b", "tie", "both_bad"]
    stats: dict[str, Any] = {"rater": name, "accepted": 0, "errors": [], "next_s": []}
    stats["start"] = time.time()
    person, given, left = name, 1, 0
    pair = serving.current_pair(store, CAMPAIGN, person, rng)
    while time.monotonic() < until:
        if pair is None:  # nothing open to this person now
            if not abandon_every:
                break
            time.sleep(0.25)  # left pairs come back after the expiry: look again, as a reload
            pair = serving.current_pair(store, CAMPAIGN, person, rng)
            continue
        started = time.perf_counter()
        try:
            if abandon_every and given % abandon_every == 0:
                left += 1  # this person closes the tab; the next one comes along
                person = f"{name}~{left}"
            elif serving.cast_vote(
                store, spec, person, pair, choices[int(rng.integers(4))], workspace=Path(workspace)
            ):
                stats["accepted"] += 1
            pair = serving.current_pair(store, CAMPAIGN, person, rng)
            given += 1
        except Exception as exc:  # counted: the run must show none
            stats["errors"].append(f"{type(exc).__name__}: {exc}"[:200])
            break
        stats["next_s"].append(time.perf_counter() - started)
    stats["left"] = left
    stats["end"] = time.time()
    out.append(stats)
    store.engine.dispose()


def _server(
    url: str, workspace: str, names: list[str], seconds: float, queue: Any, abandon_every: int
) -> None:
    """One server process: a thread per rater it serves."""
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=_rater, args=(url, workspace, name, seconds, results, k, abandon_every)
        )
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
    db: str,
    servers: int,
    raters: int,
    seconds: float,
    pairs: int,
    per_pair: int,
    abandon_every: int = 0,
    expire_s: float = 1800.0,
) -> dict[str, Any]:
    """Run the load and check the database; returns the figures and the checks."""
    from arena import persist
    from arena.tables import arena_expired
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
            store,
            CAMPAIGN,
            "replay",
            raters_per_pair=per_pair,
            votes_per_minute=100_000,
            expire_after_minutes=expire_s / 60,
        )
        persist.add_pairs(store, CAMPAIGN, make_pairs(pairs))
        names = [f"rater-{k:02d}" for k in range(raters)]
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        processes = [
            context.Process(
                target=_server,
                args=(url, workspace, names[k::servers], seconds, queue, abandon_every),
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
        rows = persist.pair_rows(store, CAMPAIGN).set_index("pair_id")
        given = persist.assignments(store, CAMPAIGN)
        voted = given[given["voted_at"].notna()]
        expired = store.read_table(arena_expired)
        store.engine.dispose()
        holders = given.groupby("pair_id").size().reindex(rows.index, fill_value=0)
        votes_per_pair = voted.groupby("pair_id").size().reindex(rows.index, fill_value=0)
        ever_given = pd.concat([given[["rater", "pair_id"]], expired[["rater", "pair_id"]]])
        left_pairs = set(expired["pair_id"])
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
        "over_quota_pairs": int(
            ((rows["served"] > rows["quota"]) | (votes_per_pair > rows["quota"])).sum()
        ),
        "served_matches_holders": bool((rows["served"] == holders).all()),
        "given_twice": int(ever_given.duplicated().sum()),
        "left_unvoted": sum(r["left"] for r in results),
        "expired": len(expired),
        "left_pairs_voted_later": len(left_pairs & set(voted["pair_id"])),
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
    parser.add_argument(
        "--abandon-every", type=int, default=0, help="Leave every K-th pair unvoted (0: never)."
    )
    parser.add_argument(
        "--expire-s", type=float, default=1800.0, help="The campaign's expiry of unvoted pairs."
    )
    parser.add_argument("--json", type=Path, default=None, help="Also write the result here.")
    args = parser.parse_args()
    result = run_load(
        args.db,
        args.servers,
        args.raters,
        args.seconds,
        args.pairs,
        args.raters_per_pair,
        args.abandon_every,
        args.expire_s,
    )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
