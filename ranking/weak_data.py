"""Where the comparison graph is barely connected: groups of models joined by a few votes.

With one or two votes joining two groups, the gap between the groups comes from those votes and
the prior (a bootstrap round that leaves the joining votes out has two disconnected groups,
held together only by the prior), yet the bootstrap intervals look as narrow as anywhere else.
`weak_groups` finds such groups so that the leaderboard ranks within each and says why.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ranking.bradley_terry import PairCounts

WEAK_JOIN_VOTES = 10  # groups joined by fewer votes than this are ranked apart


def _merge(labels: np.ndarray, pc: PairCounts, votes: np.ndarray, min_votes: int) -> np.ndarray:
    """Merge groups that share at least `min_votes` votes, until none do."""
    while True:
        n_groups = int(labels.max()) + 1
        gi, gj = labels[pc.pair_i], labels[pc.pair_j]
        across = gi != gj
        between = sparse.coo_matrix(
            (votes[across], (gi[across], gj[across])), shape=(n_groups, n_groups)
        ).tocsr()
        between = between + between.T
        strong = between >= min_votes
        n_merged, merged = connected_components(strong, directed=False)
        if n_merged == n_groups:
            return labels
        labels = merged[labels]


def weak_groups(pc: PairCounts, min_votes: int = WEAK_JOIN_VOTES) -> np.ndarray | None:
    """Group label per model when the graph splits into groups of two or more models joined by
    fewer than `min_votes` votes (a model on its own joins the group it shares most votes
    with); None when there is no such split."""
    if pc.n_models < 4 or len(pc.pair_i) == 0:
        return None
    votes = pc.counts.sum(axis=1)
    keep = votes >= min_votes
    graph = sparse.coo_matrix(
        (np.ones(int(keep.sum())), (pc.pair_i[keep], pc.pair_j[keep])), shape=(pc.n_models,) * 2
    )
    labels = _merge(connected_components(graph, directed=False)[1], pc, votes, min_votes)
    sizes = np.bincount(labels)
    if (sizes >= 2).sum() < 2:
        return None
    big = np.flatnonzero(sizes >= 2)
    single = sizes[labels] < 2
    if single.any():  # a model on its own joins the big group it shares most votes with
        ends = np.concatenate([pc.pair_i, pc.pair_j])
        others = np.concatenate([pc.pair_j, pc.pair_i])
        shared = sparse.csr_matrix(
            (np.concatenate([votes, votes]), (ends, labels[others])),
            shape=(pc.n_models, len(sizes)),
        )[:, big].toarray()[single]
        labels[single] = big[np.argmax(shared, axis=1)]
    labels = _merge(np.unique(labels, return_inverse=True)[1], pc, votes, min_votes)
    if labels.max() == 0:
        return None
    return np.unique(labels, return_inverse=True)[1]


def joining_votes(pc: PairCounts, labels: np.ndarray) -> int:
    """Votes between models of different groups."""
    across = labels[pc.pair_i] != labels[pc.pair_j]
    return int(round(pc.counts[across].sum()))
