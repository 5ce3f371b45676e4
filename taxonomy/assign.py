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

from taxonomy.categories import (
    NOVEL,
    CategorySet,
    Encoder,
    categorise_queries,
    category_scorer,
    query_categories,
)
from taxonomy.cluster import UNCLUSTERED, CentroidAssigner
from taxonomy.modality import ModalityClassifier, final_modality
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
    """Nearest-centroid cluster (above `threshold`), category and modality for new queries."""

    def __init__(
        self,
        threshold: float | None = 0.4,
        modality_margin: float = 0.08,
        override_margin: float | None = 0.1,
        use_cases: str | None = None,
    ):
        self.threshold = threshold
        self.modality_margin = modality_margin
        self.override_margin = override_margin
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
        """`leaves`: the run's leaf clusters (cluster_id, centroid, merged_into, category);
        `map_*`: embeddings and 2-D coordinates of fitted queries (see `map_reference_rows`)."""
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
        self.category_modality_ = {c.name: c.modality for c in categories.categories}
        self.scorer_ = category_scorer(categories, encode, use_cases=self.use_cases)
        self.novel_threshold_ = float(novel_threshold)
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
        category = np.array(
            [self.cluster_category_.get(k, NOVEL) for k in effective.tolist()], dtype=object
        )
        clustered = np.flatnonzero(effective != UNCLUSTERED)
        if len(clustered) and self.override_margin is not None:
            category[clustered] = query_categories(
                self.scorer_, x[clustered], category[clustered], self.novel_threshold_,
                self.override_margin, [texts[i] for i in clustered],
            )  # fmt: skip
        loose = np.flatnonzero(effective == UNCLUSTERED)
        if len(loose):
            category[loose] = categorise_queries(
                self.scorer_, x[loose], self.novel_threshold_, [texts[i] for i in loose]
            )[0]
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
