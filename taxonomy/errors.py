"""Exceptions of the taxonomy stage, shown to users as one line."""

from __future__ import annotations


class TaxonomyError(RuntimeError):
    """The taxonomy stage cannot do what was asked on what the workspace holds."""


class CategoriesError(ValueError):
    """A categories file is invalid; the message names the file, the entry and the field."""


class EditError(ValueError):
    """An analyst edit names a cluster or category that does not exist."""


class LabelImportError(ValueError):
    """A human-label CSV file is invalid; the message names the file, the row and the field."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    TaxonomyError,
    CategoriesError,
    EditError,
    LabelImportError,
)
