"""Taxonomy at scale: N queries (SLURP sentences with seeded perturbations) end to end on this machine.

Run:  .venv/bin/python benchmarks/taxonomy_scale.py [--n 100000] [--backend onnx|torch] [--threads 2]

Stages: ingest into a fresh SQLite workspace, embed (store-cached Embedder, as `arenalens` does),
then `build_taxonomy` (fits on a 20,000-query sample by default and assigns the rest by nearest
centroid; the 2-D map places the rest by neighbour interpolation), persistence included.
Reports wall time by stage, the process's CPU time, the load average around the run (the
machine is shared) and the process's peak resident memory. `--backend torch` is the embedding
path as it was before the onnx backend (sentence-transformers), for before/after rows.
`--bertopic` then fits BERTopic's defaults (the peer; needs the `bench` extra) on all N queries
with the same vectors (read back from the store cache, not timed), in the same process, and
scores both against SLURP's intents (ARI/NMI, outliers as one group).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402

from arenalens.embeddings import Embedder  # noqa: E402
from arenalens.labeler.embedding import EmbeddingLabeler  # noqa: E402
from arenalens.store import Store  # noqa: E402
from arenalens.store import tables as t  # noqa: E402
from taxonomy.categories import load_categories  # noqa: E402
from taxonomy.model import TaxonomyParams  # noqa: E402
from taxonomy.pipeline import build_taxonomy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "slurp" / "devel.jsonl"
PREFIXES = [
    "",
    "",
    "",
    "",
    "hey ",
    "ok ",
    "please ",
    "can you ",
    "hi there ",
    "um ",
    "so ",
    "quick question ",
]
SUFFIXES = ["", "", "", "", " please", " thanks", " now", " for me", " right now", " again", " ok"]


def perturb(sentence: str, rng: np.random.Generator) -> str:
    """A seeded variant: filler prefix/suffix, a dropped, repeated or swapped word, a typo."""
    words = sentence.split()
    if len(words) > 3 and rng.random() < 0.3:
        del words[rng.integers(len(words))]
    if len(words) > 2 and rng.random() < 0.2:
        i = int(rng.integers(len(words) - 1))
        words[i], words[i + 1] = words[i + 1], words[i]
    if words and rng.random() < 0.1:
        i = int(rng.integers(len(words)))
        words.insert(i, words[i])
    if words and rng.random() < 0.25:
        i = int(rng.integers(len(words)))
        w = words[i]
        if len(w) > 3:
            j = int(rng.integers(len(w) - 1))
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return (
        PREFIXES[rng.integers(len(PREFIXES))]
        + " ".join(words)
        + SUFFIXES[rng.integers(len(SUFFIXES))]
    ).strip()


def make_queries(rows: list[dict], n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(rows), size=n)
    return [
        {
            "id": f"q{i:06d}",
            "query_text": perturb(rows[k]["sentence"], rng)
            if i >= len(rows)
            else rows[k]["sentence"],
            "user_id": f"u{int(rng.integers(n // 20 + 1))}",
            "extra": {"intent": rows[k]["intent"], "scenario": rows[k]["scenario"]},
            "content_hash": f"h{i}",
        }
        for i, k in enumerate(picks)
    ]


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=["onnx", "torch"], default="onnx")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-fit-size", type=int, default=20_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workspace", type=Path, help="default: a temporary folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--bertopic", action="store_true", help="also fit the BERTopic peer")
    args = parser.parse_args()

    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if args.backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="taxonomy-scale-"))
    rows = [
        json.loads(line)
        for line in args.data.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]

    wall = time.perf_counter()
    start = time.perf_counter()
    queries = make_queries(rows, args.n, args.seed)
    store = Store.open(f"sqlite:///{workspace / 'arenalens.sqlite'}")
    for i in range(0, len(queries), 5000):
        store.insert_ignore(t.interactions, queries[i : i + 5000])
    ingest_s = time.perf_counter() - start
    distinct = len({q["query_text"] for q in queries})
    print(
        f"ingested {len(queries)} queries ({distinct} distinct) in {ingest_s:.1f}s into {workspace}",
        flush=True,
    )

    embedder = Embedder("default", store, backend=args.backend)
    params = TaxonomyParams(random_state=args.seed, max_fit_size=args.max_fit_size)
    start = time.perf_counter()
    summary = build_taxonomy(
        store,
        embedder.encode,
        EmbeddingLabeler(embedder),
        load_categories(),
        params,
        embedder.model_id,
        show_progress=False,
    )
    build_s = time.perf_counter() - start
    total_s = time.perf_counter() - wall
    stages = {"ingest_s": ingest_s, **summary.timings}
    stages["other_s"] = build_s - sum(summary.timings.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "n_queries": len(queries), "distinct_texts": distinct, "threads": args.threads,
        "backend": args.backend, "total_s": total_s, "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_gb": peak_rss_gb(), "load_before": load_before, "load_after": os.getloadavg(),
        "stages": stages, "metrics": summary.metrics,
    }  # fmt: skip
    print(summary.line())
    print(f"\n{'stage':<26} {'seconds':>9}")
    for key, value in stages.items():
        print(f"{key.removesuffix('_s'):<26} {value:>9.1f}")
    print(f"{'total (end to end)':<26} {total_s:>9.1f}")
    print(f"CPU time (user + system): {figures['cpu_s']:.1f} s")
    print(f"peak resident memory: {figures['peak_rss_gb']:.2f} GB")
    print(f"load average before {load_before}, after {figures['load_after']}")
    if args.bertopic:
        figures["quality"], figures["bertopic"] = compare_with_bertopic(
            store, embedder, queries, args.seed
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


def compare_with_bertopic(
    store: Store, embedder: Embedder, queries: list[dict], seed: int
) -> tuple[dict, dict]:
    """ARI/NMI of our stored assignments and of BERTopic fitted on the same vectors; its time."""
    from sentence_transformers import SentenceTransformer
    from taxonomy_bertopic import run_bertopic

    from taxonomy.evaluate import clustering_scores
    from taxonomy.persist import query_assignment_table

    texts = [q["query_text"] for q in queries]
    gold = np.array([q["extra"]["intent"] for q in queries])
    ours = query_assignment_table(store).set_index("interaction_id")["cluster_id"]
    ours_scores = clustering_scores(ours.loc[[q["id"] for q in queries]].to_numpy(), gold)
    vectors = embedder.encode(texts, show_progress=False)  # the store cache: not timed
    st_model = SentenceTransformer(embedder.model_path, device="cpu")
    run_bertopic(texts[:300], vectors[:300], 99, st_model)  # numba JIT warm-up, not timed
    cpu = time.process_time()
    topics, fit_s = run_bertopic(texts, vectors, seed, st_model)
    peer = {
        "fit_s": fit_s,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_gb_process": peak_rss_gb(),
        **clustering_scores(topics, gold),
    }
    print(f"ours vs SLURP intents: ARI {ours_scores['ari']:.3f}, NMI {ours_scores['nmi']:.3f}")
    print(
        f"BERTopic on the same {len(texts)} vectors: fit {fit_s:.1f} s "
        f"(CPU {peer['cpu_s']:.1f} s), ARI {peer['ari']:.3f}, NMI {peer['nmi']:.3f}, "
        f"outliers {peer['outlier_share']:.1%}"
    )
    return ours_scores, peer


if __name__ == "__main__":
    main()
