"""Density clustering (HDBSCAN) and nearest-centroid assignment for outliers and new queries."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from taxonomy.reduce import normalise_rows

UNCLUSTERED = -1


def default_min_cluster_size(n_points: int) -> int:
    """Smallest cluster worth naming, from the data size: sqrt(n)/4, kept within [5, 100]."""
    return int(np.clip(round(np.sqrt(max(n_points, 1)) / 4), 5, 100))


def default_min_samples(min_cluster_size: int) -> int:
    """Density smoothing: half the minimum cluster size (fewer outliers than HDBSCAN's default)."""
    return max(1, min_cluster_size // 2)


class HDBSCANClusterer(BaseEstimator, ClusterMixin):
    """HDBSCAN on reduced vectors; sizes chosen from the data size unless given; -1 = outlier."""

    def __init__(
        self,
        min_cluster_size: int | None = None,
        min_samples: int | None = None,
        cluster_selection_method: str = "eom",
        random_state: int | None = 0,
    ):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.random_state = random_state  # HDBSCAN is deterministic; kept for a uniform interface

    def fit(self, X: np.ndarray, y: object = None) -> HDBSCANClusterer:
        """Cluster X (n, k); learned: labels_, probabilities_, min_cluster_size_, min_samples_."""
        import hdbscan

        X = np.asarray(X, dtype=np.float64)
        self.min_cluster_size_ = self.min_cluster_size or default_min_cluster_size(len(X))
        self.min_samples_ = self.min_samples or default_min_samples(self.min_cluster_size_)
        if len(X) < max(2, self.min_cluster_size_):
            self.labels_ = np.full(len(X), UNCLUSTERED, dtype=np.int64)
            self.probabilities_ = np.zeros(len(X))
            return self
        model = hdbscan.HDBSCAN(
            min_cluster_size=self.min_cluster_size_,
            min_samples=self.min_samples_,
            cluster_selection_method=self.cluster_selection_method,
            core_dist_n_jobs=1,
        )
        model.fit(X)
        self.labels_ = model.labels_.astype(np.int64)
        self.probabilities_ = model.probabilities_.astype(np.float64)
        return self

    @property
    def n_clusters_(self) -> int:
        return int(len(set(self.labels_.tolist()) - {UNCLUSTERED}))


def cluster_centroids(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cluster ids, unit-norm mean embedding per cluster), outliers excluded."""
    x = normalise_rows(embeddings)
    labels = np.asarray(labels)
    ids = np.array(sorted(set(labels.tolist()) - {UNCLUSTERED}), dtype=np.int64)
    if len(ids) == 0:
        return ids, np.zeros((0, x.shape[1]), dtype=np.float32)
    centroids = np.stack([x[labels == k].mean(axis=0) for k in ids])
    return ids, normalise_rows(centroids)


class CentroidAssigner(BaseEstimator):
    """Assign points to the most similar cluster centroid (cosine) when similarity >= threshold.

    This is the documented reassignment policy for HDBSCAN outliers and the way new queries join
    an existing run without re-clustering; points below the threshold stay unclustered (-1).
    """

    def __init__(self, threshold: float = 0.4):
        self.threshold = threshold

    def fit(self, embeddings: np.ndarray, labels: np.ndarray) -> CentroidAssigner:
        self.cluster_ids_, self.centroids_ = cluster_centroids(embeddings, labels)
        return self

    def fit_centroids(self, cluster_ids: np.ndarray, centroids: np.ndarray) -> CentroidAssigner:
        """Use known centroids (e.g. those stored with a run)."""
        self.cluster_ids_ = np.asarray(cluster_ids, dtype=np.int64)
        self.centroids_ = normalise_rows(centroids)
        return self

    def similarity(
        self, embeddings: np.ndarray, block: int = 8192
    ) -> tuple[np.ndarray, np.ndarray]:
        """(nearest cluster id, its cosine similarity) for each point."""
        x = normalise_rows(embeddings)
        if len(self.cluster_ids_) == 0:
            return np.full(len(x), UNCLUSTERED, dtype=np.int64), np.zeros(len(x), dtype=np.float32)
        best = np.empty(len(x), dtype=np.int64)
        sims = np.empty(len(x), dtype=np.float32)
        for start in range(0, len(x), block):
            s = x[start : start + block] @ self.centroids_.T
            arg = s.argmax(axis=1)
            best[start : start + block] = self.cluster_ids_[arg]
            sims[start : start + block] = s[np.arange(len(arg)), arg]
        return best, sims

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        best, sims = self.similarity(embeddings)
        return np.where(sims >= self.threshold, best, UNCLUSTERED)


def reassign_outliers(
    embeddings: np.ndarray, labels: np.ndarray, threshold: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with outliers moved to their nearest centroid above `threshold` (None: keep all)."""
    labels = np.asarray(labels).copy()
    reassigned = np.zeros(len(labels), dtype=bool)
    outliers = np.flatnonzero(labels == UNCLUSTERED)
    if threshold is None or len(outliers) == 0 or labels.max(initial=UNCLUSTERED) == UNCLUSTERED:
        return labels, reassigned
    assigner = CentroidAssigner(threshold).fit(embeddings, labels)
    new = assigner.predict(embeddings[outliers])
    labels[outliers] = new
    reassigned[outliers] = new != UNCLUSTERED
    return labels, reassigned
