"""Categories file, cluster -> category mapping with a 'novel' flag, and query modality."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from taxonomy.categories import (
    DEFAULT_CATEGORIES_PATH,
    NOVEL,
    UNCERTAIN,
    CategoryMapper,
    calibrate_novel_threshold,
    category_scorer,
    load_categories,
    resolve_categories,
)
from taxonomy.errors import CategoriesError
from taxonomy.modality import AUDIO_PRIMARY, TEXT_PRIMARY, ModalityClassifier, final_modality
from taxonomy.query_category import CategoryClassifier


def test_default_categories_are_the_issue_list():
    categories = load_categories()
    assert categories.names == [
        "knowledge",
        "task_execution",
        "advice",
        "chit_chat",
        "paralinguistic",
        "other",
    ]
    assert categories.modality_of("paralinguistic") == AUDIO_PRIMARY
    assert categories.modality_of("knowledge") == TEXT_PRIMARY
    assert categories.audio_cues and categories.audio_examples


@pytest.mark.parametrize(
    "text",
    ["is my pronunciation of croissant right", "am i pronouncing it well", "how do i sound",
     "what's that noise in the background", "can you hear the birds", "how noisy is it here",
     "can you tell where i'm from by how i talk", "am i singing off key"],
)  # fmt: skip
def test_the_paralinguistic_gate_admits_every_way_of_naming_the_voice_or_a_sound(text: str):
    gate = next(c.requires for c in load_categories().categories if c.name == "paralinguistic")
    assert gate.search(text)
    assert not gate.search("how long do parrots live")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("categories: []", "non-empty list"),
        (
            "categories:\n  - name: Knowledge\n    definition: d\n    examples: [a]",
            "lower_snake_case",
        ),
        ("categories:\n  - name: knowledge\n    examples: [a]", "'definition'"),
        ("categories:\n  - name: knowledge\n    definition: d", "'examples'"),
        ("categories:\n  - name: novel\n    definition: d\n    examples: [a]", "reserved"),
        (
            "categories:\n  - name: k\n    definition: d\n    modality: video\n    examples: [a]",
            "'modality'",
        ),
        (
            "categories:\n  - name: k\n    definition: d\n    examples: [a]\n"
            "modalities:\n  audio_primary:\n    cues: ['(unclosed']",
            "not a valid regex",
        ),
    ],
)
def test_invalid_categories_file_is_refused_naming_the_field(
    tmp_path: Path, body: str, message: str
):
    path = tmp_path / "categories.yaml"
    path.write_text(body)
    with pytest.raises(CategoriesError, match=message) as info:
        load_categories(path)
    assert str(path) in str(info.value)


def test_workspace_categories_file_replaces_the_default(tmp_path: Path):
    (tmp_path / "categories.yaml").write_text(
        "categories:\n  - name: pets\n    definition: about pets\n    examples: [feed the cat]\n"
    )
    assert resolve_categories(None, tmp_path).names == ["pets"]
    assert resolve_categories(None, tmp_path / "elsewhere").source == str(DEFAULT_CATEGORIES_PATH)


def test_clusters_map_to_fitting_categories_and_an_unrelated_cluster_is_novel(encode):
    categories = load_categories()
    scorer = category_scorer(categories, encode)
    threshold = calibrate_novel_threshold(scorer)
    assert 0.05 < threshold < 0.5
    clusters = {
        0: ["set an alarm for six am", "wake me up at seven", "alarm for half past five please"],
        1: ["what is the capital of peru", "how far away is mars", "who wrote the great gatsby"],
        2: ["tell me a joke", "how are you doing today", "you are so funny"],
        # not something people say to a voice assistant at all: source code
        3: [
            "def area(r): return 3.14 * r ** 2",
            "SELECT id FROM users WHERE age > 30;",
            "for (int i = 0; i < n; i++) {}",
        ],
        # another language: nothing to read it by, so uncertain rather than novel or a guess
        4: ["wie spät ist es in Tokio", "was ist die Hauptstadt von Peru", "sag mal einen Witz"],
    }
    classifier = CategoryClassifier().fit(categories, encode)
    priors = {k: classifier.predict_proba(encode(v), v).mean(axis=0) for k, v in clusters.items()}
    mapper = CategoryMapper(categories, "embedding", novel_threshold=threshold).fit(
        {k: encode(v) for k, v in clusters.items()}, scorer, central_texts=clusters, priors=priors
    )
    decisions = mapper.decisions_
    assert decisions[0].category == "task_execution"
    assert decisions[1].category == "knowledge"
    assert decisions[2].category == "chit_chat"
    assert decisions[3].category == NOVEL and decisions[3].novel
    assert decisions[4].category == UNCERTAIN and not decisions[4].novel


def test_audio_primary_queries_are_told_from_text_primary(encode):
    categories = load_categories()
    classifier = ModalityClassifier().fit(categories, encode)
    audio = ["how do i sound today", "what accent do i have", "is my pronunciation of this word right",
             "can you hear the noise in the background", "do i sound tired to you"]  # fmt: skip
    text = ["what is the capital of france", "set a timer for ten minutes", "play some music",
            "recommend a good book", "what's the weather tomorrow"]  # fmt: skip
    labels, _ = classifier.predict(audio + text, encode(audio + text))
    assert list(labels[: len(audio)]) == [AUDIO_PRIMARY] * len(audio)
    assert list(labels[len(audio) :]) == [TEXT_PRIMARY] * len(text)


def test_real_voice_assistant_commands_are_almost_all_text_primary(
    slurp_rows, slurp_embeddings, encode
):
    classifier = ModalityClassifier().fit(load_categories(), encode)
    labels, _ = classifier.predict([r["sentence"] for r in slurp_rows], slurp_embeddings)
    assert np.mean(labels == AUDIO_PRIMARY) < 0.03  # measured 0.9% on SLURP devel


def test_an_audio_primary_category_makes_its_queries_audio_primary():
    out = final_modality(
        [TEXT_PRIMARY, AUDIO_PRIMARY, TEXT_PRIMARY], [AUDIO_PRIMARY, TEXT_PRIMARY, None]
    )
    assert out.tolist() == [AUDIO_PRIMARY, AUDIO_PRIMARY, TEXT_PRIMARY]


def test_uncertain_and_novel_queries_count_as_wrong_and_are_reported():
    import pandas as pd

    from taxonomy.evaluate import category_accuracy

    predicted = pd.Series(["knowledge", "uncertain", "task_execution", "novel"])
    gold = pd.Series(["qa", "qa", "alarm", "alarm"])
    out = category_accuracy(predicted, gold, {"qa": "knowledge", "alarm": "task_execution"})
    assert out["category_accuracy"] == 0.5 and out["category_unsure_share"] == 0.5
    assert out["category_accuracy_when_filed"] == 1.0


def test_eval_reports_recall_and_precision_per_category_not_one_figure_twice():
    import pandas as pd

    from taxonomy.evaluate import category_accuracy

    # three factual questions, two of them filed as tasks beside the one real task
    predicted = pd.Series(["knowledge", "task_execution", "task_execution", "task_execution"])
    gold = pd.Series(["qa", "qa", "qa", "alarm"])
    out = category_accuracy(predicted, gold, {"qa": "knowledge", "alarm": "task_execution"})
    assert out["category_recall"] == {"knowledge": 1 / 3, "task_execution": 1.0}
    assert out["category_precision"] == {"knowledge": 1.0, "task_execution": 1 / 3}
    # nothing filed under a category: no precision, and `--json` stays valid JSON
    none_filed = category_accuracy(
        pd.Series(["knowledge", "uncertain"]), pd.Series(["qa", "alarm"]),
        {"qa": "knowledge", "alarm": "task_execution"},
    )  # fmt: skip
    assert none_filed["category_precision"] == {"knowledge": 1.0, "task_execution": None}


def test_show_says_when_a_cluster_files_its_queries_under_several_categories():
    from taxonomy.cli import _mix_note

    mix = {"task_execution": 0.7, "knowledge": 0.2, "uncertain": 0.1}
    assert _mix_note("task_execution", mix) == " (also 20% knowledge, 10% uncertain)"
    assert _mix_note("task_execution", {"task_execution": 0.95, "knowledge": 0.05}) == ""
