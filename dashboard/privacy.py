"""Privacy rule for showing queries: a group's example queries are shown only when they come
from at least k distinct users (settings.privacy_min_users); the group still counts."""

from __future__ import annotations

import pandas as pd


def distinct_users(user_ids: pd.Series) -> int:
    """Distinct users behind some queries; a query with no user id counts as its own user."""
    known = user_ids.dropna().astype(str)
    known = known[known.str.strip() != ""]
    return int(known.nunique() + (len(user_ids) - len(known)))


def users_per_group(frame: pd.DataFrame, group: str, user: str = "user_id") -> pd.Series:
    """group value -> distinct users (by the rule above)."""
    if frame.empty:
        return pd.Series(dtype=int)
    ids = frame[user].astype("string")
    known = (ids.notna() & (ids.str.strip() != "")).fillna(False).astype(bool)
    keys = frame[group]
    anonymous = (~known).groupby(keys).sum()  # every group, each anonymous query one user
    named = ids[known].groupby(keys[known]).nunique()  # one pass, not a Python call per group
    return named.reindex(anonymous.index, fill_value=0).add(anonymous).astype(int)


def may_show(user_ids: pd.Series, min_users: int) -> bool:
    """Whether queries from these users may be shown."""
    return distinct_users(user_ids) >= min_users


def redact_small_groups(
    frame: pd.DataFrame, group: str, min_users: int, text: str = "query", user: str = "user_id"
) -> pd.DataFrame:
    """A copy with `text` blanked in every group whose queries come from fewer than k users."""
    if frame.empty:
        return frame
    counts = users_per_group(frame, group, user)
    hidden = frame[group].map(counts) < min_users
    out = frame.copy()
    out[text] = out[text].where(~hidden, None)
    return out
