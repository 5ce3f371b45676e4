"""Which pair a rater sees in a replay campaign, safe across processes sharing one database.

A pair's slot is taken by one UPDATE that also checks its quota; a rater's vote claims their
assignment with one UPDATE; an assignment left unvoted past the campaign's expiry moves to
arena_expired in the transaction that gives its slot back. None of it depends on what a process
remembers, so two server processes behind one proxy serve one campaign correctly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, union_all, update

from arena.errors import ArenaError, RateLimited
from arena.persist import campaign, pair_row
from arena.settings import campaign_settings
from arena.tables import arena_assignments, arena_expired, arena_pairs
from arena.votes import CHOICES, conversation_records, vote_record
from arenalens.ingest import write_records
from arenalens.store import Store, utcnow

CANDIDATES = 32  # least-served pairs tried per assignment, in random order
TAKE_ROUNDS = 20  # fresh candidate lists tried before a rater is told nothing is left
A = arena_assignments.c
P = arena_pairs.c
E = arena_expired.c


def _seen(campaign_name: str, rater: str) -> Any:
    """The pairs a rater was ever given in a campaign: held, voted, or left to expire."""
    return union_all(
        select(A.pair_id).where(A.campaign == campaign_name, A.rater == rater),
        select(E.pair_id).where(E.campaign == campaign_name, E.rater == rater),
    )


def release_expired(store: Store, spec: dict[str, Any], now: Any = None) -> int:
    """Give back the slots of pairs raters were given and left unvoted for longer than the
    campaign's expiry: each such assignment moves to arena_expired and its pair's `served`
    drops by one, in one transaction, and only if it is still unvoted then (a vote and a release
    racing in two processes: exactly one wins). Returns how many slots came back."""
    if spec["mode"] != "replay":
        return 0  # a live battle holds no pair's slot
    name = spec["name"]
    now = now or utcnow()
    cutoff = now - timedelta(minutes=campaign_settings(spec).expire_after_minutes)
    stale = (A.campaign == name, A.voted_at.is_(None), A.assigned_at < cutoff)
    with store.engine.connect() as conn:
        rows = conn.execute(select(A.pair_id, A.rater, A.assigned_at).where(*stale)).all()
    released = 0
    for row in rows:
        with store.transaction() as conn:
            gone = conn.execute(
                delete(arena_assignments).where(
                    *stale, A.pair_id == row.pair_id, A.rater == row.rater
                )
            ).rowcount
            if not gone:
                continue  # voted meanwhile, or another process released it first
            expired = {
                "campaign": name,
                "rater": row.rater,
                "pair_id": row.pair_id,
                "assigned_at": row.assigned_at,
                "expired_at": now,
            }
            store.insert_ignore(arena_expired, [expired], conn=conn)
            conn.execute(
                update(arena_pairs)
                .where(P.campaign == name, P.pair_id == row.pair_id, P.served > 0)
                .values(served=P.served - 1)
            )
        released += 1
    return released


def current_pair(
    store: Store, campaign_name: str, rater: str, rng: np.random.Generator
) -> dict[str, Any] | None:
    """The pair this rater should see now: the one given them and not yet voted on (a reload
    or a second tab shows the same pair) unless it expired, else a new one taken atomically;
    None when every pair is used up or was given to this rater before. Pairs other raters left
    past the campaign's expiry are offered again first. The returned dict has the pair plus
    `assigned_at`."""
    release_expired(store, campaign(store, campaign_name))
    with store.engine.connect() as conn:
        open_row = conn.execute(
            select(A.pair_id, A.assigned_at)
            .where(A.campaign == campaign_name, A.rater == rater, A.voted_at.is_(None))
            .order_by(A.assigned_at)
        ).first()
        if open_row is not None:
            return {
                **pair_row(conn, campaign_name, open_row.pair_id),
                "assigned_at": open_row.assigned_at,
            }
    open_pairs = (
        select(P.pair_id)
        .where(
            P.campaign == campaign_name,
            P.served < P.quota,
            P.pair_id.not_in(_seen(campaign_name, rater)),
        )
        .order_by(P.served, P.pair_id)
        .limit(CANDIDATES)
    )
    for _ in range(TAKE_ROUNDS):  # other raters may fill every candidate first: look again
        with store.engine.connect() as conn:
            candidates = list(conn.execute(open_pairs).scalars())
        if not candidates:
            return None
        rng.shuffle(candidates)
        for pair_id in candidates:
            if (assigned := _take(store, campaign_name, pair_id, rater)) is not None:
                return assigned
    return None


def _take(store: Store, campaign_name: str, pair_id: str, rater: str) -> dict[str, Any] | None:
    """Take one slot of a pair for a rater, or None when it filled up or they hold it already."""
    now = utcnow()
    try:
        return _take_in_transaction(store, campaign_name, pair_id, rater, now)
    except _AlreadyHeld:  # rolled back: the slot is given back
        return None


class _AlreadyHeld(Exception):
    """The rater holds this pair already (another tab took it first)."""


def _take_in_transaction(
    store: Store, campaign_name: str, pair_id: str, rater: str, now: Any
) -> dict[str, Any] | None:
    with store.transaction() as conn:
        if not _take_slot(conn, campaign_name, pair_id):
            return None
        row = {"campaign": campaign_name, "pair_id": pair_id, "rater": rater, "assigned_at": now}
        if not store.insert_ignore(arena_assignments, [row], conn=conn):
            raise _AlreadyHeld
        return {**pair_row(conn, campaign_name, pair_id), "assigned_at": now}


def _take_slot(conn: Any, campaign_name: str, pair_id: str) -> bool:
    """One more rater for a pair, if it has room: the quota is checked in the UPDATE itself."""
    return bool(
        conn.execute(
            update(arena_pairs)
            .where(P.campaign == campaign_name, P.pair_id == pair_id, P.served < P.quota)
            .values(served=P.served + 1)
        ).rowcount
    )


class _LateVoteRefused(Exception):
    """A late vote on an expired assignment found its pair full (rolled back)."""


def _reclaim_expired(
    conn: Any, spec: dict[str, Any], rater: str, pair: dict[str, Any], claim: dict[str, Any]
) -> bool | None:
    """A vote on a pair whose assignment expired while the page stayed open: stored when the
    pair still has a free slot (taken again, the assignment moves back, voted); None when it was
    never given to this rater, False when this vote was stored already (a second tab)."""
    name = spec["name"]
    expired = conn.execute(
        select(E.assigned_at).where(
            E.campaign == name, E.rater == rater, E.pair_id == pair["pair_id"]
        )
    ).first()
    if expired is None:
        return None
    moved = conn.execute(
        delete(arena_expired).where(
            E.campaign == name, E.rater == rater, E.pair_id == pair["pair_id"]
        )
    ).rowcount
    if not moved:
        return False  # another tab's vote reclaimed it first
    if not _take_slot(conn, name, pair["pair_id"]):
        raise _LateVoteRefused
    conn.execute(
        arena_assignments.insert().values(
            campaign=name,
            pair_id=pair["pair_id"],
            rater=rater,
            assigned_at=expired.assigned_at,
            **claim,
        )
    )
    return True


def rater_progress(store: Store, campaign_name: str, rater: str) -> tuple[int, int]:
    """(votes this rater cast in the campaign, pairs still open to them)."""
    with store.engine.connect() as conn:
        voted = conn.execute(
            select(func.count()).where(
                A.campaign == campaign_name, A.rater == rater, A.voted_at.is_not(None)
            )
        ).scalar_one()
        left = conn.execute(
            select(func.count()).where(
                P.campaign == campaign_name,
                P.served < P.quota,
                P.pair_id.not_in(_seen(campaign_name, rater)),
            )
        ).scalar_one()
    return int(voted), int(left)


def cast_vote(
    store: Store,
    spec: dict[str, Any],
    rater: str,
    pair: dict[str, Any],
    choice: str,
    reason: str | None = None,
    *,
    workspace: Path,
    extra: dict[str, Any] | None = None,
) -> bool:
    """Store a rater's vote on a pair given to them, with its interaction, in one transaction.
    False when that vote was stored already (reload, double click, second tab): nothing changes.
    RateLimited when the rater already voted the campaign's limit in the last minute."""
    if choice not in CHOICES:
        raise ArenaError(f"unknown choice {choice!r}")
    now = utcnow()
    record = vote_record(
        pair,
        campaign=spec["name"],
        rater=rater,
        choice=choice,
        reason=reason,
        voted_at=now,
        shown_at=pair.get("assigned_at"),
        mode=spec["mode"],
        extra=extra,
    )
    root = Path(pair.get("audio_root") or workspace).resolve()
    return _claim_and_write(store, spec, rater, pair, choice, [record], root, now)


def cast_conversation_vote(
    store: Store,
    spec: dict[str, Any],
    rater: str,
    battle: dict[str, Any],
    choice: str,
    reason: str | None = None,
    *,
    workspace: Path,
) -> bool:
    """Store a rater's vote on a live conversation (its latest turn): with a vote per
    conversation every turn's row is written now, the last one with the vote; with a vote per
    turn, the latest turn's row with its vote. As `cast_vote` otherwise (once, rate-limited)."""
    if choice not in CHOICES:
        raise ArenaError(f"unknown choice {choice!r}")
    latest = len(battle["turns"])
    per_turn = campaign_settings(spec).vote_per == "turn"
    now = utcnow()
    records = conversation_records(
        battle,
        [latest] if per_turn else list(range(1, latest + 1)),
        campaign=spec["name"],
        rater=rater,
        choice=choice,
        reason=reason,
        voted_at=now,
        shown_at=battle["turns"][-1].get("shown_at"),
    )
    held = {"pair_id": battle_slot(battle["battle_id"], latest if per_turn else None)}
    root = Path(battle.get("audio_root") or workspace).resolve()
    return _claim_and_write(store, spec, rater, held, choice, records, root, now)


def battle_slot(battle_id: str, turn: int | None = None) -> str:
    """The assignment a live battle's vote claims: the battle, or one turn of it."""
    return battle_id if turn is None else f"{battle_id}:t{turn}"


def _claim_and_write(
    store: Store,
    spec: dict[str, Any],
    rater: str,
    pair: dict[str, Any],
    choice: str,
    records: list[dict[str, Any]],
    root: Path,
    now: Any,
) -> bool:
    """Claim the rater's assignment of `pair` and write the vote's records, in one transaction."""
    name = spec["name"]
    claim = {"voted_at": now, "choice": choice, "vote_id": records[-1]["id"]}
    try:
        with store.transaction() as conn:
            recent = conn.execute(
                select(func.count()).where(
                    A.campaign == name, A.rater == rater, A.voted_at > now - timedelta(minutes=1)
                )
            ).scalar_one()
            claimed = conn.execute(
                update(arena_assignments)
                .where(
                    A.campaign == name,
                    A.pair_id == pair["pair_id"],
                    A.rater == rater,
                    A.voted_at.is_(None),
                )
                .values(**claim)
            ).rowcount
            if not claimed:
                held = conn.execute(
                    select(A.voted_at).where(
                        A.campaign == name, A.pair_id == pair["pair_id"], A.rater == rater
                    )
                ).first()
                if held is not None:
                    return False
                reclaimed = _reclaim_expired(conn, spec, rater, pair, claim)
                if reclaimed is None:
                    raise ArenaError("this pair was not given to you; reload the page")
                if not reclaimed:
                    return False
            if recent >= spec["votes_per_minute"]:  # raised inside: the claim rolls back
                raise RateLimited(
                    f"at most {spec['votes_per_minute']} votes a minute in this campaign; "
                    "wait a moment and vote again"
                )
            write_records(store, records, f"arena campaign {name}", audio_root=root, conn=conn)
    except _LateVoteRefused:
        minutes = campaign_settings(spec).expire_after_minutes
        raise ArenaError(
            f"this pair stayed open more than {minutes:g} minutes, so it went to other raters, "
            "who have used it up; here is the next one"
        ) from None
    return True
