"""One typed home for configuration: flags > environment > optional YAML file > defaults.

Settings are a plain dataclass checked by `_coerce` (not pydantic): every command builds them,
and `arenalens status` must start in well under half a second (pydantic costs ~0.13 s to import).
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from arenalens.datafiles import read_yaml
from arenalens.errors import ArenalensError

ENV_PREFIX = "ARENALENS_"
#: the evidence a model needs to be ranked on the main board or named leader (ranking.evidence)
BOARD_MIN_VOTES = 30
BOARD_MAX_CI_WIDTH = 300.0
#: onnx passes the agreement checks (cosine to torch >= 0.99, SLURP ARI within 0.01) and is ~3x
#: faster: benchmarks/embedding_backends.py
DEFAULT_EMBEDDING_BACKEND: Literal["torch", "onnx"] = "onnx"
CONFIG_FILE_NAME = "arenalens.yaml"
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


class ConfigError(ArenalensError, ValueError):
    """The configuration (flag, environment variable or file) is invalid."""


def _doc(text: str, default: Any) -> Any:
    return field(default=default, metadata={"description": text})


@dataclass(frozen=True)
class Settings:
    """Everything a stage may need to know; passed down, never read from globals."""

    workspace: Path = Path("./arenalens-workspace")
    db: str | None = _doc("SQLAlchemy URL; default: SQLite in workspace", None)
    embedding_model: str = _doc(
        "sentence-transformers name or path; 'default' = packaged all-MiniLM-L6-v2", "default"
    )
    embedding_batch_size: int = 64
    embedding_backend: Literal["torch", "onnx"] = _doc(
        "onnx: int8 ONNX Runtime export of the model (made once, offline; ~3x faster); "
        "torch: sentence-transformers",
        DEFAULT_EMBEDDING_BACKEND,
    )
    model_cache_dir: Path | None = _doc(
        "where ONNX exports are kept; default ~/.cache/arenalens/models", None
    )
    labeler: Literal["auto", "llm", "embedding"] = "auto"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key_env: str = _doc(
        "name of the environment variable holding the key (the key is never stored)",
        "ARENALENS_LLM_API_KEY",
    )
    llm_concurrency: int = 4
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 5
    llm_max_calls: int | None = None
    llm_max_tokens: int | None = None
    llm_temperature: float = 0.0
    seed: int = 0
    privacy_min_users: int = 5
    board_min_votes: int = _doc(
        "votes a model needs to be ranked on the main board, or named leader; fewer: listed "
        "apart as 'too few votes'",
        BOARD_MIN_VOTES,
    )
    board_max_ci_width: float = _doc(
        "widest 95% interval (rating points) a model may have to be ranked on the main board",
        BOARD_MAX_CI_WIDTH,
    )
    privacy_mask_pii: bool = _doc(
        "mask e-mails, phone numbers, URLs with query strings and long digit runs "
        "in text shown or exported for sharing (the stored data is untouched)",
        True,
    )

    def __post_init__(self) -> None:
        for name, kind in FIELD_TYPES.items():
            object.__setattr__(self, name, _coerce(name, getattr(self, name), kind))

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
    unknown = set(data) - set(FIELD_NAMES)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {sorted(unknown)}")
    return data


def _read_environment(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FIELD_NAMES:
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
    return Settings(**merged)


def settings_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain values (paths as text): what a run may record; holds no key."""
    return {
        k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()
    }


FIELD_TYPES: dict[str, Any] = typing.get_type_hints(Settings)  # the annotations, resolved
FIELD_NAMES = tuple(FIELD_TYPES)


def _coerce(name: str, value: Any, kind: Any) -> Any:
    """`value` as the field's type (text from the environment or a file included), or a
    ConfigError naming the setting and what it expects."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) is Literal:
        if value in args:
            return value
        raise ConfigError(f"invalid settings: {name} must be one of {list(args)}, not {value!r}")
    if type(None) in args:  # Optional[X]
        if value is None:
            return None
        (kind,) = (a for a in args if a is not type(None))
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if isinstance(value, int | str) and text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError
        if kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is Path:
            if not isinstance(value, str | Path):
                raise ValueError
            return Path(value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        what = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"invalid settings: {name} expects {what}, not {value!r}") from None
    raise ConfigError(f"invalid settings: {name} has an unsupported type {kind}")
