"""Fixtures for the taxonomy tests: real SLURP queries and one shared encoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from taxonomy_fixtures import MemoryCachedEmbedder

from arenalens.embeddings import Embedder


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
