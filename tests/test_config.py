"""Settings: one typed home, flags over environment over file over defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arenalens.config import ConfigError, load_settings, settings_dict


def test_priority_flags_over_environment_over_file(tmp_path: Path) -> None:
    (tmp_path / "arenalens.yaml").write_text("llm_model: from-file\nllm_concurrency: 2\nseed: 7\n")
    env = {
        "ARENALENS_WORKSPACE": str(tmp_path),
        "ARENALENS_LLM_MODEL": "from-env",
        "ARENALENS_SEED": "3",
    }
    settings = load_settings({"seed": 11}, environ=env)
    assert (settings.llm_model, settings.llm_concurrency, settings.seed) == ("from-env", 2, 11)
    assert settings.db_url == f"sqlite:///{(tmp_path / 'arenalens.sqlite').resolve()}"


def test_labeler_auto_uses_llm_only_with_endpoint() -> None:
    assert not load_settings(environ={}).use_llm
    assert load_settings({"llm_base_url": "http://127.0.0.1:9/v1"}, environ={}).use_llm
    assert not load_settings(
        {"llm_base_url": "http://127.0.0.1:9/v1", "labeler": "embedding"}, environ={}
    ).use_llm


def test_api_key_is_read_from_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-123")
    settings = load_settings({"llm_api_key_env": "MY_KEY"}, environ={})
    assert settings.llm_api_key == "sk-123"
    assert "sk-123" not in json.dumps(settings_dict(settings))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("seed: [1\n", "not valid YAML"),
        ("bogus: 1\n", "unknown settings"),
        ("- 1\n", "expected a mapping"),
    ],
)
def test_bad_config_file_is_named(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "arenalens.yaml").write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_settings({"workspace": tmp_path}, environ={})


def test_invalid_value_is_reported() -> None:
    with pytest.raises(ConfigError, match="llm_concurrency"):
        load_settings({"llm_concurrency": "many"}, environ={})
