"""Agreement of a taxonomy with gold labels: ARI, NMI, purity, category accuracy."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from arenalens.datafiles import read_yaml
from taxonomy.cluster import UNCLUSTERED
from taxonomy.errors import TaxonomyError

UNSURE = ("uncertain", "novel")  # filed under no category: never counted as correct


def purity(predicted: np.ndarray, gold: np.ndarray) -> float:
    """Share of queries whose cluster's majority gold label is their own."""
    if len(predicted) == 0:
        return 0.0
    table = contingency_matrix(gold, predicted)
    return float(table.max(axis=0).sum() / table.sum())


def clustering_scores(predicted: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """ARI, NMI and purity with outliers as one group, and on clustered queries only."""
    predicted = np.asarray(predicted)
    gold = np.asarray(gold, dtype=object).astype(str)
    clustered = predicted != UNCLUSTERED
    out = {
        "ari": float(adjusted_rand_score(gold, predicted)),
        "nmi": float(normalized_mutual_info_score(gold, predicted)),
        "purity": purity(predicted, gold),
        "outlier_share": float(1 - clustered.mean()) if len(predicted) else 0.0,
    }
    if clustered.any():
        out["ari_clustered_only"] = float(
            adjusted_rand_score(gold[clustered], predicted[clustered])
        )
        out["nmi_clustered_only"] = float(
            normalized_mutual_info_score(gold[clustered], predicted[clustered])
        )
    out["n_clusters"] = int(len(set(predicted[clustered].tolist())))
    out["n_gold_labels"] = int(len(set(gold.tolist())))
    return out


def load_category_map(path: str | Path) -> dict[str, str]:
    """gold label -> category, from YAML (a mapping) or CSV (columns gold, category)."""
    path = Path(path)
    if not path.is_file():
        raise TaxonomyError(f"{path}: category map not found")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not {"gold", "category"} <= set(reader.fieldnames or []):
                raise TaxonomyError(f"{path}: expected CSV columns gold, category")
            return {row["gold"].strip(): row["category"].strip() for row in reader}
    data = read_yaml(path, TaxonomyError, "gold mapping file")
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise TaxonomyError(f"{path}: expected a mapping of gold label -> category name")
    return {str(k): v for k, v in data.items()}


def category_accuracy(
    predicted: pd.Series, gold: pd.Series, mapping: dict[str, str]
) -> dict[str, object]:
    """Accuracy of predicted categories against mapped gold labels (unmapped gold labels skipped).

    A query filed as uncertain (or novel) counts as not correct; the share of such queries and
    the accuracy over the others are reported beside it."""
    expected = gold.astype(str).map(mapping)
    keep = expected.notna()
    if not keep.any():
        raise TaxonomyError("no gold label is in the category map; check the map's keys")
    filed = predicted[keep].astype(str).to_numpy()
    hits = filed == expected[keep].to_numpy()
    unsure = np.isin(filed, UNSURE)
    frame = pd.DataFrame({"expected": expected[keep].to_numpy(), "filed": filed, "hit": hits})
    recall = frame.groupby("expected")["hit"].mean()
    precision = frame[frame["filed"].isin(recall.index)].groupby("filed")["hit"].mean()
    return {
        "category_accuracy": float(hits.mean()),
        "category_n": int(keep.sum()),
        "category_unsure_share": float(unsure.mean()),
        "category_accuracy_when_filed": float(hits[~unsure].mean()) if (~unsure).any() else None,
        # of the queries whose gold category is c, the share filed under c
        "category_recall": {k: float(v) for k, v in recall.items()},
        # of the queries filed under c, the share whose gold category is c; None (no figure, and
        # valid JSON) for a category no query was filed under
        "category_precision": {
            k: float(precision[k]) if k in precision.index else None for k in recall.index
        },
        "unmapped_gold_labels": sorted(set(gold[~keep].astype(str))),
    }
