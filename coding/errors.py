"""Exceptions of the coding stage, shown to users as one line."""

from __future__ import annotations


class CodingError(RuntimeError):
    """The coding stage cannot do what was asked on what the workspace holds."""


class CodebookError(ValueError):
    """A codebook file is invalid; the message names the file, the code and the field."""


class CodebookMixError(CodingError):
    """An operation would mix codes made under different codebook versions."""


class AnnotationError(ValueError):
    """An annotation (from the dashboard, the API or a CSV file) is invalid."""


USER_ERRORS: tuple[type[BaseException], ...] = (CodingError, CodebookError, AnnotationError)
