"""Errors of the ranking stage, shown to users as one line by the CLI."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class RankingError(ArenalensError, ValueError):
    """Votes or benchmark scores cannot be ranked or regressed as asked; says what was expected."""


class DisconnectedComparisonError(RankingError):
    """The comparison graph splits into groups that never met, so one scale cannot be fitted."""
