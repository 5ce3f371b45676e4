"""Cold start of the everyday CLI paths: `arenalens --help` and `arenalens status`.

Each figure is a fresh Python process (what a user pays on every command), timed from spawn to
exit; the OS file cache is warm after the first round, as it is for a user. Also lists which of
the heavy libraries the command imported (the goal is none of them for these two paths).

    .venv/bin/python benchmarks/cli_startup.py [--rounds 7] [--entry arenalens.cli]

`status` runs on a fresh SQLite workspace under a temporary folder (opened once before timing,
so the figure is reading status, not creating the schema).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("pandas", "sqlalchemy", "numpy", "sklearn", "scipy", "torch", "umap", "hdbscan",
         "streamlit", "pydantic")  # fmt: skip

PROBE = """
import sys, json
from {entry} import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
heavy = {heavy!r}
sys.stderr.write("\\nIMPORTED " + json.dumps(sorted(h for h in heavy if h in sys.modules)) + "\\n")
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(entry: str, args: list[str], env: dict[str, str]) -> tuple[float, float, list[str]]:
    """Wall and CPU seconds of one cold process running `args`, and the heavy modules it
    imported (CPU seconds hardly depend on how busy the machine is; wall seconds do)."""
    code = PROBE.format(entry=entry, heavy=HEAVY)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    marker = [line for line in done.stderr.splitlines() if line.startswith("IMPORTED ")]
    if done.returncode != 0 or not marker:
        raise SystemExit(f"`arenalens {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, cpu, json.loads(marker[-1].removeprefix("IMPORTED "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--entry", default="arenalens.cli", help="Module holding main().")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ARENALENS_WORKSPACE=str(Path(tmp) / "ws"))
        results = {}
        for label, argv in (("--help", ["--help"]), ("status", ["status"])):
            run_once(args.entry, argv, env)  # warm the file cache; creates the workspace
            times, cpus, imported = [], [], []
            for _ in range(args.rounds):
                elapsed, cpu, imported = run_once(args.entry, argv, env)
                times.append(elapsed)
                cpus.append(cpu)
            results[label] = {
                "median_s": round(statistics.median(times), 3),
                "min_s": round(min(times), 3),
                "median_cpu_s": round(statistics.median(cpus), 3),
                "imported": imported,
            }
    results["python_bare_s"] = round(statistics.median(_bare() for _ in range(args.rounds)), 3)
    results["load_average"] = os.getloadavg()
    print(json.dumps(results, indent=2))


def _bare() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
