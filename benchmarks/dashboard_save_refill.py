"""What an annotation save costs the dashboard's caches: the seconds to refill every page's
loaders (the start-up prefetch) after one save, now that loaders are keyed on the tables they
read, against dropping every cache on a save (what the dashboard did before).

Usage:
    python benchmarks/dashboard_save_refill.py --workspace WORKSPACE [--saves 3]

WORKSPACE is one where `arenalens demo` ran (or `benchmarks/dashboard_render.py --scaled DIR`
built); it is copied first, so the saves never touch it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path


def refill_seconds(workspace: Path, saves: int) -> dict[str, float]:
    from dashboard import writes
    from dashboard.loaders import cache, coding
    from dashboard.prefetch import prefetch

    app = cache.context_for(str(workspace), None)

    def warm() -> float:
        with contextlib.redirect_stderr(io.StringIO()):  # prefetch's "caches warmed" line
            started = time.perf_counter()
            prefetch(app)
            return time.perf_counter() - started

    out = {"cold_s": warm(), "warm_s": warm()}
    queue = coding.annotation_queue(app, None)
    items = list(coding.coded_items(app)["feedback_id"].iloc[: 2 * saves])
    code = coding.codebook(app).code_names[0]
    save_s, selective, everything = [], [], []
    for index in range(saves):
        started = time.perf_counter()
        writes.save_annotation(app, queue, "benchmark", items[2 * index], {code: True})
        save_s.append(time.perf_counter() - started)
        selective.append(warm())
        writes.save_annotation(app, queue, "benchmark", items[2 * index + 1], {code: True})
        cache.invalidate()  # the old behaviour: every cached frame dropped
        everything.append(warm())
    out["save_s"] = statistics.median(save_s)
    out["refill_after_save_s"] = statistics.median(selective)
    out["refill_after_save_every_cache_dropped_s"] = statistics.median(everything)
    return {key: round(value, 3) for key, value in out.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--saves", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # Streamlit's "no runtime" notes outside `streamlit run`
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "workspace"
        shutil.copytree(args.workspace, copy)
        print(json.dumps(refill_seconds(copy, args.saves), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
