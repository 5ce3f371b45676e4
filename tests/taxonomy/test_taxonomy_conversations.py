"""Conversations in the taxonomy: fitted on first turns, later turns follow, topic changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxonomy.cluster import UNCLUSTERED
from taxonomy.conversations import (
    conversation_shares,
    count_topic_changes,
    follow_first_turns,
    later_turn_topics,
    split_turns,
)


def test_only_single_turn_queries_and_first_turns_are_fitted():
    queries = pd.DataFrame(
        {"id": ["s1", "c1:t1", "c1:t2", "c1:t3", "c2:t2"], "query": list("abcde")}
    )
    # c2's first turn has no query (audio not transcribed): its turn 2 is its first with one
    turns = pd.DataFrame(
        {
            "id": ["c1:t2", "c1:t1", "c1:t3", "c2:t1", "c2:t2"],
            "conversation_id": ["c1", "c1", "c1", "c2", "c2"],
            "turn": [2, 1, 3, 1, 2],
        }
    )
    fitted, later = split_turns(queries, turns)
    assert list(fitted["id"]) == ["s1", "c1:t1", "c2:t2"]
    assert list(later["id"]) == ["c1:t2", "c1:t3"]
    assert set(later["first_id"]) == {"c1:t1"}
    same, none = split_turns(queries, pd.DataFrame(columns=["id", "conversation_id", "turn"]))
    assert list(same["id"]) == list(queries["id"]) and none.empty


def test_a_later_turn_nearer_another_cluster_changes_topic_and_a_near_tie_does_not():
    centroids = {0: np.array([1.0, 0.0, 0.0]), 1: np.array([0.0, 1.0, 0.0])}
    later = pd.DataFrame({"id": ["t2", "t3", "t4", "u2"], "first_id": ["f", "f", "f", "g"]})
    embeddings = np.array(
        [
            [0.9, 0.1, 0.0],  # still the conversation's topic
            [0.1, 0.9, 0.0],  # clearly the other cluster's topic
            [0.70, 0.72, 0.0],  # nearer cluster 1, but by less than the margin
            [0.0, 1.0, 0.0],  # its conversation's first turn is unclustered
        ]
    )
    topics = later_turn_topics(later, embeddings, {"f": 0, "g": UNCLUSTERED}, centroids)
    assert list(topics["topic_change"]) == [False, True, False, None]
    assert list(topics["nearest_cluster"]) == [0, 1, 1, 1]
    assert topics.loc[0, "similarity"] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    counted = count_topic_changes(topics, conversations=2)
    assert (counted.later_turns, counted.changes, counted.unclear) == (4, 1, 1)
    assert counted.share == pytest.approx(1 / 3)
    assert counted.ci_low < 1 / 3 < counted.ci_high
    assert counted.sentence.startswith(
        "2 conversations clustered by their first turn; 1 of 3 later turns change topic (33%"
    )
    assert "1 more follow an unclustered first turn" in counted.sentence


def test_later_turns_take_their_first_turns_cluster_category_and_place():
    assignments = pd.DataFrame(
        {
            "interaction_id": ["f", "s"],
            "base_cluster_id": [3, 4],
            "cluster_id": [3, 4],
            "outlier": [True, False],
            "reassigned": [True, False],
            "similarity": [0.8, 0.7],
            "category": ["task_execution", "chit_chat"],
            "modality": ["text_primary", "audio_primary"],
            "x": [1.5, 2.0],
            "y": [-1.0, 0.0],
            "source": ["fit", "fit"],
        }
    )
    later = pd.DataFrame({"id": ["t2", "t3"], "first_id": ["f", "f"]})
    topics = pd.DataFrame({"id": ["t3", "t2"], "similarity": [0.2, 0.6]})
    rows = follow_first_turns(assignments, later, topics)
    assert list(rows.columns) == list(assignments.columns)
    assert list(rows["interaction_id"]) == ["t2", "t3"]
    assert set(rows["cluster_id"]) == {3} and set(rows["category"]) == {"task_execution"}
    assert list(rows["similarity"]) == [0.6, 0.2]
    assert set(rows["source"]) == {"conversation"} and not rows["outlier"].any()
    assert list(rows["x"]) == [1.5, 1.5]


def test_conversation_share_counts_each_conversation_once():
    frame = pd.DataFrame(
        {
            "interaction_id": ["c1:t1", "c1:t2", "c1:t3", "c1:t4", "s1"],
            "category": ["coding"] * 4 + ["chit_chat"],
            "user_id": ["u1"] * 4 + ["u2"],
        }
    )
    shares = conversation_shares(frame, "category", ["c1:t2", "c1:t3", "c1:t4"])
    assert dict(zip(shares["label"], shares["share"], strict=True)) == {
        "chit_chat": 0.5,
        "coding": 0.5,
    }
