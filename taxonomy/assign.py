"""Place new queries in a fitted taxonomy run without re-clustering, locally or on Ray Data.

`TaxonomyAssigner` holds everything a fitted run needs to place a query (leaf centroids, merges,
cluster categories, the category and modality scorers, a reference sample of the 2-D map): it
is fitted once from the stored run and then pickled to every Ray worker, which embeds its batch
and assigns it with the same code as a local run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from taxonomy.categories import NOVEL, CategorySet, Encoder, category_scorer
from taxonomy.cluster import UNCLUSTERED, CentroidAssigner
from taxonomy.modality import ModalityClassifier, final_modality
from taxonomy.query_category import (
    CategoryClassifier,
    QueryCategoriser,
    decided_prior,
)
from taxonomy.reduce import interpolate_coordinates

#: fitted points that place new points on the map (as `interpolate_coordinates` samples them)
MAP_REFERENCE = 5000
ASSIGNED_COLUMNS = [
    "base_cluster_id", "cluster_id", "outlier", "reassigned", "similarity", "category",
    "query_modality", "modality", "modality_score", "x", "y", "source",
]  # fmt: skip


def map_reference_rows(n_fitted: int, max_reference: int = MAP_REFERENCE) -> np.ndarray:
    """The fitted rows whose coordinates place new points (the seeded sample of
    `interpolate_coordinates`, so that only these need embedding)."""
    if n_fitted <= max_reference:
        return np.arange(n_fitted)
    return np.random.default_rng(0).choice(n_fitted, max_reference, replace=False)


class TaxonomyAssigner(BaseEstimator):
    """Nearest-centroid cluster (above `threshold`), category and modality for new queries.

    A new query's category follows the build's rule (`taxonomy.query_category`): its own
    probabilities times its cluster's prior, where the prior is the mean probability of the
    cluster's stored central queries (or, when the cluster's stored category is another, an
    analyst's or an LLM's call, that category with the stored confidence). With
    `cluster_weight=None` (runs made before per-query categories) it takes its cluster's.
    """

    def __init__(
        self,
        threshold: float | None = 0.4,
        modality_margin: float = 0.08,
        cluster_weight: float | None = 0.5,
        uncertain_below: float = 0.5,
        use_cases: str | None = None,
    ):
        self.threshold = threshold
        self.modality_margin = modality_margin
        self.cluster_weight = cluster_weight
        self.uncertain_below = uncertain_below
        self.use_cases = use_cases

    def fit(
        self,
        leaves: pd.DataFrame,
        categories: CategorySet,
        encode: Encoder,
        novel_threshold: float,
        map_embeddings: np.ndarray,
        map_coordinates: np.ndarray,
    ) -> TaxonomyAssigner:
        """`leaves`: the run's leaf clusters (cluster_id, centroid, merged_into, category, and
        central_texts and category_confidence where stored); `map_*`: embeddings and 2-D
        coordinates of fitted queries (see `map_reference_rows`)."""
        threshold = -1.0 if self.threshold is None else self.threshold
        self.centroids_ = CentroidAssigner(threshold).fit_centroids(
            leaves["cluster_id"].to_numpy(), np.stack(leaves["centroid"].to_list())
        )
        self.merged_into_ = {
            int(k): int(m)
            for k, m in zip(leaves["cluster_id"], leaves["merged_into"], strict=True)
            if pd.notna(m)
        }
        self.cluster_category_ = leaves.set_index("cluster_id")["category"].to_dict()
        self.cluster_confidence_ = (
            leaves.set_index("cluster_id")["category_confidence"].to_dict()
            if "category_confidence" in leaves
            else {}
        )
        self.category_modality_ = {c.name: c.modality for c in categories.categories}
        self.categoriser_ = QueryCategoriser(
            CategoryClassifier().fit(categories, encode, self.use_cases),
            category_scorer(categories, encode, use_cases=self.use_cases),
            float(novel_threshold), self.cluster_weight or 0.0, self.uncertain_below,
        )  # fmt: skip
        self.priors_ = self._priors(leaves, categories, encode)
        self.modality_ = ModalityClassifier(self.modality_margin).fit(categories, encode)
        self.map_embeddings_ = np.asarray(map_embeddings, dtype=np.float32)
        self.map_coordinates_ = np.asarray(map_coordinates, dtype=np.float32)
        return self

    def transform(self, texts: Sequence[str], embeddings: np.ndarray) -> pd.DataFrame:
        """One row per query with the assignment columns (`ASSIGNED_COLUMNS`), source 'assign'."""
        texts = [str(t) for t in texts]
        x = np.asarray(embeddings, dtype=np.float32)
        threshold = -1.0 if self.threshold is None else self.threshold
        nearest, similarity = self.centroids_.similarity(x)
        base = np.where(similarity >= threshold, nearest, UNCLUSTERED)
        effective = np.array(
            [self.merged_into_.get(int(k), int(k)) if k >= 0 else int(k) for k in base],
            dtype=np.int64,
        )
        category = self._categories(texts, x, effective)
        query_modality, modality_score = self.modality_.predict(texts, x)
        coords = interpolate_coordinates(self.map_embeddings_, self.map_coordinates_, x)
        modality = final_modality(
            query_modality, [self.category_modality_.get(c) for c in category]
        )
        return pd.DataFrame(
            {
                "base_cluster_id": base, "cluster_id": effective, "outlier": True,
                "reassigned": base != UNCLUSTERED, "similarity": similarity.astype(float),
                "category": category, "query_modality": query_modality, "modality": modality,
                "modality_score": modality_score.astype(float), "x": coords[:, 0].astype(float),
                "y": coords[:, 1].astype(float), "source": "assign",
            }
        )  # fmt: skip

    def _priors(
        self, leaves: pd.DataFrame, categories: CategorySet, encode: Encoder
    ) -> dict[int, np.ndarray]:
        """Effective cluster id -> prior (clusters that fit no category have none)."""
        names = categories.names
        texts: dict[int, list[str]] = {}
        for row in leaves.itertuples():
            effective = self.merged_into_.get(int(row.cluster_id), int(row.cluster_id))
            central = getattr(row, "central_texts", None)
            texts.setdefault(effective, []).extend(list(central) if central is not None else [])
        priors: dict[int, np.ndarray] = {}
        for k, central in texts.items():
            category = self.cluster_category_.get(k)
            if category not in names:
                continue  # novel (or unknown): no prior, the query decides alone
            prior = None
            if central:
                prior = self.categoriser_.proba(encode(central), central).mean(axis=0)
            if prior is None or names[int(np.argmax(prior))] != category:
                confidence = self.cluster_confidence_.get(k)
                prior = decided_prior(category, 0.8 if pd.isna(confidence) else confidence, names)
            priors[k] = prior
        return priors

    def _categories(self, texts: list[str], x: np.ndarray, effective: np.ndarray) -> np.ndarray:
        if len(effective) == 0:
            return np.zeros(0, dtype=object)
        if self.cluster_weight is None:  # a run made before per-query categories
            category = np.array(
                [self.cluster_category_.get(k, NOVEL) for k in effective.tolist()], dtype=object
            )
            loose = effective == UNCLUSTERED
            if loose.any():
                n = len(self.categoriser_.classifier.labels_)
                idx = np.flatnonzero(loose)
                category[idx] = self.categoriser_.categorise(
                    self.categoriser_.proba(x[idx], [texts[i] for i in idx]),
                    np.full((len(idx), n), 1.0 / n), np.zeros(len(idx), dtype=bool), x[idx],
                    [texts[i] for i in idx],
                )[0]  # fmt: skip
            return category
        n = len(self.categoriser_.classifier.labels_)
        uniform = np.full(n, 1.0 / n)
        priors = np.stack([self.priors_.get(k, uniform) for k in effective.tolist()])
        # in a cluster that fits no category (unclustered queries are never novel on their own)
        novel_rows = np.array(
            [k != UNCLUSTERED and k not in self.priors_ for k in effective.tolist()], dtype=bool
        )
        proba = self.categoriser_.proba(x, texts)
        return self.categoriser_.categorise(proba, priors, novel_rows, x, texts)[0]


def assign_batches(
    queries: pd.DataFrame, assigner: TaxonomyAssigner, encode: Encoder, batch_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Assignment rows (interaction_id first) for `queries` (id, query), one frame per batch."""
    for start in range(0, len(queries), batch_size):
        part = queries.iloc[start : start + batch_size]
        texts = part["query"].astype(str).tolist()
        rows = assigner.transform(texts, encode(texts))
        rows.insert(0, "interaction_id", part["id"].astype(str).to_numpy())
        yield rows


class RayAssignActor:
    """A Ray Data actor: loads the embedding model once, then embeds and assigns its batches."""

    def __init__(self, assigner: TaxonomyAssigner, embedder_config: dict[str, Any]):
        from arenalens.embeddings import Embedder

        self.assigner = assigner
        self.embedder = Embedder(store=None, **embedder_config)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = batch["query"].astype(str).tolist()
        rows = self.assigner.transform(texts, self.embedder.encode(texts, show_progress=False))
        rows.insert(0, "interaction_id", batch["id"].astype(str).to_numpy())
        return rows


def assign_on_ray(
    queries: pd.DataFrame,
    assigner: TaxonomyAssigner,
    embedder_config: dict[str, Any],
    on_batch: Callable[[pd.DataFrame], None],
    batch_size: int = 1024,
    actors: int | None = None,
    progress: bool | None = None,
) -> int:
    """Embed and assign `queries` (id, query) on the current Ray cluster (a local one if none).

    Each actor builds the embedder described by `embedder_config` (Embedder keyword arguments,
    no store: workers do not write the embedding cache) and receives the fitted assigner once.
    Results stream back to the driver, which hands every batch to `on_batch` (e.g. a store
    append) before taking the next. Returns the number of queries assigned.
    """
    try:
        import ray
    except ImportError as exc:
        from taxonomy.errors import TaxonomyError

        raise TaxonomyError("--ray needs Ray: pip install 'arenalens[ray]'") from exc
    from tqdm.auto import tqdm

    if not ray.is_initialized():
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    if actors is None:
        actors = max(1, int(ray.cluster_resources().get("CPU", 1)) // 2)
    dataset = ray.data.from_pandas(queries[["id", "query"]].astype(str)).map_batches(
        RayAssignActor,
        fn_constructor_kwargs={"assigner": assigner, "embedder_config": embedder_config},
        batch_size=batch_size,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=actors),
    )
    done = 0
    disable = None if progress is None else not progress
    with tqdm(total=len(queries), desc=f"assign on Ray ({actors} actor(s))", unit="query",
              disable=disable) as bar:  # fmt: skip
        for batch in dataset.iter_batches(batch_size=batch_size, batch_format="pandas"):
            on_batch(batch)
            done += len(batch)
            bar.update(len(batch))
    return done
