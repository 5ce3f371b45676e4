"""ONNX Runtime backend for sentence embeddings: an int8 export of a local model, made once, offline.

The export (torch + transformers + onnx, imported only then) turns a local sentence-transformers
folder with mean pooling into a fused, dynamically quantised (int8, per-channel) ONNX graph of
its transformer, stored under a cache folder keyed by a hash of the weights. Encoding then needs
only onnxruntime and tokenizers: tokenise (the model's own `tokenizer.json`), run the graph,
mean-pool over the attention mask, L2-normalise, as sentence-transformers does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: bump when the export recipe changes, so that caches made by an older recipe are not reused
EXPORT_RECIPE = "int8-per-channel-v1"
#: the cache partition name the vectors of this backend are stored under (beside the model id)
BACKEND_TAG = "onnx-int8"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
#: activations are quantised per batch (one scale per tensor), so a text's vector depends a
#: little on its batch-mates; small batches keep that spread small and cost no throughput here
MAX_BATCH = 16


class OnnxExportError(RuntimeError):
    """The model cannot be exported to or run by ONNX Runtime."""


def default_cache_dir() -> Path:
    """Where exported models live unless configured: $XDG_CACHE_HOME/arenalens or ~/.cache/arenalens."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "arenalens" / "models"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OnnxExportError(f"{path}: cannot read ({exc})") from exc


def check_exportable(model_dir: Path) -> int:
    """The model's max sequence length, after checking it is a local mean-pooling model folder."""
    if not model_dir.is_dir():
        raise OnnxExportError(
            f"{model_dir}: the onnx backend needs a local sentence-transformers folder "
            "(set embedding_backend to torch for hub names)"
        )
    for name in ("config.json", "tokenizer.json", "modules.json"):
        if not (model_dir / name).is_file():
            raise OnnxExportError(f"{model_dir}: no {name}; not a sentence-transformers folder")
    modules = [m.get("type", "") for m in _read_json(model_dir / "modules.json")]
    pooling = [m for m in _read_json(model_dir / "modules.json") if "Pooling" in m.get("type", "")]
    allowed = ("Transformer", "Pooling", "Normalize")
    if not pooling or any(not any(a in m for a in allowed) for m in modules):
        raise OnnxExportError(
            f"{model_dir}: modules {modules}; the onnx backend supports Transformer + Pooling "
            "(+ Normalize) only (set embedding_backend to torch)"
        )
    pool_config = _read_json(model_dir / pooling[0].get("path", "1_Pooling") / "config.json")
    modes = {k for k, v in pool_config.items() if k.startswith("pooling_mode") and v is True}
    if modes != {"pooling_mode_mean_tokens"}:
        raise OnnxExportError(
            f"{model_dir}: pooling {sorted(modes)}; the onnx backend supports mean pooling only"
        )
    bert_config = model_dir / "sentence_bert_config.json"
    max_length = _read_json(bert_config).get("max_seq_length") if bert_config.is_file() else None
    return int(max_length or 512)


def model_fingerprint(model_dir: Path) -> str:
    """sha256 of the model's config, tokenizer and weights plus the export recipe (the cache key)."""
    digest = hashlib.sha256(EXPORT_RECIPE.encode())
    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    for path in [model_dir / "config.json", model_dir / "tokenizer.json", *weights]:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:24]


def export_int8(model_dir: Path, target: Path) -> Path:
    """Export `model_dir`'s transformer to ONNX, fuse it (BERT family) and quantise it to int8.

    Written to a temporary file and renamed into place, so a concurrent or interrupted export
    never leaves a half-written model behind. Needs torch, transformers and onnx; no network.
    """
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoConfig, AutoModel
    except ModuleNotFoundError as exc:
        raise OnnxExportError(f"exporting to ONNX needs {exc.name} (pip install onnx)") from exc
    import onnx

    config = AutoConfig.from_pretrained(model_dir, local_files_only=True)
    model = AutoModel.from_pretrained(
        model_dir, local_files_only=True, attn_implementation="eager"
    ).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        raw, fused, quantised = (Path(tmp) / n for n in ("raw.onnx", "fused.onnx", "int8.onnx"))
        ids = torch.ones(2, 8, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        import warnings

        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter, not user-facing
            torch.onnx.export(
                LastHiddenState(model), (ids, ids, torch.zeros_like(ids)), str(raw),
                input_names=list(INPUT_NAMES), output_names=["last_hidden_state"],
                dynamic_axes={name: axes for name in (*INPUT_NAMES, "last_hidden_state")},
                opset_version=17, dynamo=False,
            )  # fmt: skip
        source = raw
        if config.model_type == "bert":
            from onnxruntime.transformers import optimizer

            fused_model = optimizer.optimize_model(
                str(raw),
                model_type="bert",
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
            )
            fused_model.save_model_to_file(str(fused))
            source = fused
        quantize_dynamic(
            str(source), str(quantised), per_channel=True, weight_type=QuantType.QInt8,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip
        os.replace(quantised, target)
    return target


def exported_model(model_dir: Path, cache_dir: Path | None = None) -> Path:
    """Path of the int8 ONNX export of `model_dir`, exporting it on first use."""
    check_exportable(model_dir)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = cache_dir / f"{model_dir.name}-{model_fingerprint(model_dir)}" / "model-int8.onnx"
    if not target.is_file():
        log.warning("exporting %s to ONNX int8 in %s (once; ~30 s)", model_dir, target.parent)
        export_int8(model_dir, target)
    return target


class OnnxSentenceEncoder:
    """Mean-pooled, L2-normalised sentence vectors from an int8 ONNX export (sentence-transformers'
    `encode` interface, the parts the Embedder uses)."""

    def __init__(self, model_dir: Path, cache_dir: Path | None = None, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        self.max_length = check_exportable(model_dir)
        self.path = exported_model(model_dir, cache_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        # busy-waiting threads only steal time from other work on a shared machine
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a damaged cache file: say where it is
            raise OnnxExportError(f"{self.path}: ONNX Runtime cannot load it ({exc})") from exc
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=pad_id or 0, pad_token="[PAD]" if pad_id else "")
        self.dim = int(_read_json(model_dir / "config.json")["hidden_size"])

    def get_sentence_embedding_dimension(self) -> int:
        return self.dim

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.where(norms == 0, 1.0, norms)).astype(np.float32)

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: object) -> np.ndarray:
        """Vectors (n, dim) float32, unit length; batches of similar length to limit padding."""
        texts = list(texts)
        batch_size = max(1, min(batch_size, MAX_BATCH))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._encode_batch([texts[i] for i in rows])
        return out


__all__ = [
    "BACKEND_TAG",
    "OnnxExportError",
    "OnnxSentenceEncoder",
    "check_exportable",
    "default_cache_dir",
    "export_int8",
    "exported_model",
]
