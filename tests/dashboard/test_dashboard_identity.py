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
    options = list(at.multiselect(key="outputs_models").options)
    # each model once, under its canonical name, with the other spellings beside it (an alias
    # such as "qwen2" never looks like a different model)
    assert [o.split(" (")[0] for o in options] == ["DiVA-8B", "Qwen2-Audio"]
    assert "qwen2" in options[1] and "(also " in options[1]
    at.multiselect(key="outputs_models").select("Qwen2-Audio").run()
    assert not at.exception, at.exception
