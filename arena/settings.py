"""A campaign's settings beyond its table columns (stored in `arena_campaigns.settings` as JSON):
their defaults and their checks, in one place (pure)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from arena.errors import ArenaError

OUTPUTS = ("text", "speech")
VOTE_PER = ("conversation", "turn")
# A rater who opens a pair and leaves holds one of its slots; after this long the slot goes back
# to the pair (to another rater, never to them again). Reading two answers takes a minute or
# two; half an hour leaves room for a slow reader and a short break.
DEFAULT_EXPIRY_MINUTES = 30.0
MAX_TURNS = 20


@dataclass(frozen=True)
class CampaignSettings:
    """What a campaign sets beyond mode, quota, reveal, attention and rate limit."""

    systems: tuple[str, ...] = ()  # live: the systems drawn from (empty: all in systems.yaml)
    expire_after_minutes: float = DEFAULT_EXPIRY_MINUTES  # replay: an unvoted pair's slot
    max_turns: int = 1  # live: turns a rater may talk to both systems before voting
    output: str = "text"  # live: "speech" plays each answer as audio, its text as transcript
    vote_per: str = "conversation"  # live: one vote after the last turn, or one per turn

    def __post_init__(self) -> None:
        if not (
            isinstance(self.expire_after_minutes, int | float)
            and math.isfinite(self.expire_after_minutes)
            and self.expire_after_minutes > 0
        ):
            raise ArenaError(
                f"expire after {self.expire_after_minutes!r} minutes: expected a number above 0"
            )
        if not isinstance(self.max_turns, int) or not 1 <= self.max_turns <= MAX_TURNS:
            raise ArenaError(f"max turns {self.max_turns!r}: expected 1 to {MAX_TURNS}")
        if self.output not in OUTPUTS:
            raise ArenaError(f"output {self.output!r}: expected one of {', '.join(OUTPUTS)}")
        if self.vote_per not in VOTE_PER:
            raise ArenaError(f"vote per {self.vote_per!r}: expected one of {', '.join(VOTE_PER)}")

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> CampaignSettings:
        """The settings a campaign row holds (keys it lacks take their defaults)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in (data or {}).items() if k in known and v is not None}
        if "systems" in values:
            values["systems"] = tuple(values["systems"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["systems"] = list(self.systems)
        return values

    def check_mode(self, mode: str) -> None:
        """Turns, spoken answers and per-turn votes need live systems to talk to."""
        if mode == "live":
            return
        live_only = [
            label
            for label, used in (
                (f"{self.max_turns} turns", self.max_turns > 1),
                ("spoken answers", self.output != "text"),
                ("a vote per turn", self.vote_per != "conversation"),
                ("a list of systems", bool(self.systems)),
            )
            if used
        ]
        if live_only:
            raise ArenaError(
                f"a {mode} campaign cannot have {' or '.join(live_only)}: only a live one can"
            )

    @property
    def multi_turn(self) -> bool:
        return self.max_turns > 1


def campaign_settings(spec: dict[str, Any]) -> CampaignSettings:
    """The settings of a campaign row (as `persist.campaign` returns it)."""
    return CampaignSettings.from_json(spec.get("settings"))
