"""Clusters that mix use-case themes, split one part per theme.

Density clustering on a reduced map sometimes keeps two neighbouring themes in one cluster:
takeaway orders with restaurant suggestions, playing music with questions about the song, the
calendar with the date. The use-case bank's classifier (embedding and words) gives each query a
theme; a cluster where two or more themes are each the best for at least `min_size` queries and
`min_share` of the cluster is split, one part per such theme, and its other queries join the
part whose centroid is nearest. Queries in another language vote for no theme, and clusters
mostly in another language are left whole: a classifier of English words reads them poorly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from arenalens.embeddings import normalise_rows
from arenalens.labeler.names import query_language
from arenalens.labeler.use_case_bank import UseCaseBank
from taxonomy.cluster import UNCLUSTERED


def split_mixed_clusters(
    labels: np.ndarray,
    vectors: np.ndarray,
    texts: Sequence[str],
    bank: UseCaseBank,
    min_size: int,
    min_share: float = 0.1,
) -> tuple[np.ndarray, dict[int, int]]:
    """(labels with mixed clusters split, new cluster id -> the cluster it was split from); the
    part of the theme most queries have keeps the cluster's id, the others take new ids."""
    labels = np.asarray(labels, dtype=np.int64).copy()
    themes, proba = bank.theme_proba(vectors, texts)
    if len(themes) < 2 or len(labels) == 0:
        return labels, {}
    # a query in another language votes for no theme (a classifier of English words reads it
    # poorly); it joins the nearest part
    foreign = np.array([bool(query_language([t])) for t in texts])
    best = np.where(foreign, -1, proba.argmax(axis=1))
    x = normalise_rows(vectors)
    next_id = int(labels.max()) + 1
    split_from: dict[int, int] = {}
    for k in sorted(set(labels.tolist()) - {UNCLUSTERED}):
        rows = np.flatnonzero(labels == k)
        counts = Counter(best[rows].tolist()).most_common()
        parts = [t for t, n in counts if t >= 0 and n >= max(min_size, min_share * len(rows))]
        if len(parts) < 2 or query_language([texts[i] for i in rows]):
            continue
        centroids = normalise_rows(np.stack([x[rows[best[rows] == t]].mean(0) for t in parts]))
        nearest = (x[rows] @ centroids.T).argmax(axis=1)
        own = np.array([parts.index(t) if t in parts else -1 for t in best[rows].tolist()])
        part = np.where(own >= 0, own, nearest)
        for p in range(1, len(parts)):  # parts[0], the most common theme, keeps the id
            labels[rows[part == p]] = next_id
            split_from[next_id] = k
            next_id += 1
    return labels, split_from
