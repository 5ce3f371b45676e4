"""Few-shot examples for the LLM path: the human-coded items nearest to what is being coded.

`FewShotExamples` holds resolved human labels (adjudicated, else consensus/single) with their
texts' embeddings; `for_batch` returns the `k` labelled items most similar (cosine) to the
batch's texts, formatted as extra instructions for the labeler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from arenalens.embeddings import Embedder
from arenalens.privacy import mask_pii


@dataclass
class FewShotExamples:
    """Labelled texts, their codes and vectors; picks the nearest ones for a batch."""

    texts: list[str]
    codes: list[list[str]]
    vectors: np.ndarray
    embedder: Embedder

    @classmethod
    def build(
        cls, embedder: Embedder, texts: Sequence[str], codes: Sequence[Sequence[str]]
    ) -> FewShotExamples:
        vectors = embedder.encode(list(texts), show_progress=False) if texts else np.zeros((0, 1))
        return cls(list(texts), [sorted(c) for c in codes], vectors, embedder)

    def nearest(self, texts: Sequence[str], k: int) -> list[int]:
        """Indices of the `k` labelled items with the highest max-cosine to any of `texts`."""
        if k < 1 or not self.texts or not texts:
            return []
        query = self.embedder.encode(list(texts), show_progress=False)
        similarity = (query @ self.vectors.T).max(axis=0)
        exclude = set(texts)  # never show an item as its own example
        order = [i for i in np.argsort(-similarity, kind="stable") if self.texts[i] not in exclude]
        return order[:k]

    def for_batch(self, texts: Sequence[str], k: int) -> str:
        """Instructions text listing the nearest human-coded examples (empty when none), other
        people's texts with personal details masked (they go to the LLM endpoint as examples)."""
        picked = self.nearest(texts, k)
        if not picked:
            return ""
        lines = [
            f'- "{mask_pii(self.texts[i])[:300]}" -> {", ".join(self.codes[i]) or "(no code)"}'
            for i in picked
        ]
        return "\nExamples coded by people (follow how they apply the codes):\n" + "\n".join(lines)
