"""Short texts classified by meaning and by words: the features and the fit both the use-case
bank (names) and the category classifier (taxonomy) learn from hand-written examples.

The features are a text's unit embedding beside the TF-IDF of its words and word pairs, scaled
by `lexical_weight`. The embedding alone lets named things dominate ("who directed Titanic" sits
nearer questions about people than questions about films); the words say what is asked
("directed", "play", "book"). The model is a multinomial logistic regression; fits are cached by
their inputs, so building a taxonomy twice, or naming and categorising from the same examples,
fits once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from arenalens.embeddings import normalise_rows

# Spoken queries come wrapped in fillers the shipped examples lack ("um who wrote 1984 thanks");
# every example is also learned once so wrapped, the wrapping picked by a hash of its text.
FILLER_BEFORE = ("um", "hey", "okay so", "hi", "so", "hey there", "alright", "uh", "well", "hello")
FILLER_AFTER = ("thanks", "please", "i'm curious", "just wondering", "thank you", "if you can",
                "real quick", "for me")  # fmt: skip
_FITTED: dict[str, LogisticRegression] = {}  # inputs' digest -> fitted model
T = TypeVar("T")


def remembered(cache: dict[str, T], key: str, make: Callable[[], T], limit: int) -> T:
    """`cache[key]`, made by `make()` when missing (the oldest entry dropped past `limit`):
    fits reused when the same inputs recur in one process."""
    if key not in cache:
        cache[key] = make()
        if len(cache) > limit:
            cache.pop(next(iter(cache)))
    return cache[key]


def spoken_variant(text: str) -> str:
    """`text` wrapped as people say it: a filler before, after, or both (deterministic)."""
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    before, after = (
        FILLER_BEFORE[h % len(FILLER_BEFORE)],
        FILLER_AFTER[(h // 7) % len(FILLER_AFTER)],
    )
    return [f"{before} {text}", f"{text} {after}", f"{before} {text} {after}"][(h // 101) % 3]


class TextFeatures:
    """Unit embeddings beside TF-IDF words and word pairs (learned from the training texts)."""

    def __init__(self, texts: Sequence[str], lexical_weight: float = 0.6):
        self.lexical_weight = lexical_weight
        self.words = (
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit([str(t) for t in texts])
            if lexical_weight > 0
            else None
        )

    def transform(self, embeddings: np.ndarray, texts: Sequence[str]) -> sparse.csr_matrix:
        x = sparse.csr_matrix(normalise_rows(embeddings))
        if self.words is None:
            return x
        words = self.words.transform([str(t) for t in texts]) * self.lexical_weight
        return sparse.hstack([x, words]).tocsr()


def fit_classes(x: sparse.csr_matrix, y: Sequence[str], C: float = 16.0) -> LogisticRegression:
    """A multinomial logistic regression of `y` on `x`, reused when the same inputs recur."""
    labels = np.asarray(y)
    key = hashlib.sha256(
        repr((C, x.shape, labels.tolist())).encode()
        + np.asarray(x.data).tobytes()
        + np.asarray(x.indices).tobytes()
        + np.asarray(x.indptr).tobytes()
    ).hexdigest()

    def fit() -> LogisticRegression:
        with threadpool_limits(limits=1, user_api="blas"):  # small problem: threads only cost
            return LogisticRegression(C=C, max_iter=3000).fit(x, labels)

    return remembered(_FITTED, key, fit, limit=16)


def class_scores(model: LogisticRegression, x: np.ndarray | sparse.csr_matrix) -> np.ndarray:
    """(n, n_classes) scores whose softmax is the model's probabilities; with two classes
    `decision_function` gives one column, the second class's log-odds."""
    with threadpool_limits(limits=1, user_api="blas"):
        scores = np.asarray(model.decision_function(x), dtype=np.float64)
    if scores.ndim == 1:
        scores = np.column_stack([np.zeros_like(scores), scores])
    return scores


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    scores = scores - scores.max(axis=1, keepdims=True)
    out = np.exp(scores)
    return out / out.sum(axis=1, keepdims=True)
