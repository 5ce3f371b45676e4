"""Group clusters into named parents (agglomerative clustering of cluster centroids)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import AgglomerativeClustering

from arenalens.labeler.base import Labeler
from taxonomy.describe import NAMING_INSTRUCTIONS, name_groups_contrastively, unique_texts
from taxonomy.reduce import normalise_rows

PARENT_INSTRUCTIONS = (
    NAMING_INSTRUCTIONS + " The in-group spans several related sub-topics; name the broader theme."
)


def default_n_parents(n_clusters: int) -> int:
    """About sqrt(k) parents for k clusters, at least 2 (when there are 3+ clusters)."""
    if n_clusters < 3:
        return 1
    return int(np.clip(round(np.sqrt(n_clusters)), 2, n_clusters - 1))


class ClusterHierarchy(BaseEstimator):
    """Second level of the taxonomy: parents over clusters, named like clusters (contrastively)."""

    def __init__(
        self,
        labeler: Labeler | None = None,
        n_parents: int | None = None,
        linkage: str = "ward",
        texts_per_child: int = 3,
        max_texts: int = 12,
    ):
        self.labeler = labeler
        self.n_parents = n_parents
        self.linkage = linkage
        self.texts_per_child = texts_per_child
        self.max_texts = max_texts

    def fit(
        self,
        cluster_ids: np.ndarray,
        centroids: np.ndarray,
        sizes: np.ndarray,
        central_texts: dict[int, list[str]] | None = None,
    ) -> ClusterHierarchy:
        """Learned: parent_of_ (cluster id -> parent index), parent_centroids_, parent_names_."""
        cluster_ids = np.asarray(cluster_ids, dtype=np.int64)
        k = len(cluster_ids)
        self.n_parents_ = min(self.n_parents or default_n_parents(k), max(k, 1))
        if k == 0:
            labels = np.zeros(0, dtype=np.int64)
        elif self.n_parents_ <= 1 or k < 2:
            labels = np.zeros(k, dtype=np.int64)
        else:
            # ward on unit vectors: squared euclidean = 2 - 2 cosine, with balanced parents
            metric = "euclidean" if self.linkage == "ward" else "cosine"
            model = AgglomerativeClustering(
                n_clusters=self.n_parents_, metric=metric, linkage=self.linkage
            )
            labels = model.fit_predict(normalise_rows(centroids))
        # number parents by descending total size so parent 0 is the biggest theme
        sizes = np.asarray(sizes, dtype=np.float64)
        totals = {p: sizes[labels == p].sum() for p in set(labels.tolist())}
        rank = {p: r for r, p in enumerate(sorted(totals, key=lambda p: (-totals[p], p)))}
        labels = np.array([rank[p] for p in labels.tolist()], dtype=np.int64)
        self.parent_of_ = dict(zip(cluster_ids.tolist(), labels.tolist(), strict=True))
        self.parent_centroids_ = {
            p: normalise_rows(
                (centroids[labels == p] * sizes[labels == p, None]).sum(axis=0, keepdims=True)
            )[0]
            for p in sorted(set(labels.tolist()))
        }
        self.parent_names_: dict[int, tuple[str, str, str]] = {}
        if self.labeler is not None and central_texts is not None:
            groups: dict[int, list[str]] = {}
            for p in self.parent_centroids_:
                children = sorted(
                    (c for c in cluster_ids.tolist() if self.parent_of_[c] == p),
                    key=lambda c: -sizes[cluster_ids.tolist().index(c)],
                )
                pool = [
                    t for c in children for t in central_texts.get(c, [])[: self.texts_per_child]
                ]
                groups[p] = unique_texts(pool, self.max_texts)
            self.parent_names_ = name_groups_contrastively(
                self.labeler,
                groups,
                self.parent_centroids_,
                instructions=PARENT_INSTRUCTIONS,
                progress="naming parents",
            )
        return self
