"""Offline names a person can read: use-case bank, mined phrases, themed parents, per-query
categories (issue 23)."""

from __future__ import annotations

import numpy as np
import pytest

from arenalens.labeler.base import LabelerError
from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.labeler.names import (
    UseCase,
    UseCaseBank,
    gerund,
    load_use_cases,
    phrase_name,
)
from arenalens.privacy import mask_pii
from taxonomy.categories import category_scorer, load_categories, query_categories
from taxonomy.describe import ClusterDescriber, name_groups_offline
from taxonomy.hierarchy import MISCELLANEOUS, ClusterHierarchy

# written for these tests; not from the shipped bank or any evaluation set
TOPICS = {
    "alarm": ["set an alarm for seven", "wake me up at six with an alarm", "alarm for tomorrow morning",
              "cancel my alarm", "set alarm at noon", "change my morning alarm to eight"],
    "weather": ["what is the weather today", "will it rain tomorrow", "weather forecast for paris",
                "is it sunny outside", "how cold is it today", "will it snow this weekend"],
    "lights": ["turn off the bedroom lights", "dim the lights in the hall", "switch the lamp on",
               "make the lights red", "lights off please", "turn on the porch light"],
    "zorblax": ["zorblax quarn the vintle", "zorblax quarn my vintle now", "please zorblax quarn vintle",
                "zorblax the vintle quarn", "quarn the zorblax vintle", "zorblax quarn vintle again"],
}  # fmt: skip


def topic_data(encode):
    texts = [t for group in TOPICS.values() for t in group]
    labels = np.repeat(np.arange(len(TOPICS)), 6)
    return texts, encode(texts), labels


def test_shipped_bank_is_valid_and_plain():
    bank = load_use_cases()
    assert len(bank) >= 40
    for use_case in bank:
        assert 1 <= len(use_case.name.split()) <= 6 and "/" not in use_case.name
        assert use_case.theme and use_case.description.endswith(".")
        assert "_" not in use_case.name and "_" not in use_case.theme
    categories = {u.category for u in bank}
    assert categories <= {*load_categories().names, ""}


def test_bank_file_errors_name_the_file_and_entry(tmp_path):
    path = tmp_path / "use_cases.yaml"
    path.write_text("use_cases:\n  - name: Alarms\n    theme: Time\n    description: x.\n")
    with pytest.raises(LabelerError, match=r"use_cases.yaml: use case #1 \(Alarms\): `examples`"):
        load_use_cases(path)


def test_clusters_get_plain_distinct_names_never_keyword_pairs(embedder):
    texts, x, labels = topic_data(embedder.encode)
    described = ClusterDescriber(EmbeddingLabeler(embedder), n_central=6).fit(texts, x, labels)
    names = {k: d.name for k, d in described.descriptions_.items()}
    assert names[0] == "Setting alarms"
    assert names[1] == "Weather forecasts"
    assert names[2] == "Smart-home lighting"
    # no use case fits the made-up commands: a phrase from the cluster's own words
    assert "zorblax" in names[3].lower() or "quarn" in names[3].lower()
    assert not any(" / " in n for n in names.values())
    assert len(set(names.values())) == 4
    alarm = described.descriptions_[0]
    assert alarm.theme == "Alarms, timers and reminders"
    assert "Most typical: “" in alarm.description and alarm.description.endswith("”.")
    assert described.descriptions_[3].theme == ""


def test_a_use_case_name_goes_to_the_best_fitting_sibling_only(embedder):
    encode = embedder.encode
    groups = {
        0: ["set an alarm for seven", "wake me up at six", "set my alarm for five thirty"],
        1: ["alarm at noon", "alarm for monday", "set an alarm"],
    }
    centroids = {k: encode(v).mean(axis=0) for k, v in groups.items()}
    bank = UseCaseBank(load_use_cases(), encode)
    names, _ = name_groups_offline(
        bank, encode, groups, centroids, {0: ["wake"], 1: ["alarm noon", "monday"]}
    )
    assert sorted(n for n, _, _ in names.values()).count("Setting alarms") == 1
    assert len({n for n, _, _ in names.values()}) == 2


def test_phrase_names_follow_the_form_of_the_queries():
    assert phrase_name(["turn lights"], ["turn lights on", "turn lights off"])[0] == (
        "Turning lights"
    )
    assert phrase_name(["capital"], ["what is the capital of peru", "what's the capital city"])[
        0
    ] == ("Questions about capital")
    assert phrase_name(["zorblax"], ["zorblax the vintle"])[0] == "Queries about zorblax"
    assert gerund("set") == "setting" and gerund("make") == "making" and gerund("play") == "playing"


def test_a_term_that_masking_would_change_never_becomes_a_name():
    term = "call 555 123 4567"
    assert mask_pii(term) != term
    name, _ = phrase_name([term, "dentist"], ["call the dentist", "call 555 123 4567 now"])
    assert "555" not in name and name == "Queries about dentist"


def test_parents_hold_one_theme_and_say_so_when_miscellaneous():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(4, 16))
    centroids = np.stack([base[0], base[0] + 0.01, base[1], base[2], base[3]])
    themes = {0: "Calendar and schedule", 1: "Calendar and schedule", 2: "Weather", 3: "", 4: ""}
    categories = {3: "novel", 4: "novel"}
    names = {0: "Calendar and meetings", 1: "Reminders", 2: "Weather forecasts", 3: "A", 4: "B"}
    hierarchy = ClusterHierarchy(None).fit(
        np.arange(5),
        centroids,
        np.array([50, 40, 30, 5, 4]),
        None,
        themes=themes,
        names=names,
        categories=categories,
    )
    parent_of = hierarchy.parent_of_
    assert parent_of[0] == parent_of[1] != parent_of[2]
    parent_names = {p: n for p, (n, _, _) in hierarchy.parent_names_.items()}
    assert parent_names[parent_of[0]] == "Calendar and schedule"
    assert parent_names[parent_of[2]] == "Weather"
    # two unrelated clusters with no theme: one Miscellaneous parent, described as such
    assert parent_of[3] == parent_of[4] and parent_names[parent_of[3]] == MISCELLANEOUS
    assert "share no theme" in hierarchy.parent_names_[parent_of[3]][1]


def test_a_confident_query_keeps_its_own_category_against_its_cluster(embedder):
    categories = load_categories()
    scorer = category_scorer(categories, embedder.encode)
    texts = ["how old is the president of france", "add my mum's birthday to my calendar"]
    out = query_categories(
        scorer, embedder.encode(texts), ["task_execution", "task_execution"], 0.0, 0.1
    )
    assert list(out) == ["knowledge", "task_execution"]
    # with an impossible margin every query follows its cluster
    same = query_categories(
        scorer, embedder.encode(texts), ["task_execution", "task_execution"], 0.0, 9.0
    )
    assert list(same) == ["task_execution", "task_execution"]


def test_bank_fit_rejects_a_group_that_fits_no_use_case(embedder):
    bank = UseCaseBank(
        [UseCase("Setting alarms", "Alarms", "Alarms.", ("set an alarm for seven",))],
        embedder.encode,
    )
    fitting, theme = bank.choose(embedder.encode(["zorblax quarn the vintle"]), np.zeros((0, 384)))
    assert fitting == [] and theme == ""


def test_phrase_names_pair_two_different_topics_and_name_other_languages():
    name, _ = phrase_name(
        ["meeting", "meetings", "does", "dentist"], ["when is my meeting", "meetings today"]
    )
    assert name == "Questions about meeting and dentist"
    spanish = ["qué es la fotosíntesis", "cuándo fue la revolución", "dónde está la playa"]
    assert phrase_name(["fotosíntesis"], spanish)[0] == "Queries in Spanish"
    assert phrase_name(["首都"], ["澳大利亚的首都是哪里", "你好", "加拿大的首都"])[0] == (
        "Queries in Chinese or Japanese"
    )


def test_clusters_alike_no_other_are_grouped_by_category_not_in_one_drawer():
    rng = np.random.default_rng(1)
    centroids = rng.normal(size=(4, 16))
    hierarchy = ClusterHierarchy(None).fit(
        np.arange(4), centroids, np.array([9, 8, 7, 6]), None,
        themes=dict.fromkeys(range(4), ""), names={k: f"n{k}" for k in range(4)},
        categories={0: "knowledge", 1: "knowledge", 2: "advice", 3: "novel"},
    )  # fmt: skip
    names = {k: hierarchy.parent_names_[p][0] for k, p in hierarchy.parent_of_.items()}
    assert names == {0: "Other factual questions", 1: "Other factual questions",
                     2: "Other advice", 3: MISCELLANEOUS}  # fmt: skip


def test_parent_names_join_children_topics_without_numbered_repeats():
    from taxonomy.hierarchy import _and_name

    assert _and_name(["Questions about jupiter and mars", "Questions about moon and sun"]) == (
        "Questions about jupiter and moon"
    )
    assert _and_name(["Queries in German (2)", "Queries in German"]) == "Queries in German"
    assert _and_name(["Setting alarms", "Reminders"]) == "Setting alarms and reminders"


def test_a_workspace_use_case_bank_replaces_the_shipped_one(tmp_path, embedder):
    from taxonomy.categories import CategoriesError, resolve_use_cases

    assert resolve_use_cases(None, tmp_path) is None
    bank = tmp_path / "use_cases.yaml"
    bank.write_text(
        "use_cases:\n  - name: Zorblax rituals\n    theme: Rituals\n"
        "    description: Zorblax things.\n    examples: [zorblax quarn the vintle]\n"
    )
    assert resolve_use_cases(None, tmp_path) == str(bank)
    with pytest.raises(CategoriesError, match="use-case file not found"):
        resolve_use_cases(tmp_path / "missing.yaml")
    texts, x, labels = topic_data(embedder.encode)
    described = ClusterDescriber(EmbeddingLabeler(embedder), n_central=6, use_cases=str(bank)).fit(
        texts, x, labels
    )
    assert described.descriptions_[3].name == "Zorblax rituals"
    assert described.descriptions_[0].name != "Setting alarms"


def test_paralinguistic_only_for_queries_about_voice_or_sound(embedder):
    categories = load_categories()
    scorer = category_scorer(categories, embedder.encode)
    texts = ["how long do parrots live", "do i sound nervous right now"]
    out = query_categories(
        scorer, embedder.encode(texts), ["paralinguistic", "paralinguistic"], 0.0, 0.1, texts
    )
    assert out[0] != "paralinguistic" and out[1] == "paralinguistic"
