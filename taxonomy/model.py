"""The pure taxonomy fit: embeddings -> clusters -> names -> hierarchy -> categories -> modality."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from arenalens.labeler.base import Labeler
from taxonomy.categories import (
    NOVEL,
    CategoryMapper,
    CategorySet,
    Encoder,
    calibrate_novel_threshold,
    categorise_queries,
    category_scorer,
    cluster_summary,
)
from taxonomy.cluster import (
    UNCLUSTERED,
    CentroidAssigner,
    HDBSCANClusterer,
    cluster_centroids,
    reassign_outliers,
)
from taxonomy.describe import ClusterDescriber, central_indices
from taxonomy.hierarchy import ClusterHierarchy
from taxonomy.modality import ModalityClassifier, final_modality
from taxonomy.reduce import UMAPReducer, cosine_knn, interpolate_coordinates, normalise_rows

UNCLUSTERED_NAME = "unclustered"


@dataclass
class TaxonomyParams:
    """Every knob of a taxonomy build (stored with the run)."""

    n_neighbors: int = 15
    cluster_dims: int = 5
    map_min_dist: float = 0.1
    min_cluster_size: int | None = None
    min_samples: int | None = None
    cluster_selection_method: str = "eom"
    reassign_threshold: float | None = 0.4
    max_fit_size: int = 20_000
    n_parents: int | None = None
    n_central: int = 8
    category_method: str = "auto"  # auto | embedding | labeler
    novel_threshold: float | None = None  # None: calibrated on the categories file
    novel_quantile: float = 0.05
    modality_margin: float = 0.08
    random_state: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TaxonomyResult:
    """One fitted taxonomy: a clusters table, a per-query assignments table, and metrics."""

    clusters: pd.DataFrame
    assignments: pd.DataFrame
    metrics: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def _fit_clusters(
    embeddings: np.ndarray, params: TaxonomyParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, HDBSCANClusterer, dict]:
    """Reduce + cluster the fit set: (raw labels, probabilities, 5-d, 2-d coordinates, clusterer, timings)."""
    timings = {}
    start = time.perf_counter()
    knn = cosine_knn(embeddings, params.n_neighbors, params.random_state)
    timings["knn_s"] = time.perf_counter() - start
    start = time.perf_counter()
    reduced = UMAPReducer(
        params.cluster_dims, params.n_neighbors, 0.0, random_state=params.random_state
    ).fit_transform(embeddings, knn=knn)
    timings["umap_cluster_s"] = time.perf_counter() - start
    start = time.perf_counter()
    clusterer = HDBSCANClusterer(
        params.min_cluster_size,
        params.min_samples,
        params.cluster_selection_method,
        params.random_state,
    ).fit(reduced)
    timings["hdbscan_s"] = time.perf_counter() - start
    start = time.perf_counter()
    coords = UMAPReducer(
        2, params.n_neighbors, params.map_min_dist, random_state=params.random_state
    ).fit_transform(embeddings, knn=knn)
    timings["umap_map_s"] = time.perf_counter() - start
    return clusterer.labels_, clusterer.probabilities_, reduced, coords, clusterer, timings


def cluster_quality(
    reduced: np.ndarray, embeddings: np.ndarray, labels: np.ndarray, random_state: int = 0
) -> dict:
    """DBCV (hdbscan.validity, on the reduced space; n <= 5000) and cosine silhouette (sampled)."""
    from sklearn.metrics import silhouette_score

    out: dict[str, float | None] = {"dbcv": None, "silhouette": None}
    mask = labels != UNCLUSTERED
    if len(set(labels[mask].tolist())) < 2:
        return out
    rng = np.random.default_rng(random_state)
    idx = np.flatnonzero(mask)
    if len(idx) > 5000:
        idx = rng.choice(idx, 5000, replace=False)
    out["silhouette"] = float(silhouette_score(embeddings[idx], labels[idx], metric="cosine"))
    if len(labels) <= 5000:
        import warnings

        from hdbscan.validity import validity_index

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out["dbcv"] = float(
                    validity_index(reduced.astype(np.float64), labels.astype(np.int64))
                )
            except (ValueError, ZeroDivisionError, FloatingPointError):
                out["dbcv"] = None
    return out


def fit_taxonomy(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labeler: Labeler,
    encode: Encoder,
    categories: CategorySet,
    params: TaxonomyParams | None = None,
    interaction_ids: Sequence[str] | None = None,
) -> TaxonomyResult:
    """Fit the whole taxonomy on queries; ids in the result are local (0..k-1, parents likewise)."""
    params = params or TaxonomyParams()
    texts = [str(t) for t in texts]
    x = normalise_rows(embeddings)
    n = len(texts)
    if n != len(x):
        raise ValueError(f"{n} texts but {len(x)} embeddings")
    if n < 10:
        raise ValueError(f"a taxonomy needs at least 10 queries, got {n}")
    ids = list(interaction_ids) if interaction_ids is not None else [str(i) for i in range(n)]
    rng = np.random.default_rng(params.random_state)
    fit_idx = (
        np.arange(n)
        if n <= params.max_fit_size
        else np.sort(rng.choice(n, params.max_fit_size, replace=False))
    )
    in_fit = np.zeros(n, dtype=bool)
    in_fit[fit_idx] = True

    raw_fit, prob_fit, reduced, coords_fit, clusterer, timings = _fit_clusters(x[fit_idx], params)
    start = time.perf_counter()
    labels_fit, reassigned_fit = reassign_outliers(x[fit_idx], raw_fit, params.reassign_threshold)
    raw = np.full(n, UNCLUSTERED, dtype=np.int64)
    labels = np.full(n, UNCLUSTERED, dtype=np.int64)
    reassigned = np.zeros(n, dtype=bool)
    coords = np.zeros((n, 2), dtype=np.float32)
    raw[fit_idx], labels[fit_idx], reassigned[fit_idx], coords[fit_idx] = (
        raw_fit,
        labels_fit,
        reassigned_fit,
        coords_fit,
    )
    assigner = CentroidAssigner(
        params.reassign_threshold if params.reassign_threshold is not None else -1.0
    )
    assigner.fit(x[fit_idx], labels_fit)
    _, similarity = assigner.similarity(x)
    rest = np.flatnonzero(~in_fit)
    if len(rest):
        labels[rest] = assigner.predict(x[rest])
        coords[rest] = interpolate_coordinates(x[fit_idx], coords_fit, x[rest])
    timings["assign_s"] = time.perf_counter() - start

    start = time.perf_counter()
    describer = ClusterDescriber(labeler, n_central=params.n_central).fit(
        [texts[i] for i in fit_idx], x[fit_idx], labels_fit
    )
    timings["describe_s"] = time.perf_counter() - start
    cluster_ids, centroids = cluster_centroids(x[fit_idx], labels_fit)
    sizes = np.array([int(np.sum(labels == k)) for k in cluster_ids])
    start = time.perf_counter()
    hierarchy = ClusterHierarchy(labeler, params.n_parents).fit(
        cluster_ids,
        centroids,
        sizes,
        {k: d.central_texts for k, d in describer.descriptions_.items()},
    )
    timings["hierarchy_s"] = time.perf_counter() - start

    start = time.perf_counter()
    scorer = category_scorer(categories, encode)
    novel_threshold = params.novel_threshold
    if novel_threshold is None:
        novel_threshold = calibrate_novel_threshold(scorer, params.novel_quantile)
    method = params.category_method
    if method == "auto":
        method = "labeler" if labeler.name.lower().startswith("llm") else "embedding"
    central = central_indices(x[fit_idx], labels_fit, params.n_central)
    mapper = CategoryMapper(categories, method, labeler, novel_threshold).fit(
        {k: x[fit_idx][central[k]] for k in cluster_ids.tolist()},
        scorer,
        {
            k: cluster_summary(d.name, d.description, d.central_texts)
            for k, d in describer.descriptions_.items()
        },
    )
    cluster_category = {k: d.category for k, d in mapper.decisions_.items()}
    query_category = np.array(
        [cluster_category.get(k, NOVEL) for k in labels.tolist()], dtype=object
    )
    loose = np.flatnonzero(labels == UNCLUSTERED)
    if len(loose):
        query_category[loose] = categorise_queries(scorer, x[loose], novel_threshold)[0]
    modality_clf = ModalityClassifier(params.modality_margin).fit(categories, encode)
    query_modality, modality_score = modality_clf.predict(texts, x)
    modality = final_modality(query_modality, [categories.modality_of(c) for c in query_category])
    timings["categories_modality_s"] = time.perf_counter() - start

    parent_rows = []
    for p, centroid in hierarchy.parent_centroids_.items():
        name, description, labeler_name = hierarchy.parent_names_.get(p, (f"parent {p}", "", ""))
        members = [k for k in cluster_ids.tolist() if hierarchy.parent_of_[k] == p]
        mask = np.isin(labels, members)
        parent_rows.append(
            {
                "cluster_id": int(p), "level": 1, "parent_id": None, "name": name, "auto_name": name,
                "description": description, "keywords": [], "central_texts": [], "size": int(mask.sum()),
                "category": None, "auto_category": None, "category_confidence": None, "novel": False,
                "centroid": centroid, "x": float(coords[mask, 0].mean()), "y": float(coords[mask, 1].mean()),
                "labeler": labeler_name,
            }
        )  # fmt: skip
    leaf_rows = []
    for k, centroid in zip(cluster_ids.tolist(), centroids, strict=True):
        d = describer.descriptions_[k]
        decision = mapper.decisions_[k]
        mask = labels == k
        leaf_rows.append(
            {
                "cluster_id": int(k), "level": 0, "parent_id": int(hierarchy.parent_of_[k]), "name": d.name,
                "auto_name": d.name, "description": d.description, "keywords": d.keywords,
                "central_texts": d.central_texts, "size": int(mask.sum()), "category": decision.category,
                "auto_category": decision.category, "category_confidence": decision.confidence,
                "novel": decision.novel, "centroid": centroid, "x": float(coords[mask, 0].mean()),
                "y": float(coords[mask, 1].mean()), "labeler": d.labeler,
            }
        )  # fmt: skip
    loose_mask = labels == UNCLUSTERED
    leaf_rows.append(
        {
            "cluster_id": UNCLUSTERED, "level": 0, "parent_id": None, "name": UNCLUSTERED_NAME,
            "auto_name": UNCLUSTERED_NAME, "description": "Queries no cluster claims (HDBSCAN outliers below the reassignment threshold).",
            "keywords": [], "central_texts": [], "size": int(loose_mask.sum()), "category": None,
            "auto_category": None, "category_confidence": None, "novel": False, "centroid": None,
            "x": None, "y": None, "labeler": "",
        }
    )  # fmt: skip
    clusters = pd.DataFrame(leaf_rows + parent_rows)
    clusters["merged_into"] = None
    clusters["matched_from"] = None
    assignments = pd.DataFrame(
        {
            "interaction_id": ids,
            "base_cluster_id": labels,
            "cluster_id": labels,
            "outlier": raw == UNCLUSTERED,
            "reassigned": reassigned,
            "similarity": similarity.astype(float),
            "category": query_category,
            "query_modality": query_modality,
            "modality": modality,
            "modality_score": modality_score.astype(float),
            "x": coords[:, 0].astype(float),
            "y": coords[:, 1].astype(float),
            "in_fit_sample": in_fit,
        }
    )
    metrics = {
        "n_queries": n,
        "n_fit": int(len(fit_idx)),
        "fit_on_sample": bool(len(fit_idx) < n),
        "n_clusters": int(len(cluster_ids)),
        "n_parents": int(len(hierarchy.parent_centroids_)),
        "min_cluster_size": int(clusterer.min_cluster_size_),
        "min_samples": int(clusterer.min_samples_),
        "outlier_share_raw": float(np.mean(raw_fit == UNCLUSTERED)),
        "outlier_share": float(np.mean(labels == UNCLUSTERED)),
        "category_method": method,
        "novel_threshold": float(novel_threshold),
        "novel_clusters": int(sum(d.novel for d in mapper.decisions_.values())),
        "labeler": labeler.name,
    }
    start = time.perf_counter()
    metrics.update(cluster_quality(reduced, x[fit_idx], raw_fit, params.random_state))
    timings["quality_s"] = time.perf_counter() - start
    return TaxonomyResult(clusters, assignments, metrics, timings)
