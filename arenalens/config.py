"""One typed home for configuration: flags > environment > optional YAML file > defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from arenalens.datafiles import read_yaml
from arenalens.errors import ArenalensError

ENV_PREFIX = "ARENALENS_"
#: onnx passes the agreement checks (cosine to torch >= 0.99, SLURP ARI within 0.01) and is ~3x
#: faster: benchmarks/embedding_backends.py
DEFAULT_EMBEDDING_BACKEND: Literal["torch", "onnx"] = "onnx"
CONFIG_FILE_NAME = "arenalens.yaml"


class ConfigError(ArenalensError, ValueError):
    """The configuration (flag, environment variable or file) is invalid."""


class Settings(BaseModel):
    """Everything a stage may need to know; passed down, never read from globals."""

    workspace: Path = Path("./arenalens-workspace")
    db: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in workspace")
    embedding_model: str = Field(
        default="default",
        description="sentence-transformers name or path; 'default' = packaged all-MiniLM-L6-v2",
    )
    embedding_batch_size: int = 64
    embedding_backend: Literal["torch", "onnx"] = Field(
        default=DEFAULT_EMBEDDING_BACKEND,
        description="onnx: int8 ONNX Runtime export of the model (made once, offline; ~3x faster); "
        "torch: sentence-transformers",
    )
    model_cache_dir: Path | None = Field(
        default=None, description="where ONNX exports are kept; default ~/.cache/arenalens/models"
    )
    labeler: Literal["auto", "llm", "embedding"] = "auto"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key_env: str = Field(
        default="ARENALENS_LLM_API_KEY",
        description="name of the environment variable holding the key (the key is never stored)",
    )
    llm_concurrency: int = 4
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 5
    llm_max_calls: int | None = None
    llm_max_tokens: int | None = None
    llm_temperature: float = 0.0
    seed: int = 0
    privacy_min_users: int = 5
    privacy_mask_pii: bool = Field(
        default=True,
        description="mask e-mails, phone numbers, URLs with query strings and long digit runs "
        "in text shown or exported for sharing (the stored data is untouched)",
    )

    @property
    def db_url(self) -> str:
        """The store's SQLAlchemy URL."""
        if self.db:
            return self.db
        return f"sqlite:///{(self.workspace / 'arenalens.sqlite').resolve()}"

    @property
    def llm_api_key(self) -> str | None:
        """Read the key from the environment at the moment it is needed."""
        return os.environ.get(self.llm_api_key_env) or None

    @property
    def use_llm(self) -> bool:
        """Whether the `llm` labeler is selected (explicitly, or by `auto` with an endpoint)."""
        if self.labeler == "llm":
            return True
        return self.labeler == "auto" and bool(self.llm_base_url)


def _read_config_file(path: Path) -> dict[str, Any]:
    data = read_yaml(path, ConfigError, "settings file") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of setting names to values")
    if any(str(k).endswith("_key") for k in data):  # checked first: say why, not just "unknown"
        raise ConfigError(f"{path}: API keys must come from the environment, not a file")
    unknown = set(data) - set(Settings.model_fields)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    return data


def _read_environment(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ and environ[env_name] != "":
            values[name] = environ[env_name]
    return values


def load_settings(
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build settings from (in rising priority) defaults, a YAML file, the environment, flags."""
    environ = dict(os.environ if environ is None else environ)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    env_values = _read_environment(environ)
    workspace = Path(
        overrides.get("workspace") or env_values.get("workspace") or "./arenalens-workspace"
    )
    file_path = config_file or workspace / CONFIG_FILE_NAME
    file_values = _read_config_file(file_path) if file_path.exists() else {}
    merged = {**file_values, **env_values, **overrides}
    try:
        return Settings(**merged)
    except Exception as exc:  # pydantic.ValidationError, reworded for users
        raise ConfigError(f"invalid settings: {exc}") from exc
