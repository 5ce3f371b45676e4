"""Modality per query: text-primary (the transcript suffices) or audio-primary (needs the audio).

Approach (documented in the taxonomy README section): a query is audio-primary when
1. its cluster's category is audio-primary by nature (e.g. `paralinguistic`), or
2. it matches one of the category file's audio-primary cue patterns (e.g. "how do I sound"), or
3. its embedding is closer to the audio-primary examples than to every text-primary category's
   examples by more than `margin` (PrototypeScorer, top-k mean cosine).
Otherwise it is text-primary. `score` = audio similarity minus best text similarity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator

from taxonomy.categories import CategorySet, Encoder, PrototypeScorer
from taxonomy.errors import CategoriesError

TEXT_PRIMARY = "text_primary"
AUDIO_PRIMARY = "audio_primary"


class ModalityClassifier(BaseEstimator):
    """Cue patterns plus nearest-examples margin, fitted on a CategorySet's examples."""

    def __init__(self, margin: float = 0.08, top_k: int = 3):
        self.margin = margin
        self.top_k = top_k

    def fit(self, categories: CategorySet, encode: Encoder) -> ModalityClassifier:
        """Learned: scorer_ over 'audio' (audio-primary examples) and each text-primary category."""
        audio = list(categories.audio_examples) + [
            e for c in categories.categories if c.modality == AUDIO_PRIMARY for e in c.examples
        ]
        text = {
            c.name: list(c.examples) for c in categories.categories if c.modality == TEXT_PRIMARY
        }
        if not audio or not text:
            missing = "audio-primary" if not audio else "text-primary"
            raise CategoriesError(
                f"{categories.source or 'the categories file'}: no {missing} examples; the "
                f"modality of each query is learned from both (give a category `modality: "
                f"{missing.replace('-', '_')}` with examples, or list examples under "
                f"`modalities: {missing.replace('-', '_')}: examples:`)"
            )
        prototypes = {"__audio__": encode(audio)} | {k: encode(v) for k, v in text.items()}
        self.scorer_ = PrototypeScorer(self.top_k, center=False).fit(prototypes)
        self.cues_ = categories.compiled_cues
        return self

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Audio-example similarity minus the best text-category similarity, per query."""
        if len(embeddings) == 0:
            return np.zeros(0, dtype=np.float32)
        scores = self.scorer_.score(embeddings)
        return scores[:, 0] - scores[:, 1:].max(axis=1)

    def cue_matches(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([any(p.search(str(t)) for p in self.cues_) for t in texts], dtype=bool)

    def predict(
        self, texts: Sequence[str], embeddings: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores): labels are 'audio_primary' or 'text_primary'."""
        score = self.score(embeddings)
        audio = self.cue_matches(texts) | (score > self.margin)
        return np.where(audio, AUDIO_PRIMARY, TEXT_PRIMARY), score


def final_modality(
    query_modality: Sequence[str], category_modality: Sequence[str | None]
) -> np.ndarray:
    """Audio-primary when the query says so or its category is audio-primary by nature."""
    q = np.asarray(query_modality, dtype=object)
    c = np.asarray([m or TEXT_PRIMARY for m in category_modality], dtype=object)
    return np.where((q == AUDIO_PRIMARY) | (c == AUDIO_PRIMARY), AUDIO_PRIMARY, TEXT_PRIMARY)
