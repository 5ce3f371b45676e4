"""The cached sentence embedder: offline default model, order, normalisation, cache reuse."""

from __future__ import annotations

import numpy as np
import pytest

from arenalens.config import Settings
from arenalens.embeddings import (
    DEFAULT_MODEL_ID,
    LOOKUP_CHUNK,
    Embedder,
    EmbeddingError,
    text_hash,
)
from arenalens.store import Store
from arenalens.store import tables as t

TEXTS = [
    "what's the weather like in Boston tomorrow",
    "play some relaxing jazz",
    "how do I sound right now",
    "what's the weather like in Boston tomorrow",  # duplicate on purpose
    "",
]


class CountingModel:
    """A stand-in sentence model: deterministic vectors, counts what it was asked to encode."""

    def __init__(self, dim: int = 8):
        self.dim = dim
        self.seen: list[str] = []

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.seen.extend(texts)
        rows = [
            np.random.default_rng(int(text_hash(x)[:8], 16)).normal(size=self.dim) for x in texts
        ]
        matrix = np.array(rows, dtype=np.float32)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_from_settings_uses_packaged_default_model(sqlite_store: Store) -> None:
    embedder = Embedder.from_settings(Settings(embedding_batch_size=16), sqlite_store)
    assert embedder.model_id == DEFAULT_MODEL_ID
    assert embedder.batch_size == 16
    assert embedder._model is None  # lazy: nothing loaded until a text misses the cache


def test_encode_is_normalised_float32_in_input_order(store: Store) -> None:
    embedder = Embedder("default", store)
    vectors = embedder.encode(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[3])
    single = embedder.encode([TEXTS[1]])
    np.testing.assert_allclose(single[0], vectors[1], atol=1e-6)
    assert vectors[0] @ vectors[1] < 0.9  # different texts, different vectors


def test_duplicates_are_encoded_once(store: Store) -> None:
    embedder = Embedder("default", store)
    embedder.encode(TEXTS)
    assert embedder.encoded_count == len(set(TEXTS))


def test_rerun_encodes_nothing(store: Store) -> None:
    first = Embedder("default", store)
    before = first.encode(TEXTS)
    rerun = Embedder("default", store)
    after = rerun.encode(TEXTS)
    assert rerun.encoded_count == 0
    assert rerun.last_encoded_count == 0
    assert rerun._model is None  # the model was never even loaded
    np.testing.assert_array_equal(before, after)
    assert store.count(t.embedding_cache) == len(set(TEXTS))


def test_only_new_texts_are_encoded(sqlite_store: Store) -> None:
    embedder = Embedder("x", sqlite_store)
    embedder._model = model = CountingModel()
    embedder.encode(["a", "b"])
    embedder.encode(["b", "c", "a", "d"])
    assert model.seen == ["a", "b", "c", "d"]
    assert embedder.encoded_count == 4 and embedder.cache_hits == 2


def test_cache_is_partitioned_by_model(sqlite_store: Store) -> None:
    one = Embedder("model-one", sqlite_store)
    one._model = CountingModel()
    one.encode(["same text"])
    two = Embedder("model-two", sqlite_store)
    two._model = model_two = CountingModel()
    two.encode(["same text"])
    assert model_two.seen == ["same text"]


def test_many_cached_texts_are_read_in_chunks_without_the_model(store: Store) -> None:
    texts = [f"query number {i}" for i in range(LOOKUP_CHUNK * 2 + 17)]
    writer = Embedder("bulk", store)
    writer._model = CountingModel()
    expected = writer.encode(texts)
    reader = Embedder("bulk", store)  # a fresh embedder would fail to load a model named "bulk"
    got = reader.encode(list(reversed(texts)))
    assert reader.encoded_count == 0
    np.testing.assert_array_equal(got, expected[::-1])


def test_works_without_a_store() -> None:
    embedder = Embedder("x", None)
    embedder._model = CountingModel()
    assert embedder.encode(["a", "a"]).shape == (2, 8)
    assert embedder.encoded_count == 1


def test_empty_input_gives_zero_rows(sqlite_store: Store) -> None:
    embedder = Embedder("x", sqlite_store)
    embedder._model = CountingModel(dim=5)
    assert embedder.encode([]).shape == (0, 5)


def test_non_text_input_is_refused(sqlite_store: Store) -> None:
    with pytest.raises(EmbeddingError, match="text #1 is int"):
        Embedder("default", sqlite_store).encode(["fine", 3])  # type: ignore[list-item]


def test_unknown_model_fails_with_a_clear_offline_message(sqlite_store: Store) -> None:
    embedder = Embedder("no-such-org/no-such-model-xyz", sqlite_store)
    with pytest.raises(
        EmbeddingError, match="cannot load embedding model 'no-such-org/no-such-model-xyz'"
    ):
        embedder.encode(["hello"])


def test_bad_batch_size_is_refused() -> None:
    with pytest.raises(EmbeddingError, match="at least 1"):
        Embedder("default", None, batch_size=0)
