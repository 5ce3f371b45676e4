"""Ingest speed: votes with ids as CSV and Parquet into SQLite and PostgreSQL, then a re-ingest.

    flock /tmp/arenalens-bench.lock python benchmarks/ingest_speed.py --rows 100000 600000 \
        --readers auto child here --repeat 3 \
        --json ingest_speed.json

PostgreSQL runs when ARENALENS_BENCH_POSTGRES_URL (or ARENALENS_TEST_POSTGRES_URL) names a
server (`scripts/postgres.sh start` prints one); each measurement gets a fresh database.
Every figure is wall time of `ingest_interactions` in this process (no CLI start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

from arenalens.ingest import ingest_interactions, pipeline
from arenalens.store import Store

DEFAULT_BACKGROUND_MIN_ROWS = pipeline.BACKGROUND_MIN_ROWS
MODELS = [f"model-{k:02d}" for k in range(20)]


def votes_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` votes with ids, timestamps, users and languages, like an arena's export."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(MODELS), rows)
    b = (a + rng.integers(1, len(MODELS), rows)) % len(MODELS)
    stamps = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 180 * 86400, rows), unit="s"
    )
    return pd.DataFrame(
        {
            "id": [f"vote-{k:08d}" for k in range(rows)],
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user_id": [f"user-{k}" for k in rng.integers(0, rows // 5 + 1, rows)],
            "language": rng.choice(["en", "th", "es", "de"], rows),
            "model_a": np.array(MODELS)[a],
            "model_b": np.array(MODELS)[b],
            "winner": rng.choice(["model_a", "model_b", "tie"], rows, p=[0.4, 0.4, 0.2]),
        }
    )


def fresh_postgres(base: str) -> str:
    name = f"arenalens_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, not user input
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def drop_postgres(base: str, url: str) -> None:
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
    admin.dispose()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(url: str, path: Path, rows: int, reingest: bool, reader: str) -> dict[str, Any]:
    store = Store.open(url)
    # auto: files of 200k rows or more are read in a forked child (the default); child: every
    # file; here: none
    pipeline.BACKGROUND_MIN_ROWS = {"auto": DEFAULT_BACKGROUND_MIN_ROWS, "child": 0}.get(
        reader, 1 << 62
    )
    start, cpu, child = time.perf_counter(), time.process_time(), children_cpu()
    report = ingest_interactions(store, path, progress=False)
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    child_cpu = children_cpu() - child
    assert report.interactions_added == rows, report
    figures: dict[str, Any] = {
        "reader": reader,
        "seconds": round(first, 2),
        "rows_per_s": round(rows / first),
        "cpu_s": round(first_cpu, 2),  # this process only (PostgreSQL's server work is not in it)
        "child_cpu_s": round(child_cpu, 2),  # the reader child's
        "rows_per_cpu_s": round(rows / (first_cpu + child_cpu)),
        "bulk": getattr(report, "bulk", False),
    }
    if reingest:
        start = time.perf_counter()
        again = ingest_interactions(store, path, progress=False)
        figures["reingest_s"] = round(time.perf_counter() - start, 3)
        assert again.interactions_added == 0, again
    store.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--readers",
        nargs="+",
        default=["auto"],
        choices=["auto", "child", "here"],
        help="auto: files of 200k rows or more are read in a forked child (the default); "
        "child: every file; here: none",
    )
    parser.add_argument(
        "--no-reingest", action="store_true", help="skip timing a second ingest of each file"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="ingest each file this many times, a fresh store each"
    )
    args = parser.parse_args()
    pg_base = os.environ.get("ARENALENS_BENCH_POSTGRES_URL") or os.environ.get(
        "ARENALENS_TEST_POSTGRES_URL"
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rows in args.rows:
            frame = votes_frame(rows)
            files = {"csv": folder / f"votes{rows}.csv", "parquet": folder / f"votes{rows}.parquet"}
            frame.to_csv(files["csv"], index=False)
            frame.to_parquet(files["parquet"], index=False)
            for fmt, reader in ((f, r) for f in args.formats for r in args.readers):
                for backend in args.backends:
                    if backend == "postgresql" and not pg_base:
                        print("skipping postgresql: ARENALENS_BENCH_POSTGRES_URL not set")
                        continue
                    runs = []
                    for _ in range(args.repeat):
                        url = (
                            fresh_postgres(pg_base)
                            if backend == "postgresql"
                            else f"sqlite:///{folder / f'{uuid.uuid4().hex}.sqlite'}"
                        )
                        try:
                            runs.append(
                                measure(url, files[fmt], rows, not args.no_reingest, reader)
                            )
                        finally:
                            if backend == "postgresql":
                                drop_postgres(pg_base, url)
                    figures = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
                    if len(runs) > 1:  # the median run, with the range of all
                        figures["rows_per_s_range"] = [min(r["rows_per_s"] for r in runs),
                                                       max(r["rows_per_s"] for r in runs)]  # fmt: skip
                    result = {"rows": rows, "format": fmt, "backend": backend, **figures}
                    print(json.dumps(result), flush=True)
                    results.append(result)
    load = os.getloadavg()
    summary = {"results": results, "load_avg_1_5_15": [round(x, 2) for x in load]}
    print(json.dumps({"load_avg_1_5_15": summary["load_avg_1_5_15"]}))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
