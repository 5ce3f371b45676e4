"""Exceptions of the taxonomy stage, shown to users as one line."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class TaxonomyError(ArenalensError, RuntimeError):
    """The taxonomy stage cannot do what was asked on what the workspace holds."""


class CategoriesError(ArenalensError, ValueError):
    """A categories file is invalid; the message names the file, the entry and the field."""


class EditError(ArenalensError, ValueError):
    """An analyst edit names a cluster or category that does not exist."""


class LabelImportError(ArenalensError, ValueError):
    """A human-label CSV file is invalid; the message names the file, the row and the field."""
