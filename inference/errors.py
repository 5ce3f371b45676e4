"""Exceptions of the inference stage, shown to users as one line (all under `ArenalensError`)."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class InferenceError(ArenalensError, RuntimeError):
    """The inference stage cannot do what was asked."""


class AudioError(InferenceError):
    """An audio file is missing, unreadable or empty (reported per item, never fatal to a run)."""


class SystemConfigError(InferenceError, ValueError):
    """A systems YAML file or one of its systems is invalid; the message names file, system and field."""


class BackendUnavailableError(InferenceError):
    """An optional backend (vLLM, Ray, a model class) is not installed or not usable here."""


class ReferenceFileError(InferenceError, ValueError):
    """A reference-transcript file for `transcribe --eval` is invalid."""
