"""Reading the YAML and JSON files people write (codebook, categories, systems, settings,
aliases, calibration): one place for the one-line errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from arenalens.errors import ArenalensError


def _text(path: Path, error: type[ArenalensError], what: str) -> str:
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_yaml(path: str | Path, error: type[ArenalensError], what: str = "file") -> Any:
    """The parsed YAML document at `path`; a missing file, undecodable text or invalid YAML
    raises `error` with one line naming the file (`what`: e.g. "codebook file")."""
    import yaml

    path = Path(path)
    try:
        return yaml.safe_load(_text(path, error, what))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc


def read_json(path: str | Path, error: type[ArenalensError], what: str = "file") -> Any:
    """The parsed JSON document at `path`, with the same one-line errors as `read_yaml`."""
    path = Path(path)
    try:
        return json.loads(_text(path, error, what))
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not valid JSON: {exc}") from exc
