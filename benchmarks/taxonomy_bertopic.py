"""Our taxonomy pipeline vs BERTopic's defaults on the same embeddings of SLURP devel.

Run:  .venv/bin/python benchmarks/taxonomy_bertopic.py [--seeds 0 1 2] [--data PATH]

Both get identical precomputed all-MiniLM-L6-v2 embeddings (not timed). Numba's one-time JIT
compile is paid by a warm-up fit before any timing. BERTopic runs with its default components
(UMAP 15 neighbours / 5 dims / cosine, HDBSCAN min_cluster_size 10, CountVectorizer + c-TF-IDF),
except that its UMAP gets `random_state=seed` so each seed is reproducible (as ours is).
ARI/NMI are against SLURP `intent`, with each pipeline's outliers counted as one group.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from arenalens.embeddings import Embedder  # noqa: E402
from arenalens.labeler.embedding import EmbeddingLabeler  # noqa: E402
from taxonomy.categories import load_categories  # noqa: E402
from taxonomy.describe import class_tfidf_keywords  # noqa: E402
from taxonomy.evaluate import clustering_scores  # noqa: E402
from taxonomy.model import TaxonomyParams, fit_taxonomy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "slurp" / "devel.jsonl"


def run_bertopic(
    texts: list[str], embeddings: np.ndarray, seed: int, embedding_model
) -> tuple[np.ndarray, float]:
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(
        n_neighbors=15,
        n_components=5,
        min_dist=0.0,
        metric="cosine",
        low_memory=False,
        random_state=seed,
    )
    model = BERTopic(embedding_model=embedding_model, umap_model=umap_model)
    start = time.perf_counter()
    topics, _ = model.fit_transform(texts, embeddings)
    return np.asarray(topics), time.perf_counter() - start


def run_ours(
    texts, embeddings, seed, labeler, encode, categories
) -> tuple[np.ndarray, float, dict]:
    start = time.perf_counter()
    result = fit_taxonomy(
        texts, embeddings, labeler, encode, categories, TaxonomyParams(random_state=seed)
    )
    elapsed = time.perf_counter() - start
    labels = result.assignments["cluster_id"].to_numpy()
    start = time.perf_counter()
    class_tfidf_keywords(texts, labels)  # BERTopic's scope: clustering + c-TF-IDF keywords
    return labels, elapsed, {**result.timings, "ctfidf_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    rows = [
        json.loads(line)
        for line in args.data.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    texts = [r["sentence"] for r in rows]
    intents = np.array([r["intent"] for r in rows])
    embedder = Embedder("default", None)
    embeddings = embedder.encode(texts, show_progress=False)
    memory = dict(zip(texts, embeddings, strict=True))

    def encode(batch: list[str]) -> np.ndarray:  # in-memory cache, as the store cache would be
        missing = [t for t in dict.fromkeys(batch) if t not in memory]
        if missing:
            memory.update(zip(missing, embedder.encode(missing, show_progress=False), strict=True))
        return np.stack([memory[t] for t in batch])

    from sentence_transformers import SentenceTransformer

    st_model = SentenceTransformer(embedder.model_path, device="cpu")
    categories = load_categories()
    labeler = EmbeddingLabeler(embedder)
    # warm-up: numba JIT for UMAP/pynndescent/HDBSCAN, and the labeler's own caches
    run_ours(texts[:300], embeddings[:300], 99, labeler, encode, categories)
    run_bertopic(texts[:300], embeddings[:300], 99, st_model)

    results = {"ours": [], "bertopic": []}
    for seed in args.seeds:
        labels, elapsed = run_bertopic(texts, embeddings, seed, st_model)
        results["bertopic"].append(
            {"seed": seed, "fit_s": elapsed, **clustering_scores(labels, intents)}
        )
        labels, elapsed, timings = run_ours(texts, embeddings, seed, labeler, encode, categories)
        core = sum(
            timings[k]
            for k in ("knn_s", "umap_cluster_s", "hdbscan_s", "umap_map_s", "assign_s", "ctfidf_s")
        )
        results["ours"].append(
            {"seed": seed, "fit_s": elapsed, "core_s": core, "timings": timings}
            | clustering_scores(labels, intents)
        )
        print(
            f"seed {seed}: bertopic ARI {results['bertopic'][-1]['ari']:.3f} in {results['bertopic'][-1]['fit_s']:.1f}s"
            f" | ours ARI {results['ours'][-1]['ari']:.3f} in {elapsed:.1f}s (BERTopic's scope {core:.1f}s)",
            flush=True,
        )

    print(
        f"\nSLURP devel ({len(texts)} queries, {len(set(intents))} intents), seeds {args.seeds}, mean ± sd"
    )
    print(f"{'pipeline':<10} {'fit s':>12} {'ARI':>14} {'NMI':>14} {'clusters':>9} {'outliers':>9}")
    for name, runs in results.items():

        def ms(key: str, runs=runs) -> str:
            values = [r[key] for r in runs]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.mean(values):.3f} ± {sd:.3f}"

        fit = statistics.mean(r["fit_s"] for r in runs)
        clusters = statistics.mean(r["n_clusters"] for r in runs)
        outliers = statistics.mean(r["outlier_share"] for r in runs)
        print(
            f"{name:<10} {fit:>12.1f} {ms('ari'):>14} {ms('nmi'):>14} {clusters:>9.1f} {outliers:>9.1%}"
        )
    core = statistics.mean(r["core_s"] for r in results["ours"])
    print(
        f"ours in BERTopic's scope (reduce, cluster, reassign, 2-D map, c-TF-IDF keywords): {core:.1f} s;"
        " ours' full fit adds contrastive naming (offline labeler), hierarchy, categories, modality"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
