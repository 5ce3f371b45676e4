"""The one error base: every error a user should see as a one-line message derives from
`ArenalensError`, and the CLI (`arenalens.app.cli.main`) and the dashboard edge
(`dashboard.ui.error_boundary`) catch that base once. Each stage keeps its own subclasses in its
`errors.py`; anything else is a bug and keeps its traceback.

This module imports nothing, so every layer can raise these.
"""

from __future__ import annotations


class ArenalensError(Exception):
    """Base of the errors shown to users as one clean line (no traceback)."""


class IngestError(ArenalensError, ValueError):
    """An input file is invalid; the message names file, line/row, field and what was expected."""


class StageError(ArenalensError, RuntimeError):
    """A stage cannot run on what the workspace holds (e.g. a prerequisite stage has not run)."""
