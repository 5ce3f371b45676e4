"""The arena's reads and writes through the store: campaigns, invites, pairs, assignments, votes.

Which pair a rater sees, and their vote, are in `arena.serving`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, select, update

from arena.errors import AccessDenied, ArenaError
from arena.settings import DEFAULT_EXPIRY_MINUTES, CampaignSettings
from arena.tables import (
    arena_assignments,
    arena_campaigns,
    arena_expired,
    arena_invites,
    arena_pair_context,
    arena_pairs,
)
from arena.votes import hash_token, new_token
from arenalens.store import Store, utcnow

MODES = ("replay", "live")
A = arena_assignments.c
P = arena_pairs.c
S = arena_pair_context.c
CONTEXT = ("response_audio_a", "response_audio_b", "earlier_turns")
E = arena_expired.c


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
    expire_after_minutes: float = DEFAULT_EXPIRY_MINUTES,
    max_turns: int = 1,
    output: str = "text",
    vote_per: str = "conversation",
) -> dict[str, Any]:
    """Create a campaign; refuses a name that exists. `systems`: live campaigns draw from these
    (default: every system in the workspace's systems file). The rest: see CampaignSettings."""
    name = name.strip()
    if not name or len(name) > 128:
        raise ArenaError("a campaign name needs 1 to 128 characters")
    if mode not in MODES:
        raise ArenaError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if not 0 <= attention_rate <= 1:
        raise ArenaError(f"attention rate {attention_rate}: expected a share from 0 to 1")
    settings = CampaignSettings(
        systems=tuple(systems or ()),
        expire_after_minutes=expire_after_minutes,
        max_turns=max_turns,
        output=output,
        vote_per=vote_per,
    )
    settings.check_mode(mode)
    row = {
        "name": name,
        "mode": mode,
        "raters_per_pair": raters_per_pair,
        "reveal_names": reveal_names,
        "attention_rate": attention_rate,
        "votes_per_minute": votes_per_minute,
        "settings": settings.to_json(),
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
    """Add pairs to a campaign (quota: its raters per pair), with their spoken answers (a side
    that was typed has none) and earlier turns; pairs already in it are kept."""
    spec = campaign(store, campaign_name)
    now = utcnow()
    rows, context = [], []
    for record in pairs.to_dict("records"):
        row = {k: (None if _missing(v) else v) for k, v in record.items()}
        extras = {name: row.pop(name, None) or None for name in CONTEXT}
        if any(value is not None for value in extras.values()):
            context.append({"campaign": campaign_name, "pair_id": row["pair_id"], **extras})
        row.update(
            campaign=campaign_name,
            attention=bool(row.get("attention")),
            quota=spec["raters_per_pair"],
            served=0,
            created_at=now,
        )
        rows.append(row)
    with store.transaction() as conn:
        added = store.insert_ignore(arena_pairs, rows, conn=conn)
        store.insert_ignore(arena_pair_context, context, conn=conn)
    return added


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _pairs_with_answers() -> Any:
    """arena_pairs with each pair's spoken answers and earlier turns (None where it has none)."""
    joined = arena_pairs.outerjoin(
        arena_pair_context, and_(S.campaign == P.campaign, S.pair_id == P.pair_id)
    )
    return select(arena_pairs, S.response_audio_a, S.response_audio_b, S.earlier_turns).select_from(
        joined
    )


def pair_rows(store: Store, campaign_name: str) -> pd.DataFrame:
    """Every pair of a campaign with its quota, how many raters were given it, its spoken
    answers and earlier turns."""
    return store.read_frame(
        _pairs_with_answers().where(P.campaign == campaign_name).order_by(P.pair_id)
    )


def pair_row(conn: Any, campaign_name: str, pair_id: str) -> dict[str, Any]:
    query = _pairs_with_answers().where(P.campaign == campaign_name, P.pair_id == pair_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise ArenaError(f"pair {pair_id!r} is not in campaign {campaign_name!r}")
    return dict(row)


def assignments(store: Store, campaign_name: str | None = None) -> pd.DataFrame:
    """Every assignment (who was given which pair, when, and their choice)."""
    query = select(arena_assignments).order_by(A.campaign, A.assigned_at)
    if campaign_name is not None:
        query = query.where(A.campaign == campaign_name)
    return store.read_frame(query)


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
