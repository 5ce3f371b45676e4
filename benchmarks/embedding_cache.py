"""Embedding cache speed: write and read N cached vectors, and real MiniLM encoding throughput.

    python benchmarks/embedding_cache.py                      # SQLite, 100,000 texts
    python benchmarks/embedding_cache.py --db postgresql://postgres@127.0.0.1:54329/bench
    python benchmarks/embedding_cache.py --n 20000 --model-texts 500

The cache phases use a stand-in model (random unit vectors, 384 dims) so they time the store
and not the network; the last phase encodes `--model-texts` texts with the real default model.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from arenalens.embeddings import Embedder
from arenalens.store import Store


class RandomModel:
    """Random unit vectors: a stand-in that costs almost nothing to run."""

    def get_sentence_embedding_dimension(self) -> int:
        return 384

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        rows = np.random.default_rng(len(texts)).normal(size=(len(texts), 384)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--model-texts", type=int, default=1000)
    parser.add_argument(
        "--db", default=None, help="SQLAlchemy URL (default: a temporary SQLite file)"
    )
    args = parser.parse_args()

    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    store = Store.open(url)
    texts = [
        f"benchmark query {i}: what is the weather like in city {i % 977}" for i in range(args.n)
    ]
    tag = f"bench-{time.time_ns()}"

    writer = Embedder(tag, store)
    writer._model = RandomModel()
    start = time.perf_counter()
    writer.encode(texts, show_progress=False)
    write_s = time.perf_counter() - start

    reader = Embedder(tag, store)
    start = time.perf_counter()
    vectors = reader.encode(texts, show_progress=False)
    read_s = time.perf_counter() - start
    assert reader.encoded_count == 0 and vectors.shape == (args.n, 384)

    real = Embedder("default", store)
    real.encode(["warm-up"], show_progress=False)  # model load is not part of throughput
    sample = [f"{t} (real)" for t in texts[: args.model_texts]]
    start = time.perf_counter()
    real.encode(sample, show_progress=False)
    model_s = time.perf_counter() - start

    print(f"store: {store.dialect}")
    print(
        f"cache write (encode {args.n:,} new texts, stand-in model): {write_s:.1f} s ({args.n / write_s:,.0f} texts/s)"
    )
    print(
        f"cache read  (rerun, {args.n:,} texts, 0 encoded): {read_s:.1f} s ({args.n / read_s:,.0f} texts/s)"
    )
    print(
        f"all-MiniLM-L6-v2 on CPU ({args.model_texts:,} texts, batch 64): {model_s:.1f} s ({args.model_texts / model_s:,.0f} texts/s)"
    )
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
