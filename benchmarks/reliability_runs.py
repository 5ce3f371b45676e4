"""Reliability probes of the run lifecycle: kill -9 during `code` and `code --recode`, and
readers during a long ingest. Prints one JSON object of counts (docs/RELIABILITY.md has them).

    python benchmarks/reliability_runs.py [--db URL] [--kills 8] [--ingest-rows 300000]

The "LLM" is the loopback fault server of the test suite (every call answers after a delay),
so kills land between and during calls; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "labeler"))  # the loopback fault server

from fault_server import FaultServer  # noqa: E402

from arenalens.app.demo import load_sample_arena  # noqa: E402
from arenalens.store import Store  # noqa: E402
from coding import persist  # noqa: E402
from coding.codebook import load_codebook  # noqa: E402

ARENALENS = [sys.executable, "-c", "from arenalens.cli import main; main()"]
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _cli(workspace: Path, db: str, *args: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen(
        [*ARENALENS, "--workspace", str(workspace), "--db", db, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        **popen,  # type: ignore[arg-type]
    )


def _code_args(server: FaultServer, model: str, *extra: str) -> list[str]:
    return [
        "--labeler", "llm", "--llm-base-url", server.base_url, "--llm-model", model,
        "code", "--batch-size", "16", *extra,
    ]  # fmt: skip


def _status(workspace: Path, db: str) -> dict:
    out, err = _cli(workspace, db, "status", "--json").communicate(timeout=300)
    return json.loads(out)


def _kill_after_calls(process: subprocess.Popen, server: FaultServer, calls: int) -> None:
    """SIGKILL `process` once the LLM has received `calls` more requests (or it exited)."""
    target = len(server.requests) + calls
    while len(server.requests) < target and process.poll() is None:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)


def kill_probe(workspace: Path, db: str, kills: int, rng: random.Random) -> dict:
    """Kill `code` (and then `code --recode`) with SIGKILL at random moments; check what is left."""
    store = Store.open(db)
    version = load_codebook().version_key
    total = len(store.feedback_frame())
    found = {"kills": 0, "abandoned_seen_by_status": 0, "published_lost": 0}
    reply = json.dumps(
        {
            "labels": [
                {
                    "name": "other",
                    "evidence": "e",
                    "confidence": 0.9,
                    "side": "unclear",
                    "polarity": "negative",
                }
            ]
        }
    )
    with FaultServer([("ok", reply)]) as server:
        for _ in range(kills):
            before = persist.coded_feedback_ids(store, version)
            process = _cli(workspace, db, *_code_args(server, "probe-a"))
            _kill_after_calls(process, server, rng.randint(10, 150))
            process.wait()
            found["kills"] += 1
            unfinished = _status(workspace, db)["unfinished_runs"]
            found["abandoned_seen_by_status"] += any(
                r["status"] == "abandoned" and r["pid"] == process.pid for r in unfinished
            )
            found["published_lost"] += len(before - persist.coded_feedback_ids(store, version))
        calls_before_finish = len(server.requests)
        out, err = _cli(workspace, db, *_code_args(server, "probe-a"), "--json").communicate()
        if not out.strip():
            raise SystemExit(f"the finishing run failed: {err.strip()[-2000:]}")
        summary = json.loads(out)
        found["items"] = total
        found["published_after_finish"] = len(persist.coded_feedback_ids(store, version))
        found["llm_calls"] = len(server.requests)
        found["llm_calls_repeated"] = len(server.requests) - total  # calls in flight at a kill
        found["finishing_run_calls"] = len(server.requests) - calls_before_finish
        found["finishing_run_coded_now"] = summary["coded_now"]

        codes_before = persist.codes_frame(store, version).drop(columns=["id"])
        items_before = persist.items_frame(store, version)
        recode_kills = 0
        for _ in range(max(1, kills // 2)):
            process = _cli(workspace, db, *_code_args(server, "probe-b"), "--recode")
            _kill_after_calls(process, server, rng.randint(50, 500))
            process.wait()
            recode_kills += 1
        codes_after = persist.codes_frame(store, version).drop(columns=["id"])
        found["recode_kills"] = recode_kills
        found["codes_unchanged_after_recode_kills"] = bool(
            codes_before.reset_index(drop=True).equals(codes_after.reset_index(drop=True))
            and items_before.equals(persist.items_frame(store, version))
        )
        found["codes"] = len(codes_after)
    store.engine.dispose()
    return found


def _votes(path: Path, rows: int, prefix: str) -> Path:
    rng = random.Random(prefix)
    models = [f"model-{i}" for i in range(6)]
    with path.open("w") as out:
        for i in range(rows):
            a, b = rng.sample(models, 2)
            vote = {"id": f"{prefix}{i}", "query_text": f"q {i}", "model_a": a, "model_b": b}
            winner = rng.choice(["model_a", "model_b", "tie"])
            out.write(json.dumps({**vote, "winner": winner}) + "\n")
    return path


def readers_probe(workspace: Path, rows: int) -> dict:
    """`status --json` in a loop and one `rank` while a `rows`-row ingest runs (SQLite)."""
    db = f"sqlite:///{workspace / 'arenalens.sqlite'}"
    small = _votes(workspace / "small.jsonl", 2000, "small")
    _cli(workspace, db, "ingest", str(small)).communicate(timeout=600)
    big = _votes(workspace / "big.jsonl", rows, "big")
    started = time.monotonic()
    ingest = _cli(workspace, db, "ingest", str(big))
    ok = failed = 0
    slowest = 0.0
    rank = None
    while ingest.poll() is None:
        t0 = time.monotonic()
        status = _cli(workspace, db, "status", "--json")
        out, err = status.communicate(timeout=600)
        slowest = max(slowest, time.monotonic() - t0)
        ok, failed = (ok + 1, failed) if status.returncode == 0 else (ok, failed + 1)
        if rank is None:
            rank = _cli(workspace, db, "rank", "--json", "--bootstrap", "50")
    ingest_s = time.monotonic() - started
    t0 = time.monotonic()
    _cli(workspace, db, "status", "--json").communicate(timeout=600)
    alone = time.monotonic() - t0
    rank_out, rank_err = rank.communicate(timeout=900) if rank else ("", "")
    return {
        "ingest_rows": rows,
        "ingest_s": round(ingest_s, 1),
        "ingest_ok": ingest.returncode == 0,
        "status_calls_during_ingest": ok + failed,
        "status_failed": failed,
        "status_slowest_s": round(slowest, 2),
        "status_alone_after_s": round(alone, 2),
        "rank_ok": bool(rank and rank.returncode == 0),
        "rank_error": rank_err.strip().splitlines()[-1] if rank and rank.returncode else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary workspace)")
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--ingest-rows", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp)
        db = args.db or f"sqlite:///{workspace / 'arenalens.sqlite'}"
        store = Store.open(db)
        load_sample_arena(store, with_audio=False)
        store.engine.dispose()
        result = {"db": db.split(":", 1)[0], "kill": kill_probe(workspace, db, args.kills, rng)}
        if args.ingest_rows:
            readers = Path(tmp) / "readers"
            readers.mkdir()
            result["readers"] = readers_probe(readers, args.ingest_rows)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
