"""Dimensionality reduction: a shared cosine k-NN graph and UMAP on top of it."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from arenalens.embeddings import normalise_rows

#: up to this many points the k-NN graph is computed exactly (blocked dot products); above it,
#: approximately with pynndescent (which costs a numba compile of its own)
EXACT_KNN_MAX = 30_000


def cosine_knn(
    embeddings: np.ndarray, n_neighbors: int, random_state: int | None = 0, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Each point's `n_neighbors` nearest points (itself first) and their cosine distances."""
    x = normalise_rows(embeddings)
    n = len(x)
    k = min(n_neighbors, n)
    if n > EXACT_KNN_MAX:
        from umap.umap_ import nearest_neighbors

        indices, distances, _ = nearest_neighbors(
            x,
            k,
            "cosine",
            {},
            angular=False,
            random_state=np.random.RandomState(random_state),
            low_memory=True,
        )
        return indices.astype(np.int64), distances.astype(np.float32)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, block):
        sims = x[start : start + block] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, rows + start] = 2.0  # a point is its own nearest neighbour
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        top = np.take_along_axis(part, order, axis=1)
        indices[start : start + block] = top
        top_sims = np.take_along_axis(sims, top, axis=1)
        top_sims[:, 0] = 1.0
        distances[start : start + block] = np.clip(1.0 - top_sims, 0.0, 2.0)
    return indices, distances


class UMAPReducer(BaseEstimator, TransformerMixin):
    """UMAP with cosine metric; `fit` may reuse a precomputed k-NN graph (one graph, two maps)."""

    def __init__(
        self,
        n_components: int = 5,
        n_neighbors: int = 15,
        min_dist: float = 0.0,
        metric: str = "cosine",
        n_epochs: int | None = None,
        random_state: int | None = 0,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.random_state = random_state

    def fit(
        self, X: np.ndarray, y: object = None, knn: tuple[np.ndarray, np.ndarray] | None = None
    ) -> UMAPReducer:
        """Fit the embedding of X (n, d); `knn` = (indices, distances) from `cosine_knn`."""
        import umap

        X = normalise_rows(X)
        n_neighbors = max(2, min(self.n_neighbors, len(X) - 1))
        if len(X) <= self.n_components + 1:
            raise ValueError(f"UMAP needs more than {self.n_components + 1} points, got {len(X)}")
        precomputed = None
        if knn is not None and knn[0].shape[1] >= n_neighbors:
            precomputed = (knn[0][:, :n_neighbors], knn[1][:, :n_neighbors], None)
        self.model_ = umap.UMAP(
            n_components=self.n_components,
            n_neighbors=n_neighbors,
            min_dist=self.min_dist,
            metric=self.metric,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            precomputed_knn=precomputed or (None, None, None),
            init="spectral" if len(X) > n_neighbors + self.n_components + 1 else "random",
            low_memory=True,
            transform_seed=self.random_state or 42,
        )
        self.fitted_on_graph_ = precomputed is not None
        with warnings.catch_warnings():
            # umap warns that a seed disables parallelism and that a precomputed graph disables transform
            warnings.filterwarnings("ignore", category=UserWarning, module="umap")
            self.embedding_ = self.model_.fit_transform(X).astype(np.float32)
        return self

    def fit_transform(self, X: np.ndarray, y: object = None, **fit_params: object) -> np.ndarray:
        return self.fit(X, y, **fit_params).embedding_

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Place new points (only when fitted without a precomputed graph)."""
        if self.fitted_on_graph_:
            raise ValueError(
                "this reducer was fitted on a precomputed graph; use interpolate_coordinates"
            )
        return self.model_.transform(normalise_rows(X)).astype(np.float32)


def interpolate_coordinates(
    fitted_embeddings: np.ndarray,
    fitted_coordinates: np.ndarray,
    new_embeddings: np.ndarray,
    n_neighbors: int = 8,
    block: int = 4096,
    max_reference: int = 5000,
) -> np.ndarray:
    """Coordinates for new points: similarity-weighted mean of their nearest fitted points' coordinates.

    At most `max_reference` fitted points (a seeded sample) serve as neighbours, bounding the cost.
    """
    if len(fitted_embeddings) > max_reference:
        keep = np.random.default_rng(0).choice(len(fitted_embeddings), max_reference, replace=False)
        fitted_embeddings, fitted_coordinates = fitted_embeddings[keep], fitted_coordinates[keep]
    fitted = normalise_rows(fitted_embeddings)
    new = normalise_rows(new_embeddings)
    k = min(n_neighbors, len(fitted))
    out = np.empty((len(new), fitted_coordinates.shape[1]), dtype=np.float32)
    for start in range(0, len(new), block):
        sims = new[start : start + block] @ fitted.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(sims, top, axis=1), 1e-3, None) ** 4
        weights /= weights.sum(axis=1, keepdims=True)
        out[start : start + block] = np.einsum("nk,nkd->nd", weights, fitted_coordinates[top])
    return out
