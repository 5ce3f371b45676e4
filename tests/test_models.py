"""Model identity in one place: every store frame, page filter and CLI table uses the canonical
name of an alias (arenalens/models.py)."""

from __future__ import annotations

import json

import pandas as pd

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions
from arenalens.ingest.benchmarks_io import ingest_aliases
from arenalens.models import canonical_models, resolve_models

ALIASES = {"diva_3_8b": "DiVA-8B", "qwen2": "Qwen2-Audio"}
RECORDS = [
    {"id": "1", "model_a": "diva_3_8b", "model_b": "Qwen2-Audio", "winner": "model_b",
     "query_text": "hi", "feedback": "B was clearer"},
    {"id": "2", "model_a": "DiVA-8B", "model_b": "qwen2", "winner": "model_a",
     "query_text": "hello", "feedback": "A understood me"},
]  # fmt: skip


def aliased_store(tmp_path):
    source = tmp_path / "votes.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    ingest_interactions(app.store, source, "jsonl", progress=False)
    ingest_aliases(app.store, ALIASES)
    return app


def test_resolve_models_maps_every_model_column():
    frame = pd.DataFrame({"model_a": ["qwen2", None], "system": ["diva_3_8b", "x"]})
    out = resolve_models(frame, ALIASES)
    assert list(out["model_a"][:1]) == ["Qwen2-Audio"] and out["model_a"].isna().iloc[1]
    assert list(out["system"]) == ["DiVA-8B", "x"]
    assert canonical_models(["qwen2", "Qwen2-Audio", None], ALIASES) == ["Qwen2-Audio"]


def test_every_store_frame_shows_canonical_names_only(tmp_path):
    app = aliased_store(tmp_path)
    canonical = {"DiVA-8B", "Qwen2-Audio"}
    for frame in (
        app.store.votes_frame(),
        app.store.feedback_frame(),
        app.store.interactions_frame(),
    ):
        assert set(frame["model_a"]) | set(frame["model_b"]) == canonical
    assert app.store.status()["systems"] == 2
    app.store.engine.dispose()
