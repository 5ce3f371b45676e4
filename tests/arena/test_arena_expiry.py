"""A pair a rater opens and leaves unvoted goes back to the pool after the campaign's expiry: to
another rater, never to the one who left it, never beyond its quota; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from arena_testkit import make_pairs

from arena import persist, serving
from arena.errors import ArenaError
from arena.tables import arena_expired
from arenalens.store import Store, utcnow


class Clock:
    """The time serving reads, moved by hand."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(serving, "utcnow", fake)
    return fake


def _campaign(store: Store, pairs: int, per_pair: int, **options: object) -> dict:
    persist.create_campaign(
        store, "c1", "replay", raters_per_pair=per_pair, votes_per_minute=1000, **options
    )
    persist.add_pairs(store, "c1", make_pairs(pairs))
    return persist.campaign(store, "c1")


def _next(store: Store, rater: str) -> str | None:
    pair = serving.current_pair(store, "c1", rater, np.random.default_rng(0))
    return None if pair is None else pair["pair_id"]


def test_a_left_pair_goes_to_another_rater_after_the_expiry(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    spec = _campaign(store, pairs=2, per_pair=1)  # default expiry: 30 minutes
    left = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    clock.advance(29)
    other = _next(store, "bob")
    assert other != left["pair_id"] and _next(store, "cy") is None  # both held
    clock.advance(2)  # ann's pair is 31 minutes old, bob's 2
    assert _next(store, "cy") == left["pair_id"]  # served again
    assert _next(store, "ann") is None  # never to ann again, and bob still holds his
    assert _next(store, "bob") == other
    rows = persist.pair_rows(store, "c1")
    assert (rows["served"] == 1).all()
    expired = store.read_table(arena_expired)
    assert list(zip(expired["rater"], expired["pair_id"], strict=True)) == [
        ("ann", left["pair_id"])
    ]
    # ann's page stayed open: her late vote finds the pair full and stores nothing
    with pytest.raises(ArenaError, match="more than 30 minutes, so it went to other raters"):
        serving.cast_vote(store, spec, "ann", left, "a", workspace=tmp_path)
    cy = serving.current_pair(store, "c1", "cy", np.random.default_rng(0))
    assert serving.cast_vote(store, spec, "cy", cy, "b", workspace=tmp_path)
    assert store.status()["votes"] == 1
    assert int(persist.pair_rows(store, "c1")["served"].sum()) == 2


def test_a_late_vote_is_stored_when_its_pair_still_has_room(
    store: Store, clock: Clock, tmp_path: Path
) -> None:
    spec = _campaign(store, pairs=1, per_pair=2, expire_after_minutes=5)
    pair = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    clock.advance(6)
    assert _next(store, "bob") == pair["pair_id"]  # ann's slot went back; bob took one
    assert serving.cast_vote(store, spec, "ann", pair, "a", workspace=tmp_path)  # one was free
    assert not serving.cast_vote(store, spec, "ann", pair, "a", workspace=tmp_path)  # sent twice
    assert _next(store, "cy") is None  # full: ann and bob
    rows = persist.pair_rows(store, "c1")
    assert rows["served"].tolist() == [2]
    assert store.read_table(arena_expired).empty  # ann's assignment is back, voted
    held = persist.assignments(store, "c1").set_index("rater")
    assert held.loc["ann", "choice"] == "a" and pd.isna(held.loc["bob", "voted_at"])
    assert store.status()["votes"] == 1


def test_a_voted_pair_never_expires(store: Store, clock: Clock, tmp_path: Path) -> None:
    spec = _campaign(store, pairs=1, per_pair=1, expire_after_minutes=1)
    pair = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    serving.cast_vote(store, spec, "ann", pair, "tie", workspace=tmp_path)
    clock.advance(60)
    assert serving.release_expired(store, spec) == 0
    assert _next(store, "bob") is None
    assert persist.pair_rows(store, "c1")["served"].tolist() == [1]


def test_expiry_and_turn_settings_are_checked(sqlite_store: Store) -> None:
    with pytest.raises(ArenaError, match="expected a number above 0"):
        persist.create_campaign(sqlite_store, "c1", "replay", expire_after_minutes=0)
    with pytest.raises(ArenaError, match="only a live one can"):
        persist.create_campaign(sqlite_store, "c1", "replay", max_turns=3)
    row = persist.create_campaign(sqlite_store, "c1", "replay", expire_after_minutes=2.5)
    assert row["settings"]["expire_after_minutes"] == 2.5
    assert persist.campaign(sqlite_store, "c1")["settings"]["max_turns"] == 1
