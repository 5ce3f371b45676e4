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

    def __init__(self, message: str, setting: str | None = None):
        super().__init__(message)
        self.setting = setting


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
    llm_concurrency: int = _doc("requests in flight at once (1 to 64)", 4)
    llm_timeout_s: float = _doc("seconds one request may take (more than 0)", 60.0)
    llm_max_retries: int = _doc(
        "retries of a failed request (0 to 20); a refused connection is retried once", 5
    )
    llm_deadline_s: float = _doc(
        "seconds one run may spend waiting on the endpoint before it stops; finished "
        "replies stay cached, so a rerun resumes (more than 0)",
        7200.0,
    )
    llm_max_consecutive_failures: int = _doc(
        "attempts failing in a row (timeouts, refused connections, server errors; not rate "
        "limits) that stop the run (1 or more)",
        8,
    )
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
            value = _coerce(name, getattr(self, name), kind)
            _check_value(name, value)
            object.__setattr__(self, name, value)

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
    """Build settings from (in rising priority) defaults, a YAML file, the environment, flags.

    An invalid value is a ConfigError of one line naming the setting, where it came from
    (flag, environment variable or file) and what is expected."""
    environ = dict(os.environ if environ is None else environ)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    env_values = _read_environment(environ)
    workspace = Path(
        overrides.get("workspace") or env_values.get("workspace") or "./arenalens-workspace"
    )
    if workspace.exists() and not workspace.is_dir():
        source = _source("workspace", overrides, env_values, None)
        raise ConfigError(
            f"invalid settings: workspace ({source}) {workspace} is a file, not a folder; "
            "give a folder (it is created when missing)",
            "workspace",
        )
    file_path = config_file or workspace / CONFIG_FILE_NAME
    file_values = _read_config_file(file_path) if file_path.is_file() else {}
    merged = {**file_values, **env_values, **overrides}
    try:
        return Settings(**merged)
    except ConfigError as exc:
        if exc.setting is None:
            raise
        source = _source(exc.setting, overrides, env_values, file_path)
        message = str(exc).replace(
            f"invalid settings: {exc.setting} ", f"invalid settings: {exc.setting} ({source}) ", 1
        )
        raise ConfigError(message, exc.setting) from None


def _source(
    name: str, flags: dict[str, Any], environment: dict[str, Any], file_path: Path | None
) -> str:
    """Where the value of setting `name` came from, in words a person can act on."""
    if name in flags:
        return f"flag --{name.replace('_', '-')}"
    if name in environment:
        return f"environment variable {ENV_PREFIX}{name.upper()}"
    if file_path is not None:
        return f"file {file_path}"
    return "default"


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
        raise ConfigError(
            f"invalid settings: {name} must be one of {list(args)}, not {value!r}", name
        )
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
        raise ConfigError(f"invalid settings: {name} expects {what}, not {value!r}", name) from None
    raise ConfigError(f"invalid settings: {name} has an unsupported type {kind}")


#: Numeric settings' allowed ranges (inclusive; None: unbounded) and how they are described.
RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "embedding_batch_size": (1, 100_000, "a whole number from 1 to 100000"),
    "llm_concurrency": (1, 64, "a whole number from 1 to 64"),
    "llm_timeout_s": (0.001, 86_400, "seconds, more than 0 (at most a day)"),
    "llm_deadline_s": (0.001, 7 * 86_400, "seconds, more than 0 (at most a week)"),
    "llm_max_retries": (0, 20, "a whole number from 0 to 20"),
    "llm_max_consecutive_failures": (1, 1_000_000, "a whole number, 1 or more"),
    "llm_max_calls": (0, None, "a whole number, 0 or more"),
    "llm_max_tokens": (1, None, "a whole number, 1 or more"),
    "llm_temperature": (0, 2, "a number from 0 to 2"),
    "seed": (0, 2**32 - 1, "a whole number from 0 to 4294967295"),
    "privacy_min_users": (1, None, "a whole number, 1 or more"),
}
#: Database URL schemes arenalens can store to.
DB_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")


def _check_value(name: str, value: Any) -> None:
    """ConfigError (naming `name` and what is expected) when a typed value is out of range."""
    if value is None:
        return
    if name in RANGES:
        low, high, expected = RANGES[name]
        if (
            value != value
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            raise ConfigError(f"invalid settings: {name} expects {expected}, not {value!r}", name)
    elif name == "llm_base_url":
        check_http_url(name, value)
    elif name == "db":
        scheme = value.split("://", 1)[0] if "://" in value else None
        if scheme not in DB_SCHEMES:
            raise ConfigError(
                f"invalid settings: db expects a database URL starting sqlite:/// or "
                f"postgresql://, not {_redact(value)!r}",
                name,
            )


def check_http_url(name: str, value: str) -> None:
    """ConfigError unless `value` is an http(s) URL with a host (and a numeric port, if any)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError as exc:
        raise ConfigError(
            f"invalid settings: {name} expects an http:// or https:// URL, not {value!r} ({exc})",
            name,
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"invalid settings: {name} expects an http:// or https:// URL with a host, "
            f"e.g. http://127.0.0.1:8080/v1, not {value!r}",
            name,
        )


def _redact(url: str) -> str:
    """`url` with any password replaced by ***."""
    import re

    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
