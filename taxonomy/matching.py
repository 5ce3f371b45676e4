"""Run-to-run matching (so ids and names persist) and the diff between two runs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from taxonomy.reduce import normalise_rows


def members_by_cluster(
    assignments: pd.DataFrame, column: str = "base_cluster_id"
) -> dict[int, set[str]]:
    """cluster id -> set of interaction ids (unclustered excluded)."""
    frame = assignments[assignments[column] >= 0]
    return {int(k): set(g["interaction_id"]) for k, g in frame.groupby(column)}


def match_clusters(
    previous: Mapping[int, set[str]],
    current: Mapping[int, set[str]],
    previous_centroids: Mapping[int, np.ndarray] | None = None,
    current_centroids: Mapping[int, np.ndarray] | None = None,
    min_jaccard: float = 0.3,
    min_cosine: float = 0.9,
) -> dict[int, int]:
    """current id -> previous id, one-to-one (Hungarian on member Jaccard, then centroid cosine).

    Pairs need Jaccard >= `min_jaccard` on the queries both runs hold; clusters left unmatched
    (e.g. after new data) may still match by centroid cosine >= `min_cosine`.
    """
    prev_ids, cur_ids = list(previous), list(current)
    common = (
        set().union(*previous.values()) & set().union(*current.values())
        if previous and current
        else set()
    )
    mapping: dict[int, int] = {}
    if prev_ids and cur_ids and common:
        jac = np.zeros((len(cur_ids), len(prev_ids)))
        for i, c in enumerate(cur_ids):
            a = current[c] & common
            for j, p in enumerate(prev_ids):
                b = previous[p] & common
                union = len(a | b)
                shared = len(a & b)
                # a match also needs a fair part of the previous cluster itself, not just of the
                # few queries both runs happen to hold
                enough = shared >= min_jaccard * len(previous[p])
                jac[i, j] = shared / union if union and enough else 0.0
        rows, cols = linear_sum_assignment(-jac)
        mapping = {
            cur_ids[r]: prev_ids[c]
            for r, c in zip(rows, cols, strict=True)
            if jac[r, c] >= min_jaccard
        }
    if previous_centroids and current_centroids:
        free_cur = [c for c in cur_ids if c not in mapping and c in current_centroids]
        taken = set(mapping.values())
        free_prev = [p for p in prev_ids if p not in taken and p in previous_centroids]
        if free_cur and free_prev:
            a = normalise_rows(np.stack([current_centroids[c] for c in free_cur]))
            b = normalise_rows(np.stack([previous_centroids[p] for p in free_prev]))
            cos = a @ b.T
            rows, cols = linear_sum_assignment(-cos)
            for r, c in zip(rows, cols, strict=True):
                if cos[r, c] >= min_cosine:
                    mapping[free_cur[r]] = free_prev[c]
    return mapping


def stable_ids(local_ids: list[int], matched: Mapping[int, int], next_id: int) -> dict[int, int]:
    """local id -> stable id: the matched previous id, else a fresh id from `next_id` upwards."""
    out: dict[int, int] = {}
    for local in sorted(local_ids):
        if local in matched:
            out[local] = matched[local]
        else:
            out[local] = next_id
            next_id += 1
    return out


def diff_runs(
    previous: Mapping[int, set[str]],
    current: Mapping[int, set[str]],
    previous_names: Mapping[int, str],
    current_names: Mapping[int, str],
    min_share: float = 0.2,
) -> pd.DataFrame:
    """Events between two runs with stable ids: kept, split, merged, appeared, vanished.

    Shares count only queries both runs hold. A previous cluster *split* when at least two current
    clusters each took >= `min_share` of it; a current cluster *merged* when it took >= `min_share`
    of each of at least two previous clusters; *appeared* / *vanished*: ids only in one run.
    """
    common: set[str] = set()
    if previous and current:
        common = set().union(*previous.values()) & set().union(*current.values())
    flows: dict[tuple[int, int], int] = {}
    for p, members in previous.items():
        for c, other in current.items():
            n = len(members & other & common)
            if n:
                flows[(p, c)] = n
    prev_size = {p: len(m & common) for p, m in previous.items()}
    events: list[dict] = []

    def name_list(ids: list[int], names: Mapping[int, str]) -> str:
        return "; ".join(f"{i}: {names.get(i, '?')}" for i in ids)

    for p in sorted(previous):
        takers = sorted(
            (
                c
                for (pp, c), n in flows.items()
                if pp == p and prev_size[p] and n / prev_size[p] >= min_share
            )
        )
        if len(takers) >= 2:
            events.append({"event": "split", "previous": [p], "current": takers,
                           "detail": f"{name_list([p], previous_names)} -> {name_list(takers, current_names)}"})  # fmt: skip
    for c in sorted(current):
        givers = sorted(
            (
                p
                for (p, cc), n in flows.items()
                if cc == c and prev_size[p] and n / prev_size[p] >= min_share
            )
        )
        if len(givers) >= 2:
            events.append({"event": "merged", "previous": givers, "current": [c],
                           "detail": f"{name_list(givers, previous_names)} -> {name_list([c], current_names)}"})  # fmt: skip
    for c in sorted(set(current) - set(previous)):
        events.append(
            {
                "event": "appeared",
                "previous": [],
                "current": [c],
                "detail": name_list([c], current_names),
            }
        )
    for p in sorted(set(previous) - set(current)):
        events.append(
            {
                "event": "vanished",
                "previous": [p],
                "current": [],
                "detail": name_list([p], previous_names),
            }
        )
    for k in sorted(set(previous) & set(current)):
        overlap = len(previous[k] & current[k] & common)
        union = len((previous[k] | current[k]) & common) or 1
        renamed = previous_names.get(k) != current_names.get(k)
        events.append({"event": "kept", "previous": [k], "current": [k],
                       "detail": f"{name_list([k], current_names)} (overlap {overlap / union:.0%}"
                       + (f", was '{previous_names.get(k)}')" if renamed else ")")})  # fmt: skip
    return pd.DataFrame(events, columns=["event", "previous", "current", "detail"])
