"""Pages list each model once, under its canonical name (aliases resolved in the core)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_models import aliased_store  # noqa: E402


def test_outputs_model_filter_lists_canonical_names_only(render, tmp_path):
    app = aliased_store(tmp_path)
    app.store.engine.dispose()
    at = render(tmp_path / "ws", "outputs.py")
    assert not at.exception
    assert list(at.multiselect(key="outputs_models").options) == ["DiVA-8B", "Qwen2-Audio"]
