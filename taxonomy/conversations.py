"""Conversations in the taxonomy: a conversation is clustered by its first user turn, its later
turns follow it, and a later turn that changes topic is counted.

- **Which queries are fitted**: single-turn queries and the first turn (with a query) of each
  conversation; a conversation's later turns do not shape the clusters.
- **Later turns** get their conversation's cluster, category and modality, so every stage that
  joins assignments (`rank --by category`, prevalence per category) sees a conversation as one
  use case whichever turn holds the vote.
- **Topic change**: a later turn changes topic when the cluster whose centroid is nearest to it
  (cosine, in the same embedding space) is another cluster, nearer than the conversation's own
  cluster by at least `TOPIC_CHANGE_MARGIN` (a near tie is not a change), and it reads like
  that cluster's own queries: at least as near its centroid as the cluster's own queries at
  their `FIT_QUANTILE` (`cluster_fit_floors`). A follow-up that means something only in its
  conversation ("why is that", "tell me more") is near no cluster's queries, so it continues
  its conversation's topic rather than counting as a change. A conversation whose
  first turn is unclustered has no centroid to compare with: its later turns are "unclear".
- **Shares**: the query-level share counts every turn; the conversation-level share counts each
  conversation once (a single-turn query is a conversation of one turn).

Pure functions on frames and arrays; `taxonomy.pipeline.build_taxonomy` calls them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from arenalens.stats import wilson_interval
from taxonomy.cluster import UNCLUSTERED
from taxonomy.shares import share_table

TOPIC_CHANGE_MARGIN = 0.05  # cosine by which another cluster must be nearer than the own one
FIT_QUANTILE = 0.05  # a turn fits a cluster when nearer its centroid than this share of members
FIT_SAMPLE = 64  # members per cluster that set its fit floor


def split_turns(queries: pd.DataFrame, turns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(queries the taxonomy fits, later turns with `first_id`).

    `queries`: id and query of every interaction with a query (`Store.queries_frame`);
    `turns`: id, conversation_id, turn of conversation turns. A conversation's first turn is
    its lowest turn that has a query; the other turns with a query are later turns."""
    if turns is None or turns.empty:
        return queries, pd.DataFrame({"id": [], "conversation_id": [], "turn": [], "first_id": []})
    known = turns[turns["id"].isin(set(queries["id"]))]
    known = known.sort_values(["conversation_id", "turn"], kind="stable")
    first = known.groupby("conversation_id", sort=False)["id"].first()
    later = known[~known["id"].isin(set(first))].copy()
    later["first_id"] = later["conversation_id"].map(first)
    fitted = queries[~queries["id"].isin(set(later["id"]))].reset_index(drop=True)
    return fitted, later[["id", "conversation_id", "turn", "first_id"]].reset_index(drop=True)


def later_turns_among(turns: pd.DataFrame, ids: set[str]) -> pd.DataFrame:
    """The later turns (id, conversation_id, turn, first_id) among `ids`, from `turns` (id,
    conversation_id, turn, query of every conversation turn): what `taxonomy assign` places
    with their conversation's first turn instead of by their own nearest centroid."""
    said = turns[turns["query"].notna() & (turns["query"].astype(str).str.strip() != "")]
    _, later = split_turns(said[["id", "query"]], turns[["id", "conversation_id", "turn"]])
    return later[later["id"].isin(ids)].reset_index(drop=True)


def _unit(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def later_turn_topics(
    later: pd.DataFrame,
    embeddings: np.ndarray,
    conversation_cluster: Mapping[str, int],
    centroids: Mapping[int, np.ndarray],
    margin: float = TOPIC_CHANGE_MARGIN,
    fit_floors: Mapping[int, float] | None = None,
) -> pd.DataFrame:
    """Per later turn: id, cluster (its conversation's), similarity (cosine to that cluster's
    centroid), nearest_cluster, nearest_similarity and topic_change (True, False, or None when
    the conversation's first turn is unclustered).

    `conversation_cluster`: first turn id -> cluster id; `centroids`: cluster id -> centroid;
    `fit_floors`: cluster id -> the similarity a turn needs to read like that cluster's queries
    (`cluster_fit_floors`; without it any nearer cluster counts)."""
    ids = sorted(k for k in centroids if k != UNCLUSTERED)
    out = later[["id"]].copy()
    out["cluster"] = [int(conversation_cluster.get(f, UNCLUSTERED)) for f in later["first_id"]]
    if not len(later) or not ids:
        out["similarity"] = np.nan
        out["nearest_cluster"] = UNCLUSTERED
        out["nearest_similarity"] = np.nan
        out["topic_change"] = None
        return out
    cosines = _unit(np.asarray(embeddings, float)) @ _unit(np.stack([centroids[k] for k in ids])).T
    position = {k: j for j, k in enumerate(ids)}
    best = cosines.argmax(axis=1)
    own = np.array([position.get(k, -1) for k in out["cluster"]])
    rows = np.arange(len(out))
    out["similarity"] = np.where(own >= 0, cosines[rows, np.maximum(own, 0)], np.nan)
    out["nearest_cluster"] = [ids[j] for j in best]
    out["nearest_similarity"] = cosines[rows, best]
    changed = (best != own) & (out["nearest_similarity"] - out["similarity"] >= margin)
    if fit_floors is not None:
        floor = np.array([fit_floors.get(ids[j], np.inf) for j in best])
        changed &= out["nearest_similarity"].to_numpy() >= floor
    out["topic_change"] = [None if o < 0 else bool(c) for o, c in zip(own, changed, strict=True)]
    return out


def cluster_fit_floors(
    embeddings: np.ndarray,
    labels: np.ndarray,
    centroids: Mapping[int, np.ndarray],
    quantile: float = FIT_QUANTILE,
) -> dict[int, float]:
    """Cluster id -> the cosine to its centroid that all but `quantile` of its queries reach
    (`embeddings` and `labels`: the cluster's queries, or a sample of them)."""
    units = _unit(np.asarray(embeddings, float))
    labels = np.asarray(labels)
    floors = {}
    for cluster, centroid in centroids.items():
        members = units[labels == cluster]
        if len(members):
            similarity = members @ _unit(np.asarray(centroid, float)[None])[0]
            floors[int(cluster)] = float(np.quantile(similarity, quantile))
    return floors


@dataclass(frozen=True)
class TopicChanges:
    """How many later turns change topic, with a 95% Wilson interval of the share."""

    conversations: int
    later_turns: int
    changes: int
    unclear: int  # later turns of conversations whose first turn is unclustered
    share: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @property
    def sentence(self) -> str:
        if not self.later_turns:
            return f"{self.conversations} conversations, none with a later turn"
        judged = self.later_turns - self.unclear
        text = (
            f"{self.conversations} conversations clustered by their first turn; "
            f"{self.changes} of {judged} later turns change topic ({self.share:.0%}, 95% CI "
            f"{self.ci_low:.0%}–{self.ci_high:.0%})"
        )
        if self.unclear:
            text += f"; {self.unclear} more follow an unclustered first turn"
        return text


def count_topic_changes(topics: pd.DataFrame, conversations: int) -> TopicChanges:
    """The share of judged later turns (topic_change not None) that change topic."""
    judged = (
        topics["topic_change"].dropna().astype(bool) if len(topics) else pd.Series([], dtype=bool)
    )
    changes = int(judged.sum())
    interval = wilson_interval(changes, len(judged))
    return TopicChanges(
        conversations=int(conversations),
        later_turns=int(len(topics)),
        changes=changes,
        unclear=int(len(topics) - len(judged)),
        share=changes / len(judged) if len(judged) else 0.0,
        ci_low=interval.low if len(judged) else 0.0,
        ci_high=interval.high if len(judged) else 0.0,
    )


def follow_first_turns(
    assignments: pd.DataFrame, later: pd.DataFrame, topics: pd.DataFrame
) -> pd.DataFrame:
    """Assignment rows for later turns: their first turn's row (cluster, category, modality,
    map position), with their own id, their similarity to that cluster, source 'conversation'."""
    if later.empty:
        return assignments.iloc[0:0].copy()
    first = assignments.set_index("interaction_id").loc[later["first_id"]].reset_index(drop=True)
    first.insert(0, "interaction_id", later["id"].to_numpy())
    first["similarity"] = topics.set_index("id").loc[later["id"], "similarity"].to_numpy()
    first["outlier"] = False
    first["reassigned"] = False
    first["source"] = "conversation"
    return first[list(assignments.columns)]


def conversation_shares(
    frame: pd.DataFrame, field: str, later_ids: Sequence[str], n_boot: int = 1000
) -> pd.DataFrame:
    """`share_table` with each conversation counted once: `frame` (interaction_id, `field`,
    user_id) of every assignment, less the conversations' later turns."""
    once = frame[~frame["interaction_id"].isin(set(later_ids))]
    return share_table(once[field].astype(str), once["user_id"].tolist(), n_boot=n_boot)
