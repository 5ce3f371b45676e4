"""Fixtures for the taxonomy tests: real SLURP queries and one shared encoder."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from arenalens.embeddings import Embedder


class MemoryCachedEmbedder(Embedder):
    """An Embedder that never encodes a text twice in one test session (no store needed)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.memory: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool | None = None) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self.memory]
        if missing:
            vectors = super().encode(missing, show_progress=False)
            self.memory.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memory[text] for text in texts])


@pytest.fixture(scope="session")
def slurp_rows(shared_data: Path) -> list[dict]:
    path = shared_data / "slurp" / "devel.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default offline model with an in-memory cache shared by the whole test session."""
    return MemoryCachedEmbedder("default", None)


@pytest.fixture(scope="session")
def encode(embedder: Embedder):
    return embedder.encode


@pytest.fixture(scope="session")
def slurp_embeddings(slurp_rows: list[dict], encode) -> np.ndarray:
    return encode([row["sentence"] for row in slurp_rows])
