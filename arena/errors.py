"""Exceptions of the arena stage, shown to users as one line (all under `ArenalensError`)."""

from __future__ import annotations

from arenalens.errors import ArenalensError


class ArenaError(ArenalensError, RuntimeError):
    """The arena cannot do what was asked (unknown campaign, bad pair file, ...)."""


class AccessDenied(ArenaError):
    """A link's token is missing, unknown or revoked."""


class RateLimited(ArenaError):
    """A rater voted more often than the campaign allows per minute."""
