"""Clusters that mix use-case themes are split, one part per theme; coherent ones are not."""

from __future__ import annotations

import numpy as np

from arenalens.labeler.use_case_bank import UseCaseBank, load_use_cases
from taxonomy.pipeline import BuildSummary
from taxonomy.split import split_mixed_clusters

TAKEAWAY = [
    "order a pizza for delivery", "get me thai takeaway tonight", "order sushi from the usual place",
    "i want chinese food delivered", "order a burger from mcdonalds", "can you order me a curry",
    "get a pepperoni pizza delivered to my house", "order pad thai for two",
    "i'd like to order takeout from the indian place", "deliver some noodles to my flat",
]  # fmt: skip
RECIPES = [
    "how do i make lasagna", "give me a recipe for pancakes", "how long do i boil an egg",
    "what can i cook with chicken and rice", "how do you make tomato soup",
    "recipe for chocolate chip cookies", "how do i bake bread at home", "how to cook salmon",
    "what's a good recipe for chili", "how do i make guacamole",
]  # fmt: skip
ALARMS = [
    "set an alarm for six am", "wake me up at seven", "set an alarm for tomorrow morning",
    "cancel my alarm", "turn off the alarm for monday", "set an alarm in twenty minutes",
    "change my alarm to eight thirty", "alarm at five thirty please", "delete all my alarms",
    "set a wake up alarm for nine",
]  # fmt: skip


def test_a_cluster_of_takeaway_orders_and_recipes_splits_and_alarms_stay_whole(encode):
    texts = TAKEAWAY + RECIPES + ALARMS
    labels = np.array([0] * 20 + [1] * 10)
    bank = UseCaseBank(load_use_cases(), encode)
    split, split_from = split_mixed_clusters(labels, encode(texts), texts, bank, min_size=5)
    assert split_from == {2: 0}
    takeaway, recipes = set(split[:10].tolist()), set(split[10:20].tolist())
    assert len(takeaway) == 1 and len(recipes) == 1 and takeaway != recipes
    assert (split[20:] == 1).all()
    # a part must hold min_size queries: with a larger minimum nothing splits
    unsplit, none = split_mixed_clusters(labels, encode(texts), texts, bank, min_size=11)
    assert none == {} and (unsplit == labels).all()


def test_outliers_stay_out_and_a_small_bank_does_not_split(encode, tmp_path):
    texts = TAKEAWAY + RECIPES
    labels = np.array([0] * 19 + [-1])
    bank = UseCaseBank(load_use_cases(), encode)
    split, _ = split_mixed_clusters(labels, encode(texts), texts, bank, min_size=5)
    assert split[-1] == -1 and len(set(split[:19].tolist())) == 2
    small = tmp_path / "bank.yaml"
    small.write_text(
        "use_cases:\n"
        "  - {name: Takeaway, theme: Food delivery, description: Ordering food., "
        "examples: [order a pizza]}\n"
        "  - {name: Recipes, theme: Cooking, description: Cooking help., "
        "examples: [how do i make soup]}\n",
        encoding="utf-8",
    )
    small_bank = UseCaseBank(load_use_cases(small), encode)
    same, split_from = split_mixed_clusters(labels, encode(texts), texts, small_bank, min_size=5)
    assert split_from == {} and (same == labels).all()


def test_a_cluster_in_another_language_stays_whole(encode):
    texts = [
        "bestelle eine pizza für mich", "ich möchte chinesisches essen bestellen",
        "bestelle sushi nach hause", "wie mache ich eine lasagne", "wie koche ich reis",
        "ein rezept für pfannkuchen bitte", "bestelle einen burger", "wie backe ich brot",
        "bestelle thai essen", "wie mache ich suppe", "ich will eine pizza bestellen",
        "wie koche ich nudeln",
    ]  # fmt: skip
    labels = np.zeros(len(texts), dtype=np.int64)
    bank = UseCaseBank(load_use_cases(), encode)
    split, split_from = split_mixed_clusters(labels, encode(texts), texts, bank, min_size=3)
    assert split_from == {} and (split == 0).all()


def test_the_build_line_says_how_many_clusters_were_split_off():
    metrics = {"n_queries": 640, "n_clusters": 30, "n_parents": 9, "outlier_share": 0.03,
               "outlier_share_raw": 0.1, "novel_clusters": 0}  # fmt: skip
    assert "split off" not in BuildSummary(1, None, metrics, {}).line()
    metrics["clusters_split_by_theme"] = 2
    assert "; 2 clusters split off where themes mixed" in BuildSummary(1, None, metrics, {}).line()
