"""The pure taxonomy fit: embeddings -> clusters -> names -> hierarchy -> categories -> modality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from arenalens.labeler.base import Labeler
from arenalens.labeler.use_case_bank import UseCaseBank, load_use_cases
from taxonomy.categories import (
    CategoryMapper,
    CategorySet,
    Encoder,
    calibrate_novel_threshold,
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
from taxonomy.query_category import (
    CategoryClassifier,
    QueryCategoriser,
    cluster_priors,
    decided_prior,
)
from taxonomy.reduce import UMAPReducer, cosine_knn, interpolate_coordinates, normalise_rows
from taxonomy.split import split_mixed_clusters
from taxonomy.timing import FIT_STAGES, StageTimer

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
    novel_quantile: float = 0.02
    modality_margin: float = 0.08
    # a query's category: own probabilities x its cluster's prior ** weight; below: uncertain
    category_cluster_weight: float = 0.5
    category_uncertain_below: float = 0.5
    # split a cluster whose queries divide between use-case themes (taxonomy.split)
    split_themes: bool = True
    split_min_share: float = 0.1
    use_cases: str | None = None  # use-case bank YAML (None: the shipped data/use_cases.yaml)
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


@dataclass
class ClusterFit:
    """The reduce-and-cluster step on the fit sample: HDBSCAN's labels (-1 = outlier), with the
    clusters that mix use-case themes split once `split_by_theme` has run."""

    raw_labels: np.ndarray
    reduced: np.ndarray
    coords: np.ndarray
    clusterer: HDBSCANClusterer


@dataclass
class Assignment:
    """Every query's cluster after outlier reassignment and nearest-centroid assignment."""

    raw: np.ndarray
    labels: np.ndarray
    reassigned: np.ndarray
    similarity: np.ndarray
    coords: np.ndarray
    labels_fit: np.ndarray


@dataclass
class CategoryFit:
    """Categories of clusters and queries, and each query's modality."""

    mapper: CategoryMapper
    method: str
    novel_threshold: float
    query_category: np.ndarray
    query_confidence: np.ndarray
    query_modality: np.ndarray
    modality: np.ndarray
    modality_score: np.ndarray


def fit_sample_indices(n: int, params: TaxonomyParams) -> np.ndarray:
    """All indices, or a seeded sorted sample of `max_fit_size` when there are more queries."""
    if n <= params.max_fit_size:
        return np.arange(n)
    rng = np.random.default_rng(params.random_state)
    return np.sort(rng.choice(n, params.max_fit_size, replace=False))


def fit_clusters(x_fit: np.ndarray, params: TaxonomyParams, timer: StageTimer) -> ClusterFit:
    """One cosine k-NN graph feeding the clustering UMAP, HDBSCAN, and the 2-D map UMAP."""
    with timer.stage("knn"):
        knn = cosine_knn(x_fit, params.n_neighbors, params.random_state)
    with timer.stage("umap_cluster"):
        reduced = UMAPReducer(
            params.cluster_dims, params.n_neighbors, 0.0, random_state=params.random_state
        ).fit_transform(x_fit, knn=knn)
    with timer.stage("hdbscan"):
        clusterer = HDBSCANClusterer(
            params.min_cluster_size,
            params.min_samples,
            params.cluster_selection_method,
            params.random_state,
        ).fit(reduced)
    with timer.stage("umap_map"):
        coords = UMAPReducer(
            2, params.n_neighbors, params.map_min_dist, random_state=params.random_state
        ).fit_transform(x_fit, knn=knn)
    return ClusterFit(clusterer.labels_, reduced, coords, clusterer)


def split_by_theme(
    fitted: ClusterFit,
    texts_fit: Sequence[str],
    x_fit: np.ndarray,
    encode: Encoder,
    params: TaxonomyParams,
) -> dict[int, int]:
    """Split the fit sample's clusters that mix use-case themes (`taxonomy.split`), in place;
    new cluster id -> the cluster it came from."""
    if not params.split_themes:
        return {}
    bank = UseCaseBank(load_use_cases(params.use_cases), encode)
    fitted.raw_labels, split_from = split_mixed_clusters(
        fitted.raw_labels, x_fit, texts_fit, bank, fitted.clusterer.min_cluster_size_,
        params.split_min_share,
    )  # fmt: skip
    return split_from


def assign_queries(
    x: np.ndarray, fit_idx: np.ndarray, fitted: ClusterFit, threshold: float | None
) -> Assignment:
    """Reassign confident outliers of the fit sample, then place every other query by nearest
    centroid (cluster) and neighbour interpolation (map)."""
    n = len(x)
    labels_fit, reassigned_fit = reassign_outliers(x[fit_idx], fitted.raw_labels, threshold)
    raw = np.full(n, UNCLUSTERED, dtype=np.int64)
    labels = np.full(n, UNCLUSTERED, dtype=np.int64)
    reassigned = np.zeros(n, dtype=bool)
    coords = np.zeros((n, 2), dtype=np.float32)
    raw[fit_idx], labels[fit_idx] = fitted.raw_labels, labels_fit
    reassigned[fit_idx], coords[fit_idx] = reassigned_fit, fitted.coords
    assigner = CentroidAssigner(threshold if threshold is not None else -1.0)
    assigner.fit(x[fit_idx], labels_fit)
    _, similarity = assigner.similarity(x)
    rest = np.setdiff1d(np.arange(n), fit_idx)
    if len(rest):
        labels[rest] = assigner.predict(x[rest])
        coords[rest] = interpolate_coordinates(x[fit_idx], fitted.coords, x[rest])
    return Assignment(raw, labels, reassigned, similarity, coords, labels_fit)


def fit_categories(
    texts: Sequence[str],
    x: np.ndarray,
    x_fit: np.ndarray,
    assignment: Assignment,
    describer: ClusterDescriber,
    labeler: Labeler,
    encode: Encoder,
    categories: CategorySet,
    params: TaxonomyParams,
    fit_idx: np.ndarray | None = None,
) -> CategoryFit:
    """Each query's category from its own calibrated probabilities and its cluster's (see
    `taxonomy.query_category`), clusters' categories (novel below the calibrated threshold),
    and every query's modality."""
    scorer = category_scorer(categories, encode, use_cases=params.use_cases)
    novel_threshold = params.novel_threshold
    if novel_threshold is None:
        novel_threshold = calibrate_novel_threshold(scorer, params.novel_quantile)
    categoriser = QueryCategoriser(
        CategoryClassifier().fit(categories, encode, params.use_cases), scorer,
        float(novel_threshold), params.category_cluster_weight, params.category_uncertain_below,
    )  # fmt: skip
    proba = categoriser.proba(x, texts)
    labels = assignment.labels
    priors = cluster_priors(proba, labels)
    method = params.category_method
    if method == "auto":
        method = "labeler" if labeler.name.lower().startswith("llm") else "embedding"
    central = central_indices(x_fit, assignment.labels_fit, params.n_central)
    texts_fit = [texts[i] for i in (fit_idx if fit_idx is not None else range(len(x_fit)))]
    mapper = CategoryMapper(categories, method, labeler, novel_threshold).fit(
        {k: x_fit[rows] for k, rows in central.items()},
        scorer,
        {
            k: cluster_summary(d.name, d.description, d.central_texts)
            for k, d in describer.descriptions_.items()
        },
        {k: [texts_fit[i] for i in rows] for k, rows in central.items()},
        priors,
    )
    names = categories.names
    uniform = np.full(len(names), 1.0 / len(names))
    prior_of = {}
    for k, decision in mapper.decisions_.items():
        if decision.novel:
            prior_of[k] = uniform
        elif method == "embedding":
            prior_of[k] = priors.get(k, uniform)
        else:  # the labeler's call on the cluster, as confident as it said
            prior_of[k] = decided_prior(decision.category, decision.confidence, names)
    query_prior = (
        np.stack([prior_of.get(k, uniform) for k in labels.tolist()]) if len(labels) else proba
    )
    decisions = mapper.decisions_
    novel_rows = np.array([k in decisions and decisions[k].novel for k in labels.tolist()])
    query_category, confidence = categoriser.categorise(proba, query_prior, novel_rows, x, texts)
    modality_clf = ModalityClassifier(params.modality_margin).fit(categories, encode)
    query_modality, modality_score = modality_clf.predict(texts, x)
    modality = final_modality(query_modality, [categories.modality_of(c) for c in query_category])
    return CategoryFit(
        mapper, method, float(novel_threshold), query_category, confidence, query_modality,
        modality, modality_score,
    )  # fmt: skip


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


def cluster_table(
    cluster_ids: np.ndarray,
    centroids: np.ndarray,
    assignment: Assignment,
    describer: ClusterDescriber,
    hierarchy: ClusterHierarchy,
    mapper: CategoryMapper,
) -> pd.DataFrame:
    """One row per leaf cluster, one for the unclustered, one per parent (local ids)."""
    labels, coords = assignment.labels, assignment.coords
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
    return clusters


def assignment_table(
    ids: Sequence[str], assignment: Assignment, fit_idx: np.ndarray, category: CategoryFit
) -> pd.DataFrame:
    """One row per query: clusters (base = effective before edits), category and its posterior
    (`category_confidence`, not stored), modality, map."""
    in_fit = np.zeros(len(ids), dtype=bool)
    in_fit[fit_idx] = True
    a = assignment
    return pd.DataFrame(
        {
            "interaction_id": list(ids),
            "base_cluster_id": a.labels,
            "cluster_id": a.labels,
            "outlier": a.raw == UNCLUSTERED,
            "reassigned": a.reassigned,
            "similarity": a.similarity.astype(float),
            "category": category.query_category,
            "category_confidence": np.asarray(category.query_confidence, dtype=float),
            "query_modality": category.query_modality,
            "modality": category.modality,
            "modality_score": category.modality_score.astype(float),
            "x": a.coords[:, 0].astype(float),
            "y": a.coords[:, 1].astype(float),
            "in_fit_sample": in_fit,
        }
    )


def fit_taxonomy(
    texts: Sequence[str],
    embeddings: np.ndarray,
    labeler: Labeler,
    encode: Encoder,
    categories: CategorySet,
    params: TaxonomyParams | None = None,
    interaction_ids: Sequence[str] | None = None,
    timer: StageTimer | None = None,
) -> TaxonomyResult:
    """Fit the whole taxonomy on queries; ids in the result are local (0..k-1, parents likewise).

    Reduce + cluster a (sampled) fit set, assign everyone, describe and name clusters, group
    them into parents, map clusters and queries to categories and modality, then score quality.
    `timer` times each stage (a fresh one, without a bar on non-terminals, when not given).
    """
    params = params or TaxonomyParams()
    texts = [str(t) for t in texts]
    x = normalise_rows(embeddings)
    n = len(texts)
    if n != len(x):
        raise ValueError(f"{n} texts but {len(x)} embeddings")
    if n < 10:
        raise ValueError(f"a taxonomy needs at least 10 queries, got {n}")
    ids = list(interaction_ids) if interaction_ids is not None else [str(i) for i in range(n)]
    own_timer = timer is None
    timer = timer or StageTimer(FIT_STAGES)
    try:
        fit_idx = fit_sample_indices(n, params)
        x_fit = x[fit_idx]
        fitted = fit_clusters(x_fit, params, timer)
        with timer.stage("assign"):
            split_from = split_by_theme(fitted, [texts[i] for i in fit_idx], x_fit, encode, params)
            assignment = assign_queries(x, fit_idx, fitted, params.reassign_threshold)
        with timer.stage("describe"):
            describer = ClusterDescriber(
                labeler, n_central=params.n_central, use_cases=params.use_cases
            ).fit([texts[i] for i in fit_idx], x_fit, assignment.labels_fit)
        cluster_ids, centroids = cluster_centroids(x_fit, assignment.labels_fit)
        with timer.stage("categories_modality"):
            category = fit_categories(
                texts,
                x,
                x_fit,
                assignment,
                describer,
                labeler,
                encode,
                categories,
                params,
                fit_idx,
            )
        with timer.stage("hierarchy"):
            sizes = np.array([int(np.sum(assignment.labels == k)) for k in cluster_ids])
            descriptions = describer.descriptions_
            offline = any(d.theme for d in descriptions.values())
            hierarchy = ClusterHierarchy(labeler, params.n_parents).fit(
                cluster_ids,
                centroids,
                sizes,
                {k: d.central_texts for k, d in descriptions.items()},
                themes={k: d.theme for k, d in descriptions.items()} if offline else None,
                names={k: d.name for k, d in descriptions.items()},
                categories={k: d.category for k, d in category.mapper.decisions_.items()},
            )
        clusters = cluster_table(
            cluster_ids, centroids, assignment, describer, hierarchy, category.mapper
        )
        assignments = assignment_table(ids, assignment, fit_idx, category)
        raw_fit = fitted.raw_labels
        metrics = {
            "n_queries": n,
            "n_fit": int(len(fit_idx)),
            "fit_on_sample": bool(len(fit_idx) < n),
            "n_clusters": int(len(cluster_ids)),
            "n_parents": int(len(hierarchy.parent_centroids_)),
            "min_cluster_size": int(fitted.clusterer.min_cluster_size_),
            "min_samples": int(fitted.clusterer.min_samples_),
            "clusters_split_by_theme": len(split_from),
            "outlier_share_raw": float(np.mean(raw_fit == UNCLUSTERED)),
            "outlier_share": float(np.mean(assignment.labels == UNCLUSTERED)),
            "category_method": category.method,
            "novel_threshold": category.novel_threshold,
            "novel_clusters": int(sum(d.novel for d in category.mapper.decisions_.values())),
            "labeler": labeler.name,
        }
        with timer.stage("quality"):
            metrics.update(cluster_quality(fitted.reduced, x_fit, raw_fit, params.random_state))
    finally:
        if own_timer:
            timer.close()
    timings = {k: v for k, v in timer.timings.items() if k.removesuffix("_s") in FIT_STAGES}
    return TaxonomyResult(clusters, assignments, metrics, timings)
