"""Exceptions of the coding stage, shown to users as one line."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class CodingError(ArenalensError, RuntimeError):
    """The coding stage cannot do what was asked on what the workspace holds."""


class CodebookError(ArenalensError, ValueError):
    """A codebook file is invalid; the message names the file, the code and the field."""


class CodebookMixError(CodingError):
    """An operation would mix codes made under different codebook versions."""


class AnnotationError(ArenalensError, ValueError):
    """An annotation (from the dashboard, the API or a CSV file) is invalid."""
