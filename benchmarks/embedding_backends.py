"""Embedding backends side by side: throughput, agreement with torch, and taxonomy ARI on SLURP devel.

Run:  python benchmarks/embedding_backends.py [--threads 2] [--repeat 3] [--seeds 0 1 2]

Rows (same texts, same process, same threads): plain sentence-transformers `encode` (the peer),
arenalens' `Embedder` with the torch backend, and with the onnx backend (int8 export of the same
packaged weights; exported first if the cache has none, not timed). Throughput is the best of
`--repeat` passes over SLURP devel's 2,033 queries, no store cache. Agreement: cosine between
the onnx and torch vectors of every query, and the taxonomy fit (`fit_taxonomy`, offline
labeler) on each backend's vectors scored against SLURP's intents (ARI), per seed.
The onnx backend is the default only while: mean cosine >= 0.99 and |ARI difference| <= 0.01.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from arenalens.embeddings import Embedder, default_model_path  # noqa: E402
from arenalens.labeler.embedding import EmbeddingLabeler  # noqa: E402
from taxonomy.categories import load_categories  # noqa: E402
from taxonomy.evaluate import clustering_scores  # noqa: E402
from taxonomy.model import TaxonomyParams, fit_taxonomy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "slurp" / "devel.jsonl"


def timed(encode, texts: list[str], repeat: int) -> dict:
    """Best wall time of `repeat` passes (and its CPU time), as queries per second."""
    best = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = encode(texts)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if best is None or wall < best[0]:
            best = (wall, cpu)
    assert best is not None
    return {
        "wall_s": best[0],
        "cpu_s": best[1],
        "queries_per_s": len(texts) / best[0],
        "vectors": np.asarray(vectors, dtype=np.float32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    rows = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    texts = [row["sentence"] for row in rows]
    intents = np.array([row["intent"] for row in rows], dtype=object)
    load_before = os.getloadavg()

    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)
    torch_embedder = Embedder("default", None, batch_size=args.batch_size, backend="torch")
    onnx_embedder = Embedder("default", None, batch_size=args.batch_size, backend="onnx")
    for encode in (plain.encode, torch_embedder.encode, onnx_embedder.encode):
        encode(texts[:128])  # load (and export) outside the timings
    figures = {
        "sentence-transformers encode (peer)": timed(
            lambda x: plain.encode(x, batch_size=args.batch_size, normalize_embeddings=True),
            texts,
            args.repeat,
        ),
        "arenalens torch backend": timed(
            lambda x: torch_embedder.without_store().encode(x, show_progress=False),
            texts,
            args.repeat,
        ),
        "arenalens onnx backend (int8)": timed(
            lambda x: onnx_embedder.without_store().encode(x, show_progress=False),
            texts,
            args.repeat,
        ),
    }
    reference = figures["arenalens torch backend"]["vectors"]
    onnx_vectors = figures["arenalens onnx backend (int8)"]["vectors"]
    cosine = np.sum(reference * onnx_vectors, axis=1)
    agreement = {
        "cosine_mean": float(cosine.mean()),
        "cosine_p01": float(np.quantile(cosine, 0.01)),
        "cosine_min": float(cosine.min()),
    }
    aris = {"torch": [], "onnx": [], "between": []}
    categories = load_categories()
    for seed in args.seeds:
        labels = {}
        for name, embedder, vectors in (
            ("torch", torch_embedder, reference),
            ("onnx", onnx_embedder, onnx_vectors),
        ):
            result = fit_taxonomy(
                texts, vectors, EmbeddingLabeler(embedder), embedder.encode, categories,
                TaxonomyParams(random_state=seed),
            )  # fmt: skip
            labels[name] = result.assignments["cluster_id"].to_numpy()
            aris[name].append(clustering_scores(labels[name], intents)["ari"])
        aris["between"].append(clustering_scores(labels["onnx"], labels["torch"])["ari"])
    agreement |= {
        "ari_torch": aris["torch"],
        "ari_onnx": aris["onnx"],
        "ari_difference_mean": float(np.mean(aris["onnx"]) - np.mean(aris["torch"])),
        "ari_onnx_vs_torch_clusters": aris["between"],
    }
    agreement["passes"] = bool(
        agreement["cosine_mean"] >= 0.99 and abs(agreement["ari_difference_mean"]) <= 0.01
    )
    print(f"load average before: {load_before}, after: {os.getloadavg()}")
    print(f"{'path':<40} {'queries/s':>10} {'wall s':>8} {'CPU s':>8}")
    for name, row in figures.items():
        print(
            f"{name:<40} {row['queries_per_s']:>10.0f} {row['wall_s']:>8.2f} {row['cpu_s']:>8.2f}"
        )
    print(json.dumps(agreement, indent=2))
    if args.json:
        out = {
            "load_before": load_before, "load_after": os.getloadavg(), "threads": args.threads,
            "n_texts": len(texts), "agreement": agreement,
            "throughput": {k: {m: v for m, v in r.items() if m != "vectors"} for k, r in figures.items()},
        }  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
