"""Each query's category: a small calibrated classifier trained on shipped examples, combined with
its cluster's, and "uncertain" where neither is sure.

Trained only on hand-written text shipped as data: the categories file's examples and
definitions and the use-case bank's examples (data/use_cases.yaml). Each use case is a class of
its own, so that near neighbours of different categories ("Traffic and directions", a task, and
"Geography facts", knowledge) are learned apart; a category's probability is the sum of its
classes'. The model is a multinomial logistic regression on unit embeddings. Its category
probabilities are then sharpened or flattened by a temperature (p ** (1 / T), renormalised; the
best category does not change) fitted by stratified 5-fold cross-validation on the same
examples (lowest log-loss of the held-out folds), so they are calibrated on examples it did not
see. Beside the embedding, the model reads the words themselves (TF-IDF of words and word pairs,
scaled by `lexical_weight`): an embedding puts "play michael jackson" near questions about
famous people, while the word "play" says it is a request. Real queries are messier than the
examples: the threshold for `uncertain` is set where the categories of such queries become more
often wrong than right (benchmarks/README.md).

A query's posterior is its own probabilities times its cluster's prior raised to
`cluster_weight`, renormalised. The prior is the mean own probability of the cluster's queries
(uniform for unclustered queries and clusters that fit no category), so a cluster of calendar
requests pulls a vague "what is on the twentieth" to task execution while "how old is Clint
Eastwood" in that cluster stays knowledge. A query whose best posterior is below
`uncertain_below` is filed as `uncertain` rather than under a category it probably is not in.
A category with a `requires` pattern gets probability 0 for a text that does not match it.
A query in another language (`arenalens.labeler.names.query_language`) gets uniform own
probabilities: the examples and the word features are English, so what the classifier says of
such text is chance (on the sample arena's non-English queries it was right for 37%, each filed
as confidently as English ones). Its category then comes from its cluster alone, and a group of
such queries is `uncertain`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from threadpoolctl import threadpool_limits

from arenalens.labeler.names import query_language
from arenalens.labeler.text_classes import (
    TextFeatures,
    class_scores,
    remembered,
    softmax,
    spoken_variant,
)
from taxonomy.categories import NOVEL, UNCERTAIN, CategorySet, Encoder, PrototypeScorer
from taxonomy.cluster import UNCLUSTERED

TEMPERATURES = np.round(np.arange(0.25, 4.01, 0.05), 2)
_FITTED: dict[str, tuple[LogisticRegression, float]] = {}  # training set -> (model, temperature)


def training_set(
    categories: CategorySet, use_cases: str | Path | None = None
) -> tuple[list[str], list[str], dict[str, str]]:
    """(texts, class per text, class -> category): each category's examples and definition, and
    each use case of the bank filed under a category of this set, each text also as a
    `spoken_variant`."""
    from arenalens.labeler.use_case_bank import load_use_cases

    texts: list[str] = []
    classes: list[str] = []
    category_of: dict[str, str] = {}
    for category in categories.categories:
        name = f"category: {category.name}"
        category_of[name] = category.name
        for text in dict.fromkeys([*category.examples, category.definition]):
            texts.append(text)
            classes.append(name)
    for use_case in load_use_cases(use_cases):
        if use_case.category not in categories.names:
            continue
        name = f"use case: {use_case.name}"
        category_of[name] = use_case.category
        texts.extend(use_case.examples)
        classes.extend([name] * len(use_case.examples))
    return texts + [spoken_variant(t) for t in texts], classes + classes, category_of


class CategoryClassifier(BaseEstimator):
    """Calibrated per-query category probabilities (see the module docstring)."""

    def __init__(
        self, C: float = 16.0, folds: int = 5, random_state: int = 0, lexical_weight: float = 0.6
    ):
        self.C = C
        self.folds = folds
        self.random_state = random_state
        self.lexical_weight = lexical_weight

    def fit(
        self, categories: CategorySet, encode: Encoder, use_cases: str | Path | None = None
    ) -> CategoryClassifier:
        """Learned: labels_ (category names), features_ (embedding and TF-IDF words), model_,
        temperature_, to_category_, gates_."""
        texts, classes, category_of = training_set(categories, use_cases)
        self.labels_ = categories.names
        self.gates_ = {c.name: c.requires for c in categories.categories if c.requires}
        self.features_ = TextFeatures(texts, self.lexical_weight)
        embeddings = np.asarray(encode(texts), dtype=np.float32)
        x = self.features_.transform(embeddings, texts)
        key = hashlib.sha256(
            repr(
                (self.C, self.folds, self.random_state, self.lexical_weight, texts, classes)
            ).encode()
            + embeddings.tobytes()
        ).hexdigest()

        def fit() -> tuple[LogisticRegression, float]:
            with threadpool_limits(limits=1, user_api="blas"):  # small problem: threads only cost
                # an example and its spoken variant stay in the same fold
                groups = np.arange(len(texts)) % max(len(texts) // 2, 1)
                return self._fit_model(x, np.asarray(classes), groups, category_of)

        self.model_, self.temperature_ = remembered(_FITTED, key, fit, limit=8)
        self.to_category_ = np.array(
            [[category_of[c] == name for name in self.labels_] for c in self.model_.classes_],
            dtype=np.float64,
        )
        return self

    def _fit_model(
        self,
        x: np.ndarray | sparse.csr_matrix,
        y: np.ndarray,
        groups: np.ndarray,
        category_of: dict[str, str],
    ) -> tuple[LogisticRegression, float]:
        model = LogisticRegression(C=self.C, max_iter=3000).fit(x, y)
        classes = list(model.classes_)
        counts = np.unique(y, return_counts=True)[1]
        folds = int(min(self.folds, counts.min()))
        if folds < 2 or len(classes) < 2:
            return model, 1.0
        # out-of-fold scores for every example, then the temperature with the lowest log-loss
        # of the true *category* (a use case mistaken for a sibling of its category is no error)
        scores = np.full((len(y), len(classes)), -50.0)
        split = StratifiedGroupKFold(folds, shuffle=True, random_state=self.random_state)
        for train, test in split.split(x, y, groups):
            part = LogisticRegression(C=self.C, max_iter=3000).fit(x[train], y[train])
            columns = [classes.index(c) for c in part.classes_]
            scores[np.ix_(test, columns)] = class_scores(part, x[test])
        names = sorted(set(category_of.values()))
        to_category = np.array([[category_of[c] == n for n in names] for c in classes], float)
        truth = np.array([names.index(category_of[c]) for c in y])
        proba = softmax(scores) @ to_category
        losses = [
            -np.mean(np.log(_temper(proba, t)[np.arange(len(y)), truth])) for t in TEMPERATURES
        ]
        return model, float(TEMPERATURES[int(np.argmin(losses))])

    def predict_proba(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """(n, n_categories) calibrated probabilities, columns in `labels_` order; 0 for a
        category whose `requires` pattern the text does not match; uniform for a text in another
        language."""
        if len(embeddings) == 0:
            return np.zeros((0, len(self.labels_)))
        scores = class_scores(self.model_, self.features_.transform(embeddings, texts))
        proba = _temper(softmax(scores) @ self.to_category_, self.temperature_)
        for j, label in enumerate(self.labels_):
            if label in self.gates_:
                unmet = np.array([not self.gates_[label].search(str(t)) for t in texts])
                proba[unmet, j] = 0.0
        total = proba.sum(axis=1, keepdims=True)
        proba = np.where(total > 0, proba / np.maximum(total, 1e-12), 1.0 / len(self.labels_))
        foreign = np.array([bool(query_language([str(t)])) for t in texts])
        proba[foreign] = 1.0 / len(self.labels_)
        return proba


def _temper(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities p ** (1 / T), renormalised per row (T < 1 sharpens, T > 1 flattens)."""
    log = np.log(np.maximum(proba, 1e-12)) / temperature
    return softmax(log)


def cluster_priors(proba: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    """Each cluster's prior: the mean own probability of its queries (outliers have none)."""
    labels = np.asarray(labels)
    return {
        int(k): proba[labels == k].mean(axis=0)
        for k in sorted(set(labels.tolist()) - {UNCLUSTERED})
    }


def decided_prior(category: str, confidence: float, labels: Sequence[str]) -> np.ndarray:
    """A prior from a cluster's decided category (an LLM's call or an analyst's edit): its
    confidence on that category, the rest spread evenly; uniform for an unknown category."""
    k = len(labels)
    if category not in labels or k < 2:
        return np.full(k, 1.0 / max(k, 1))
    confidence = float(np.clip(confidence, 1.0 / k, 0.99))
    prior = np.full(k, (1.0 - confidence) / (k - 1))
    prior[list(labels).index(category)] = confidence
    return prior


def query_posteriors(proba: np.ndarray, priors: np.ndarray, cluster_weight: float) -> np.ndarray:
    """Own probabilities times the cluster's prior ** cluster_weight, renormalised per row."""
    if len(proba) == 0:
        return proba
    log = np.log(np.maximum(proba, 1e-12)) + cluster_weight * np.log(np.maximum(priors, 1e-12))
    log[proba <= 0] = -np.inf  # a category the query cannot have stays impossible
    return softmax(log)


def decide_categories(
    posteriors: np.ndarray, labels: Sequence[str], uncertain_below: float
) -> tuple[np.ndarray, np.ndarray]:
    """(category per query, its posterior): the best category, `uncertain` below the threshold."""
    if len(posteriors) == 0:
        return np.zeros(0, dtype=object), np.zeros(0)
    best = posteriors.argmax(axis=1)
    confidence = posteriors[np.arange(len(best)), best]
    names = np.asarray(labels, dtype=object)[best]
    return np.where(confidence >= uncertain_below, names, UNCERTAIN).astype(object), confidence


@dataclass
class QueryCategoriser:
    """What files queries under categories, the same in a build and in `taxonomy assign`."""

    classifier: CategoryClassifier
    scorer: PrototypeScorer  # plain similarity to the examples: does anything fit at all?
    novel_threshold: float
    cluster_weight: float = 0.5
    uncertain_below: float = 0.5

    def proba(self, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.classifier.predict_proba(embeddings, texts)

    def categorise(
        self,
        proba: np.ndarray,
        priors: np.ndarray,
        novel_rows: np.ndarray,
        embeddings: np.ndarray,
        texts: Sequence[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(category, confidence) per query from its own probabilities and its cluster's prior
        (rows of `priors`). `novel_rows`: queries in a cluster that fits no category; such a
        query is novel too when no category's examples are near it. An unclustered query is
        never novel on its own: one query's similarity to the examples says little (a short
        "what is a fjord" scores below a line of source code), so it gets its own category, or
        uncertain."""
        posteriors = query_posteriors(proba, priors, self.cluster_weight)
        labels, confidence = decide_categories(
            posteriors, self.classifier.labels_, self.uncertain_below
        )
        rows = np.flatnonzero(novel_rows)
        if len(rows):
            plain = self.scorer.score_raw(embeddings[rows], [texts[i] for i in rows])
            best = np.where(np.isfinite(plain), plain, -1.0).max(axis=1)
            labels[rows[best < self.novel_threshold]] = NOVEL
        return labels, confidence
