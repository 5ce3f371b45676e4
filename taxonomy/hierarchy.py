"""Group clusters into named parents: one theme per parent.

Offline (clusters carry the theme of the use case they were named from), clusters sharing a
theme form a parent named after it ("Calendar and schedule"). Clusters without a theme join the
themed parent whose centroid is nearest when the cosine reaches `join_similarity`; the rest are
agglomerated (average linkage, cosine) and cut where the mean distance passes
`1 - coherence`, so a parent holds only clusters that are alike; a parent of several such
clusters is named after its largest children, and clusters left alone are grouped by their
category into parents that say so ("Other factual questions"; "Miscellaneous" when novel). With `n_parents` (or an LLM labeler and no themes), the
former behaviour: Ward clustering of the centroids into that many parents (default about
sqrt(k)), named contrastively by the labeler.
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import AgglomerativeClustering

from arenalens.labeler.base import Labeler
from taxonomy.describe import NAMING_INSTRUCTIONS, name_groups_contrastively, unique_texts
from taxonomy.reduce import normalise_rows

MISCELLANEOUS = "Miscellaneous"
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
        coherence: float = 0.5,
        join_similarity: float = 0.6,
    ):
        self.labeler = labeler
        self.n_parents = n_parents
        self.linkage = linkage
        self.texts_per_child = texts_per_child
        self.max_texts = max_texts
        self.coherence = coherence
        self.join_similarity = join_similarity

    def fit(
        self,
        cluster_ids: np.ndarray,
        centroids: np.ndarray,
        sizes: np.ndarray,
        central_texts: dict[int, list[str]] | None = None,
        themes: dict[int, str] | None = None,
        names: dict[int, str] | None = None,
        categories: dict[int, str] | None = None,
    ) -> ClusterHierarchy:
        """Learned: parent_of_ (cluster id -> parent index), parent_centroids_, parent_names_."""
        cluster_ids = np.asarray(cluster_ids, dtype=np.int64)
        k = len(cluster_ids)
        given_names: dict[int, str] = {}
        self.n_parents_ = min(self.n_parents or default_n_parents(k), max(k, 1))
        if themes is not None and self.n_parents is None and k:
            labels, given_names = self._by_theme(
                cluster_ids, centroids, sizes, themes, names or {}, categories or {}
            )
        elif k == 0:
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
        given_names = {rank[p]: n for p, n in given_names.items()}
        self.n_parents_ = len(totals)
        self.parent_of_ = dict(zip(cluster_ids.tolist(), labels.tolist(), strict=True))
        self.parent_centroids_ = {
            p: normalise_rows(
                (centroids[labels == p] * sizes[labels == p, None]).sum(axis=0, keepdims=True)
            )[0]
            for p in sorted(set(labels.tolist()))
        }
        self.parent_names_: dict[int, tuple[str, str, str]] = {}
        if given_names:
            self.parent_names_ = {
                p: (name, _parent_description(name, [
                    (names or {}).get(c, str(c)) for c in cluster_ids.tolist() if self.parent_of_[c] == p
                ]), "themes of the children's names (not an LLM)")
                for p, name in given_names.items()
            }  # fmt: skip
        elif self.labeler is not None and central_texts is not None:
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

    def _by_theme(
        self,
        cluster_ids: np.ndarray,
        centroids: np.ndarray,
        sizes: np.ndarray,
        themes: dict[int, str],
        names: dict[int, str],
        categories: dict[int, str],
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Parent index per cluster and each parent's name (see the module docstring)."""
        ids = cluster_ids.tolist()
        x = normalise_rows(np.asarray(centroids, dtype=np.float64))
        sizes = np.asarray(sizes, dtype=np.float64)
        labels = np.full(len(ids), -1, dtype=np.int64)
        parent_names: dict[int, str] = {}
        theme_ids: dict[str, int] = {}
        for i, k in enumerate(ids):
            theme = themes.get(k, "")
            if theme:
                labels[i] = theme_ids.setdefault(theme, len(theme_ids))
                parent_names[labels[i]] = theme
        loose = np.flatnonzero(labels < 0)
        if len(theme_ids) and len(loose):
            means = normalise_rows(
                np.stack(
                    [
                        (x[labels == p] * sizes[labels == p, None]).sum(0)
                        for p in range(len(theme_ids))
                    ]
                )
            )
            sims = x[loose] @ means.T
            best = sims.argmax(axis=1)
            join = sims[np.arange(len(loose)), best] >= self.join_similarity
            labels[loose[join]] = best[join]
            loose = loose[~join]
        next_id = len(theme_ids)
        singles: list[int] = []
        if len(loose) >= 2:
            groups = AgglomerativeClustering(
                n_clusters=None, metric="cosine", linkage="average",
                distance_threshold=1.0 - self.coherence,
            ).fit_predict(x[loose])  # fmt: skip
        else:
            groups = np.zeros(len(loose), dtype=np.int64)
        for g in sorted(set(groups.tolist())):
            members = loose[groups == g]
            if len(members) == 1:
                singles.append(int(members[0]))
                continue
            labels[members] = next_id
            largest = sorted(members.tolist(), key=lambda i: -sizes[i])[:3]
            parent_names[next_id] = _and_name([names.get(ids[i], str(ids[i])) for i in largest])
            next_id += 1
        # clusters alike no other: grouped by their category ("Other factual questions"), or
        # Miscellaneous when it is novel (or unknown)
        by_category: dict[str, list[int]] = {}
        for i in singles:
            by_category.setdefault(_leftover_name(categories.get(ids[i], "")), []).append(i)
        for name, members in sorted(by_category.items()):
            labels[members] = next_id
            parent_names[next_id] = name
            next_id += 1
        return labels, parent_names


PHRASE_PREFIXES = ("Questions about ", "Queries about ", "Requests about ", "Queries in ")


LEFTOVER_NAMES = {
    "knowledge": "Other factual questions",
    "task_execution": "Other tasks",
    "advice": "Other advice",
    "chit_chat": "Other conversation",
    "paralinguistic": "Other voice and sound questions",
}


def _leftover_name(category: str) -> str:
    """The parent of clusters that share no theme, by their category."""
    if category in LEFTOVER_NAMES:
        return LEFTOVER_NAMES[category]
    if not category or category in ("novel", "other"):
        return MISCELLANEOUS
    return f"Other {category.replace('_', ' ')}"


def _and_name(parts: list[str]) -> str:
    """A parent's name from its children's, largest first: the topics of phrase names joined
    ("Questions about jupiter", "Questions about moon" -> "Questions about jupiter and moon"),
    else the first two names ("Setting alarms and reminders")."""
    parts = list(dict.fromkeys(re.sub(r" \(\d+\)$", "", part) for part in parts))
    if len(parts) < 2:
        return parts[0] if parts else MISCELLANEOUS
    prefix = next((p for p in PHRASE_PREFIXES if parts[0].startswith(p)), "")
    if prefix:
        topics = [
            part.removeprefix(p).split(" and ")[0]
            for part in parts
            for p in PHRASE_PREFIXES
            if part.startswith(p)
        ]
        topics = list(dict.fromkeys(topics))[:3]
        if len(topics) >= 2:
            return prefix + ", ".join(topics[:-1]) + " and " + topics[-1]
    second = parts[1] if parts[1][:2].isupper() else parts[1][:1].lower() + parts[1][1:]
    return f"{parts[0]} and {second}"


def _parent_description(name: str, children: list[str]) -> str:
    """One sentence listing what a parent holds."""
    shown = ", ".join(children[:6]) + (
        f" and {len(children) - 6} more" if len(children) > 6 else ""
    )
    if name == MISCELLANEOUS or name in LEFTOVER_NAMES.values() or name.startswith("Other "):
        return f"Clusters that share no theme with any other: {shown}."
    return f"{len(children)} cluster{'s' if len(children) != 1 else ''}: {shown}."
