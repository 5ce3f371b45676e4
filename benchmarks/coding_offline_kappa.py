"""Machine-vs-truth agreement of the offline (embedding) coder on the synthetic sample arena.

Truth = the generator's `gold_codes` (and `gold_code_targets` for side/polarity).
Run: .venv/bin/python benchmarks/coding_offline_kappa.py [--workspace DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pandas as pd  # noqa: E402

from arenalens.app.demo import load_sample_arena  # noqa: E402
from arenalens.config import Settings  # noqa: E402
from arenalens.context import AppContext  # noqa: E402
from coding import persist  # noqa: E402
from coding.codebook import load_codebook  # noqa: E402
from coding.coder import code_feedback  # noqa: E402
from coding.evaluation import gold_agreement  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--workspace", type=Path, help="reuse a workspace (default: a temporary one)"
    )
    args = parser.parse_args()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="coding-kappa-"))
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    load_sample_arena(app.store, with_audio=False)
    codebook = load_codebook()
    started = time.perf_counter()
    summary = code_feedback(app.store, app.labeler, codebook)
    elapsed = time.perf_counter() - started
    print(summary.line())
    print(f"coding time: {elapsed:.1f}s for {summary.coded_now} items")
    report = gold_agreement(app.store, codebook)
    with pd.option_context("display.width", 160):
        print(report.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    items = persist.items_frame(app.store, codebook.version_key)
    print(f"items: {len(items)}; evidence rejected: {sum(len(r) for r in items['rejected'])}")


if __name__ == "__main__":
    main()
