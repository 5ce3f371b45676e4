"""Cluster descriptions: c-TF-IDF keywords, central texts, contrastive naming, the hierarchy."""

from __future__ import annotations

import numpy as np
from taxonomy_fixtures import KeywordLabeler

from taxonomy.describe import ClusterDescriber, class_tfidf_keywords, dedupe_names
from taxonomy.hierarchy import ClusterHierarchy

TOPICS = {
    "alarm": ["set an alarm for seven", "wake me up at six with an alarm", "alarm for tomorrow morning",
              "cancel my alarm", "set alarm at noon"],
    "weather": ["what is the weather today", "will it rain tomorrow", "weather forecast for paris",
                "is it sunny outside", "how cold is it today weather"],
    "music": ["play some jazz music", "play my music playlist", "play the next song",
              "music by queen please", "play relaxing music"],
    "timer": ["set a timer for ten minutes", "start a timer for the pasta", "how long is left on my timer",
              "cancel the timer", "timer for five minutes"],
}  # fmt: skip


def topic_data(encode):
    texts = [t for group in TOPICS.values() for t in group]
    labels = np.repeat(np.arange(len(TOPICS)), 5)
    return texts, encode(texts), labels


def test_ctfidf_keywords_name_what_sets_a_cluster_apart():
    texts, _, labels = topic_data(lambda t: None)
    keywords = class_tfidf_keywords(texts, labels, top_n=3)
    assert "alarm" in keywords[0]
    assert "weather" in keywords[1]
    assert "music" in keywords[2] or "play" in keywords[2]
    assert "timer" in keywords[3]


def test_keywords_leave_out_spoken_fillers_and_contraction_stubs():
    spoken = ["um I've always wondered why the sky is blue haha",
              "okay so I've wondered why the sky is blue lol", "hmm why is the sky blue um"]  # fmt: skip
    texts = [*spoken, *TOPICS["alarm"]]
    keywords = class_tfidf_keywords(texts, np.array([0] * 3 + [1] * 5), top_n=8)
    words = {w for term in keywords[0] for w in term.split()}
    assert "sky" in words and "blue" in words
    assert not words & {"um", "ve", "haha", "lol", "okay", "hmm"}


def test_a_keyword_is_said_by_two_distinct_queries_not_one_repeated():
    times = ["what time is it in dooa", "what time is it in dooa", "what time is it in tokyo",
             "time in tokyo now", "what is the time zone of tokyo", "tell me the time zone"]  # fmt: skip
    texts = [*times, *TOPICS["alarm"]]
    keywords = class_tfidf_keywords(texts, np.array([0] * 6 + [1] * 5), top_n=8)
    words = {w for term in keywords[0] for w in term.split()}
    assert "tokyo" in words and "dooa" not in words


def test_outliers_get_no_keywords():
    keywords = class_tfidf_keywords(["alarm now", "weather now"], np.array([0, -1]))
    assert list(keywords) == [0]


def test_describer_calls_the_labeler_once_per_cluster_with_nearest_clusters_as_contrast(encode):
    texts, x, labels = topic_data(encode)
    labeler = KeywordLabeler()
    described = ClusterDescriber(
        labeler, n_central=3, n_contrast_clusters=1, n_contrast_texts=2
    ).fit(texts, x, labels)
    assert len(labeler.calls) == 4
    alarm_call = next(call for call in labeler.calls if any("alarm" in t for t in call[0]))
    assert all("alarm" in t for t in alarm_call[0])
    assert len(alarm_call[1]) == 2 and not any("alarm" in t for t in alarm_call[1])
    # the alarm cluster's nearest other cluster is the timer cluster
    assert all("timer" in t for t in alarm_call[1])
    description = described.descriptions_[0]
    assert description.size == 5 and len(description.central_texts) == 3
    assert description.keywords and description.labeler == labeler.name


def test_repeated_names_become_unique():
    names = dedupe_names({0: ("Music", "", ""), 1: ("music", "", ""), 2: ("Alarm", "", "")}, {})
    assert [v[0] for v in names.values()] == ["Music", "music (2)", "Alarm"]


def test_hierarchy_groups_similar_clusters_under_named_parents(encode):
    texts, x, labels = topic_data(encode)
    ids = np.arange(4)
    centroids = np.stack([x[labels == k].mean(axis=0) for k in ids])
    labeler = KeywordLabeler()
    hierarchy = ClusterHierarchy(labeler, n_parents=2).fit(
        ids,
        centroids,
        np.full(4, 5),
        {k: [texts[i] for i in np.flatnonzero(labels == k)] for k in ids},
    )
    assert hierarchy.n_parents_ == 2
    assert hierarchy.parent_of_[0] == hierarchy.parent_of_[3]  # alarm and timer together
    assert set(hierarchy.parent_names_) == {0, 1}
    assert len(labeler.calls) == 2
