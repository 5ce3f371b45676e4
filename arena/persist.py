"""The arena's reads and writes through the store: campaigns, invites, pairs, assignments, votes.

Serving is safe across processes sharing one database: a pair's slot is taken by one UPDATE
that also checks its quota, and a rater's vote is claimed by one UPDATE of their assignment, so
neither depends on what a process remembers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select, update

from arena.errors import AccessDenied, ArenaError, RateLimited
from arena.pairs import PAIR_COLUMNS
from arena.tables import arena_assignments, arena_campaigns, arena_invites, arena_pairs
from arena.votes import CHOICES, hash_token, new_token, vote_record
from arenalens.ingest import write_records
from arenalens.store import Store, utcnow

MODES = ("replay", "live")
CANDIDATES = 32  # least-served pairs tried per assignment, in random order
TAKE_ROUNDS = 20  # fresh candidate lists tried before a rater is told nothing is left
A = arena_assignments.c
P = arena_pairs.c


def create_campaign(
    store: Store,
    name: str,
    mode: str,
    *,
    raters_per_pair: int = 1,
    reveal_names: bool = False,
    attention_rate: float = 0.0,
    votes_per_minute: int = 20,
    systems: list[str] | None = None,
) -> dict[str, Any]:
    """Create a campaign; refuses a name that exists. `systems`: live campaigns draw from these
    (default: every system in the workspace's systems file)."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ArenaError("a campaign name needs 1 to 128 characters")
    if mode not in MODES:
        raise ArenaError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if not 0 <= attention_rate <= 1:
        raise ArenaError(f"attention rate {attention_rate}: expected a share from 0 to 1")
    row = {
        "name": name,
        "mode": mode,
        "raters_per_pair": raters_per_pair,
        "reveal_names": reveal_names,
        "attention_rate": attention_rate,
        "votes_per_minute": votes_per_minute,
        "settings": {"systems": list(systems)} if systems else {},
        "created_at": utcnow(),
    }
    if not store.insert_ignore(arena_campaigns, [row]):
        raise ArenaError(f"campaign {name!r} exists already")
    return row


def campaign(store: Store, name: str) -> dict[str, Any]:
    """The campaign called `name`."""
    with store.engine.connect() as conn:
        row = (
            conn.execute(select(arena_campaigns).where(arena_campaigns.c.name == name))
            .mappings()
            .first()
        )
    if row is None:
        known = ", ".join(campaigns(store)["name"]) or "none yet"
        raise ArenaError(f"no campaign {name!r} (campaigns: {known})")
    return dict(row)


def campaigns(store: Store) -> pd.DataFrame:
    """Every campaign with its pair, vote and rater counts."""
    frame = store.read_table(arena_campaigns).sort_values("name")
    pairs = store.read_frame(
        select(
            P.campaign, func.count().label("pairs"), func.sum(P.served).label("served")
        ).group_by(P.campaign)
    )
    votes = store.read_frame(
        select(
            A.campaign, func.count().label("votes"), func.count(A.rater.distinct()).label("raters")
        )
        .where(A.voted_at.is_not(None))
        .group_by(A.campaign)
    )
    frame = frame.merge(pairs, how="left", left_on="name", right_on="campaign").drop(
        columns="campaign"
    )
    frame = frame.merge(votes, how="left", left_on="name", right_on="campaign").drop(
        columns="campaign"
    )
    for column in ("pairs", "served", "votes", "raters"):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame.reset_index(drop=True)


def invite(store: Store, campaign_name: str, rater: str) -> str:
    """A new personal link token for `rater` in the campaign (only its hash is stored); a rater
    invited before gets a fresh token and the old one stops working."""
    campaign(store, campaign_name)
    rater = rater.strip()
    if not rater or len(rater) > 256:
        raise ArenaError("a rater name needs 1 to 256 characters")
    token = new_token()
    with store.transaction() as conn:
        conn.execute(
            arena_invites.delete().where(
                and_(arena_invites.c.campaign == campaign_name, arena_invites.c.rater == rater)
            )
        )
        store.insert_ignore(
            arena_invites,
            [
                {
                    "token_hash": hash_token(token),
                    "campaign": campaign_name,
                    "rater": rater,
                    "created_at": utcnow(),
                }
            ],
            conn=conn,
        )
    return token


def revoke(store: Store, campaign_name: str, rater: str) -> bool:
    """Revoke a rater's link; False when there was no live link to revoke."""
    c = arena_invites.c
    with store.transaction() as conn:
        result = conn.execute(
            update(arena_invites)
            .where(c.campaign == campaign_name, c.rater == rater, c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return bool(result.rowcount)


def authorise(store: Store, token: str | None) -> tuple[str, dict[str, Any]]:
    """(rater, campaign) of a live link's token; AccessDenied otherwise."""
    if not token:
        raise AccessDenied("This page needs your personal link (it ends in ?token=...).")
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                select(arena_invites).where(arena_invites.c.token_hash == hash_token(token))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise AccessDenied("This link is not valid; ask the organiser for a new one.")
    if row["revoked_at"] is not None:
        raise AccessDenied("This link was revoked; ask the organiser for a new one.")
    return row["rater"], campaign(store, row["campaign"])


def add_pairs(store: Store, campaign_name: str, pairs: pd.DataFrame) -> int:
    """Add pairs to a campaign (quota: its raters per pair); pairs already in it are kept."""
    spec = campaign(store, campaign_name)
    now = utcnow()
    rows = []
    for record in pairs.to_dict("records"):
        row = {k: (None if _missing(v) else v) for k, v in record.items()}
        row.update(
            campaign=campaign_name,
            attention=bool(row.get("attention")),
            quota=spec["raters_per_pair"],
            served=0,
            created_at=now,
        )
        rows.append(row)
    return store.insert_ignore(arena_pairs, rows)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def pair_rows(store: Store, campaign_name: str) -> pd.DataFrame:
    """Every pair of a campaign with its quota and how many raters were given it."""
    return store.read_frame(
        select(arena_pairs).where(P.campaign == campaign_name).order_by(P.pair_id)
    )


def _pair(conn: Any, campaign_name: str, pair_id: str) -> dict[str, Any]:
    row = (
        conn.execute(select(arena_pairs).where(P.campaign == campaign_name, P.pair_id == pair_id))
        .mappings()
        .first()
    )
    if row is None:
        raise ArenaError(f"pair {pair_id!r} is not in campaign {campaign_name!r}")
    return dict(row)


def current_pair(
    store: Store, campaign_name: str, rater: str, rng: np.random.Generator
) -> dict[str, Any] | None:
    """The pair this rater should see now: the one given them and not yet voted on (a reload
    or a second tab shows the same pair), else a new one taken atomically; None when every pair
    is used up or was seen by this rater. The returned dict has the pair plus `assigned_at`."""
    with store.engine.connect() as conn:
        open_row = conn.execute(
            select(A.pair_id, A.assigned_at)
            .where(A.campaign == campaign_name, A.rater == rater, A.voted_at.is_(None))
            .order_by(A.assigned_at)
        ).first()
        if open_row is not None:
            return {
                **_pair(conn, campaign_name, open_row.pair_id),
                "assigned_at": open_row.assigned_at,
            }
    seen = select(A.pair_id).where(A.campaign == campaign_name, A.rater == rater)
    open_pairs = (
        select(P.pair_id)
        .where(P.campaign == campaign_name, P.served < P.quota, P.pair_id.not_in(seen))
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
        taken = conn.execute(
            update(arena_pairs)
            .where(P.campaign == campaign_name, P.pair_id == pair_id, P.served < P.quota)
            .values(served=P.served + 1)
        ).rowcount
        if not taken:
            return None
        row = {"campaign": campaign_name, "pair_id": pair_id, "rater": rater, "assigned_at": now}
        if not store.insert_ignore(arena_assignments, [row], conn=conn):
            raise _AlreadyHeld
        return {**_pair(conn, campaign_name, pair_id), "assigned_at": now}


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
    name = spec["name"]
    now = utcnow()
    record = vote_record(
        pair,
        campaign=name,
        rater=rater,
        choice=choice,
        reason=reason,
        voted_at=now,
        shown_at=pair.get("assigned_at"),
        mode=spec["mode"],
        extra=extra,
    )
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
            .values(voted_at=now, choice=choice, vote_id=record["id"])
        ).rowcount
        if not claimed:
            held = conn.execute(
                select(A.voted_at).where(
                    A.campaign == name, A.pair_id == pair["pair_id"], A.rater == rater
                )
            ).first()
            if held is None:
                raise ArenaError("this pair was not given to you; reload the page")
            return False
        if recent >= spec["votes_per_minute"]:  # raised inside: the claim rolls back
            raise RateLimited(
                f"at most {spec['votes_per_minute']} votes a minute in this campaign; "
                "wait a moment and vote again"
            )
        root = Path(pair.get("audio_root") or workspace).resolve()
        write_records(store, [record], f"arena campaign {name}", audio_root=root, conn=conn)
    return True


def assignments(store: Store, campaign_name: str | None = None) -> pd.DataFrame:
    """Every assignment (who was given which pair, when, and their choice)."""
    query = select(arena_assignments).order_by(A.campaign, A.assigned_at)
    if campaign_name is not None:
        query = query.where(A.campaign == campaign_name)
    return store.read_frame(query)


def rater_progress(store: Store, campaign_name: str, rater: str) -> tuple[int, int]:
    """(votes this rater cast in the campaign, pairs still open to them)."""
    with store.engine.connect() as conn:
        voted = conn.execute(
            select(func.count()).where(
                A.campaign == campaign_name, A.rater == rater, A.voted_at.is_not(None)
            )
        ).scalar_one()
        seen = select(A.pair_id).where(A.campaign == campaign_name, A.rater == rater)
        left = conn.execute(
            select(func.count()).where(
                P.campaign == campaign_name, P.served < P.quota, P.pair_id.not_in(seen)
            )
        ).scalar_one()
    return int(voted), int(left)


def _stored_audio(store: Store) -> dict[str, tuple[str, str]]:
    """interaction id -> (audio path, the root it was confined to), for queries with audio."""
    from arenalens.store import tables as t

    query = select(
        t.query_audio.c.interaction_id, t.query_audio.c.path, t.query_audio_roots.c.root
    ).join(
        t.query_audio_roots,
        t.query_audio_roots.c.interaction_id == t.query_audio.c.interaction_id,
    )
    with store.engine.connect() as conn:
        return {row.interaction_id: (row.path, row.root) for row in conn.execute(query)}


def pairs_from_store(store: Store) -> pd.DataFrame:
    """Every blind pair `arenalens infer pair` stored, with its query text and audio."""
    from inference import persist as inference_persist

    frame = inference_persist.pairs_frame(store)
    if frame.empty:
        raise ArenaError(
            "no pairs in the store; run `arenalens infer pair SYSTEM_A SYSTEM_B` first"
        )
    queries = inference_persist.query_texts(store, list(frame["interaction_id"]))
    audio = _stored_audio(store)
    rows = []
    for row in frame.itertuples():
        path, root = audio.get(row.interaction_id, (None, None))
        rows.append(
            {
                "pair_id": row.pair_id,
                "interaction_id": row.interaction_id,
                "query_text": queries.get(row.interaction_id),
                "query_audio": path,
                "audio_root": root,
                "model_a": row.system_a,
                "model_b": row.system_b,
                "response_a": row.response_a,
                "response_b": row.response_b,
                "attention": False,
                "bad_side": None,
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def pairs_from_battles(store: Store, limit: int, seed: int = 0) -> pd.DataFrame:
    """Up to `limit` stored battles re-offered blind (both answers, different texts), sides as
    they were: a campaign to rate again what an arena logged, e.g. the sample arena's."""
    from inference.pairs import pair_id

    frame = store.interactions_frame(
        ["id", "query_text", "model_a", "model_b", "response_a", "response_b"],
        include_extra=False,
    )
    frame = frame.dropna(subset=["query", "model_a", "model_b", "response_a", "response_b"])
    frame = frame[frame["response_a"] != frame["response_b"]]
    frame = frame[~frame["id"].astype(str).str.startswith("arena_")]  # not the arena's own votes
    if frame.empty:
        raise ArenaError("no stored battle has a query and two different answers")
    picked = frame.sample(n=min(limit, len(frame)), random_state=seed).sort_values("id")
    audio = _stored_audio(store)
    rows = []
    for row in picked.itertuples():
        path, root = audio.get(row.id, (None, None))
        rows.append(
            {
                "pair_id": pair_id(row.id, row.model_a, row.model_b),
                "interaction_id": row.id,
                "query_text": row.query,
                "query_audio": path,
                "audio_root": root,
                "model_a": row.model_a,
                "model_b": row.model_b,
                "response_a": row.response_a,
                "response_b": row.response_b,
                "attention": False,
                "bad_side": None,
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def start_battle(store: Store, campaign_name: str, rater: str, battle_id: str) -> Any:
    """Record that a live battle's answers were shown to a rater (the vote claims this row, as
    a replay vote claims its assignment); returns when."""
    now = utcnow()
    row = {"campaign": campaign_name, "pair_id": battle_id, "rater": rater, "assigned_at": now}
    store.insert_ignore(arena_assignments, [row])
    return now


def campaign_votes(store: Store, campaign_name: str) -> pd.DataFrame:
    """The campaign's votes on systems: model_a, model_b, winner, user_id (for the scheduler)."""
    frame = store.interactions_frame(["id", "user_id", "model_a", "model_b", "winner", "extra"])
    frame = frame[frame["id"].astype(str).str.startswith("arena_") & frame["winner"].notna()]
    mine = [(extra or {}).get("arena_campaign") == campaign_name for extra in frame["extra"]]
    columns = ["model_a", "model_b", "winner", "user_id"]
    return frame.loc[np.asarray(mine, dtype=bool), columns].reset_index(drop=True)
