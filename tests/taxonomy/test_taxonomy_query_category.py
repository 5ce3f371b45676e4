"""Each query's own category (issue 23): calibrated, kept against its cluster when confident,
uncertain rather than a confident guess, paralinguistic only about voice or sound."""

from __future__ import annotations

import numpy as np
import pytest

from taxonomy.categories import NOVEL, category_scorer, load_categories
from taxonomy.query_category import (
    UNCERTAIN,
    CategoryClassifier,
    QueryCategoriser,
    decided_prior,
)


def categoriser(encode) -> QueryCategoriser:
    categories = load_categories()
    return QueryCategoriser(
        CategoryClassifier().fit(categories, encode), category_scorer(categories, encode), 0.0
    )


def file_under(encode, texts, cluster_category, cluster_weight=0.5, confidence=0.9):
    """Each text's category when its cluster was filed under `cluster_category`."""
    c = categoriser(encode)
    c.cluster_weight = cluster_weight
    prior = decided_prior(cluster_category, confidence, c.classifier.labels_)
    x = encode(texts)
    return list(
        c.categorise(
            c.proba(x, texts), np.tile(prior, (len(texts), 1)), np.zeros(len(texts), bool), x, texts
        )[0]
    )


def test_a_confident_query_keeps_its_own_category_against_its_cluster(embedder):
    texts = ["how old is the president of france", "add my mum's birthday to my calendar"]
    assert file_under(embedder.encode, texts, "task_execution") == ["knowledge", "task_execution"]
    # a vague query follows its cluster
    vague = ["what is on the twentieth"]
    assert file_under(embedder.encode, vague, "task_execution") == ["task_execution"]
    assert file_under(embedder.encode, vague, "knowledge") == ["knowledge"]


def test_recipes_are_advice_even_in_a_takeaway_cluster(embedder):
    texts = ["how do i make a lasagne", "recommend a good thai restaurant nearby",
             "order a pepperoni pizza for delivery"]  # fmt: skip
    assert file_under(embedder.encode, texts, "task_execution") == [
        "advice", "advice", "task_execution"
    ]  # fmt: skip


def test_a_query_no_category_is_sure_of_is_uncertain_not_a_confident_guess(embedder):
    c = categoriser(embedder.encode)
    texts = ["okay", "set an alarm for six"]
    x = embedder.encode(texts)
    proba = c.proba(x, texts)
    assert np.allclose(proba.sum(axis=1), 1.0)
    c.uncertain_below = float(proba[0].max()) + 1e-6  # just above the vague text's best
    labels, confidence = c.categorise(proba, np.full_like(proba, 1 / proba.shape[1]),
                                      np.zeros(2, bool), x, texts)  # fmt: skip
    assert list(labels) == [UNCERTAIN, "task_execution"]
    assert confidence[1] > confidence[0]


def test_category_probabilities_are_calibrated_on_held_out_examples(embedder):
    classifier = CategoryClassifier().fit(load_categories(), embedder.encode)
    assert 0.25 <= classifier.temperature_ <= 4.0
    # written for this test: one plain query per category
    texts = ["what is the tallest building in the world", "turn off the kitchen lights",
             "what should i cook for my parents tonight", "tell me a joke about penguins"]  # fmt: skip
    proba = classifier.predict_proba(embedder.encode(texts), texts)
    best = [classifier.labels_[j] for j in proba.argmax(axis=1)]
    assert best == ["knowledge", "task_execution", "advice", "chit_chat"]
    assert (proba.max(axis=1) > 0.5).all()


def test_the_words_of_a_request_outweigh_a_famous_name_in_it(embedder):
    # an embedding alone files "play dolly parton" near questions about famous people
    texts = ["play dolly parton", "how old is dolly parton", "who is elton john married to"]
    classifier = CategoryClassifier().fit(load_categories(), embedder.encode)
    proba = classifier.predict_proba(embedder.encode(texts), texts)
    best = [classifier.labels_[j] for j in proba.argmax(axis=1)]
    assert best == ["task_execution", "knowledge", "knowledge"]


def test_a_lone_unclustered_question_is_filed_not_called_novel(embedder):
    c = categoriser(embedder.encode)
    c.novel_threshold = 1.0  # nothing is near enough: only the rows' kind decides
    texts = ["what is a fjord", "what is a fjord"]
    x = embedder.encode(texts)
    proba = c.proba(x, texts)
    uniform = np.full_like(proba, 1 / proba.shape[1])
    labels, _ = c.categorise(proba, uniform, np.array([False, True]), x, texts)
    # unclustered: its own category; in a cluster that fits no category: novel
    assert list(labels) == ["knowledge", NOVEL]


def test_a_query_in_another_language_is_uncertain_not_a_guess_of_english_words(embedder):
    # written for this test; the classifier's examples are English, so its reading of these is
    # chance: each is uncertain unless its cluster says otherwise
    texts = ["¿cuándo fue la revolución francesa?", "sag mal, wie ist das Wetter in Berlin",
             "土耳其的首都是什么", "um so do I sound nervous to you"]  # fmt: skip
    c = categoriser(embedder.encode)
    x = embedder.encode(texts)
    proba = c.proba(x, texts)
    assert np.allclose(proba[:3], 1 / proba.shape[1])
    assert proba[3].max() > 0.5  # English with "um" and "do" is not taken for Portuguese
    uniform = np.full_like(proba, 1 / proba.shape[1])
    labels, _ = c.categorise(proba, uniform, np.zeros(len(texts), bool), x, texts)
    assert list(labels) == [UNCERTAIN, UNCERTAIN, UNCERTAIN, "paralinguistic"]
    # in a cluster confidently filed by an LLM or an analyst, it follows the cluster
    assert file_under(embedder.encode, texts[:1], "knowledge", confidence=0.9) == ["knowledge"]


def test_paralinguistic_only_for_queries_about_voice_or_sound(embedder):
    texts = ["how long do parrots live", "do i sound nervous right now"]
    out = file_under(embedder.encode, texts, "paralinguistic", confidence=0.99)
    assert out[0] != "paralinguistic" and out[1] == "paralinguistic"


def test_a_categories_file_of_two_categories_gives_two_probabilities(embedder, tmp_path):
    # two classes: scikit-learn's decision_function gives one column, not two
    from taxonomy.categories import load_categories as load

    path = tmp_path / "categories.yaml"
    path.write_text(
        "version: 1\ncategories:\n"
        "  - name: digits\n    definition: '1'\n    examples: ['1', '2', '3']\n"
        "  - name: marks\n    definition: '!'\n    examples: ['!', '?', '.']\n",
        encoding="utf-8",
    )
    empty_bank = tmp_path / "use_cases.yaml"
    empty_bank.write_text(  # its one use case is of a category this file lacks: not learned
        "version: 1\nuse_cases:\n  - name: Facts\n    theme: Facts\n    category: knowledge\n"
        "    description: Facts.\n    examples: ['what is the capital of peru']\n",
        encoding="utf-8",
    )
    classifier = CategoryClassifier().fit(load(path), embedder.encode, empty_bank)
    proba = classifier.predict_proba(embedder.encode(["7", "?!"]), ["7", "?!"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_a_categories_file_without_audio_examples_is_refused_by_name(embedder, tmp_path):
    from taxonomy.categories import load_categories as load
    from taxonomy.errors import CategoriesError
    from taxonomy.modality import ModalityClassifier

    path = tmp_path / "categories.yaml"
    path.write_text(
        "version: 1\ncategories:\n"
        "  - name: pets\n    definition: pets\n    examples: ['why does my dog bark']\n",
        encoding="utf-8",
    )
    with pytest.raises(CategoriesError, match=r"categories\.yaml: no audio-primary examples"):
        ModalityClassifier().fit(load(path), embedder.encode)
