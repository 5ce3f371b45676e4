"""Exceptions users see as a one-line message at the CLI and dashboard edge."""

from __future__ import annotations

import importlib

from arenalens.config import ConfigError
from arenalens.labeler.base import LabelerError
from arenalens.store import StoreError


class IngestError(ValueError):
    """An input file is invalid; the message names file, line/row, field and what was expected."""


class StageError(RuntimeError):
    """A stage cannot run on what the workspace holds (e.g. a prerequisite stage has not run)."""


def _collect_user_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [
        ConfigError,
        IngestError,
        StageError,
        StoreError,
        LabelerError,
    ]
    for module_name in ("taxonomy.errors", "coding.errors", "ranking.errors", "inference.errors"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        found.extend(getattr(module, "USER_ERRORS", ()))
    return tuple(found)


USER_ERRORS = _collect_user_errors()
