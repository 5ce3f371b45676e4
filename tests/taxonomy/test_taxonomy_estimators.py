"""Reducer, clusterer, assigner: sklearn-style estimators tested on arrays, no store."""

from __future__ import annotations

import numpy as np
import pytest

from taxonomy.cluster import (
    UNCLUSTERED,
    CentroidAssigner,
    HDBSCANClusterer,
    default_min_cluster_size,
    reassign_outliers,
)
from taxonomy.reduce import UMAPReducer, cosine_knn, interpolate_coordinates, normalise_rows


def blobs(n_per: int = 60, n_blobs: int = 4, dim: int = 32, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = normalise_rows(rng.normal(size=(n_blobs, dim)))
    points = np.concatenate(
        [c + spread * rng.normal(size=(n_per, dim)) / np.sqrt(dim) for c in centres]
    )
    return normalise_rows(points), np.repeat(np.arange(n_blobs), n_per)


def test_exact_knn_matches_brute_force():
    x, _ = blobs(n_per=30)
    indices, distances = cosine_knn(x, 5)
    sims = x @ x.T
    for i in range(len(x)):
        expected = np.argsort(-sims[i])[:5]
        assert indices[i, 0] == i and distances[i, 0] == 0
        assert set(indices[i]) == set(expected)
        np.testing.assert_allclose(distances[i, 1:], 1 - sims[i, indices[i, 1:]], atol=1e-5)


def test_umap_reducer_is_reproducible_with_a_seed():
    x, _ = blobs()
    knn = cosine_knn(x, 15)
    first = UMAPReducer(n_components=3, random_state=7).fit_transform(x, knn=knn)
    second = UMAPReducer(n_components=3, random_state=7).fit_transform(x, knn=knn)
    assert first.shape == (len(x), 3)
    np.testing.assert_allclose(first, second)


def test_umap_reducer_refuses_transform_after_graph_fit():
    x, _ = blobs(n_per=20)
    reducer = UMAPReducer(n_components=2).fit(x, knn=cosine_knn(x, 15))
    with pytest.raises(ValueError, match="interpolate_coordinates"):
        reducer.transform(x[:3])


def test_hdbscan_recovers_separated_blobs_and_chooses_its_size():
    x, truth = blobs()
    reduced = UMAPReducer(n_components=5, random_state=0).fit_transform(x)
    model = HDBSCANClusterer().fit(reduced)
    assert model.min_cluster_size_ == default_min_cluster_size(len(x))
    assert model.n_clusters_ == 4
    clustered = model.labels_ != UNCLUSTERED
    for k in set(model.labels_[clustered]):
        assert len(set(truth[model.labels_ == k])) == 1  # pure clusters


def test_min_cluster_size_grows_with_the_data_within_bounds():
    assert default_min_cluster_size(100) == 5
    assert default_min_cluster_size(2_000) == 11
    assert default_min_cluster_size(20_000) == 35
    assert default_min_cluster_size(10_000_000) == 100


def test_outliers_join_only_a_centroid_above_the_threshold():
    x, truth = blobs(n_per=30, n_blobs=2)
    labels = truth.copy()
    labels[[0, 40]] = UNCLUSTERED
    far = normalise_rows(np.random.default_rng(1).normal(size=(1, x.shape[1])))
    x2 = np.vstack([x, far])
    labels2 = np.append(labels, UNCLUSTERED)
    new, moved = reassign_outliers(x2, labels2, threshold=0.5)
    assert new[0] == 0 and new[40] == 1
    assert new[-1] == UNCLUSTERED  # a random direction is not similar to either centroid
    assert moved.sum() == 2
    kept, none_moved = reassign_outliers(x2, labels2, threshold=None)
    assert (kept == labels2).all() and not none_moved.any()


def test_centroid_assigner_places_new_points_by_cosine():
    x, truth = blobs(n_per=30, n_blobs=3)
    assigner = CentroidAssigner(threshold=0.5).fit(x, truth)
    np.testing.assert_array_equal(assigner.predict(x), truth)
    assert (
        CentroidAssigner(threshold=1.01).fit(x, truth).predict(x[:5]).tolist() == [UNCLUSTERED] * 5
    )


def test_interpolated_coordinates_land_near_their_neighbours():
    x, truth = blobs(n_per=30, n_blobs=2)
    coords = np.where(truth[:, None] == 0, [0.0, 0.0], [10.0, 10.0]).astype(np.float32)
    new = interpolate_coordinates(x[1:], coords[1:], x[:1])
    assert np.linalg.norm(new[0] - coords[0]) < 1.0
