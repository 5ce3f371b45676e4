"""The cached sentence embedder: offline default model, order, normalisation, cache reuse, backends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from arenalens.config import Settings, load_settings
from arenalens.embedding_onnx import OnnxExportError, check_exportable, exported_model
from arenalens.embeddings import (
    DEFAULT_MODEL_ID,
    LOOKUP_CHUNK,
    Embedder,
    EmbeddingError,
    cache_model_id,
    default_model_path,
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
    settings = Settings(embedding_batch_size=16)
    embedder = Embedder.from_settings(settings, sqlite_store)
    assert embedder.model_id == cache_model_id("default", settings.embedding_backend)
    assert embedder.model_id.startswith(DEFAULT_MODEL_ID)
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
    embedder = Embedder("no-such-org/no-such-model-xyz", sqlite_store, backend="torch")
    with pytest.raises(
        EmbeddingError, match="cannot load embedding model 'no-such-org/no-such-model-xyz'"
    ):
        embedder.encode(["hello"])


def test_bad_batch_size_is_refused() -> None:
    with pytest.raises(EmbeddingError, match="at least 1"):
        Embedder("default", None, batch_size=0)


# -- backends --------------------------------------------------------------------
def test_backends_cache_their_vectors_apart(sqlite_store: Store) -> None:
    torch_embedder = Embedder("default", sqlite_store, backend="torch")
    torch_embedder._model = CountingModel()
    torch_embedder.encode(["same text"])
    onnx_embedder = Embedder("default", sqlite_store, backend="onnx")
    onnx_embedder._model = onnx_model = CountingModel()
    onnx_embedder.encode(["same text"])
    assert onnx_model.seen == ["same text"]  # not served the torch vector
    assert torch_embedder.model_id == DEFAULT_MODEL_ID  # caches made before backends stay valid
    assert onnx_embedder.model_id == cache_model_id("default", "onnx") != DEFAULT_MODEL_ID


def test_backend_comes_from_the_settings(sqlite_store: Store) -> None:
    settings = load_settings(environ={"ARENALENS_EMBEDDING_BACKEND": "torch"})
    assert Embedder.from_settings(settings, sqlite_store).backend == "torch"
    assert Embedder.from_settings(Settings(), sqlite_store).backend == Settings().embedding_backend
    with pytest.raises(EmbeddingError, match="must be one of"):
        Embedder("default", None, backend="tensorflow")


def test_onnx_backend_refuses_a_hub_name_naming_the_fix(sqlite_store: Store) -> None:
    embedder = Embedder("no-such-org/no-such-model-xyz", sqlite_store, backend="onnx")
    with pytest.raises(EmbeddingError, match="embedding_backend to torch"):
        embedder.encode(["hello"])


def test_onnx_backend_refuses_a_model_it_would_pool_wrongly(tmp_path) -> None:
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "tokenizer.json"):
        (model / name).write_text("{}")
    (model / "modules.json").write_text(
        '[{"path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]'
    )
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    with pytest.raises(OnnxExportError, match="mean pooling only"):
        check_exportable(model)


@pytest.fixture(scope="module")
def slurp_sentences(shared_data) -> list[str]:
    lines = (shared_data / "slurp" / "devel.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["sentence"] for line in lines[::10]]  # 204 real queries


def test_onnx_vectors_agree_with_torch_vectors(slurp_sentences: list[str]) -> None:
    torch_vectors = Embedder("default", None, backend="torch").encode(slurp_sentences)
    onnx_vectors = Embedder("default", None, backend="onnx").encode(slurp_sentences)
    cosine = np.sum(torch_vectors * onnx_vectors, axis=1)
    assert cosine.mean() >= 0.99  # the bar for onnx being the default (benchmarks/README.md)
    assert cosine.min() >= 0.93
    np.testing.assert_allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_onnx_export_is_made_once_and_encoding_needs_no_torch() -> None:
    first = Embedder("default", None, backend="onnx")
    first.encode(["warm the export"])  # exports into the default cache on first use only
    exported = exported_model(Path(default_model_path()))
    stamp = exported.stat().st_mtime_ns
    script = (
        "import sys; from arenalens.embeddings import Embedder;"
        "v = Embedder('default', None, backend='onnx').encode(['play some jazz']);"
        "print(v.shape[1], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.split() == ["384", "False", "False"]
    assert exported.stat().st_mtime_ns == stamp  # reused, not exported again
