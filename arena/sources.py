"""Where a replay campaign's pairs come from in the store: the blind pairs `infer pair` stored,
and battles an arena already logged (offered blind again)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from arena.errors import ArenaError
from arena.pairs import PAIR_COLUMNS
from arenalens.store import Store


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


def _stored_answers(store: Store) -> dict[str, tuple[str, str, str]]:
    """interaction id -> (audio of answer A, of answer B, the root both were confined to), for
    votes whose two answers were both spoken (into one folder)."""
    frame = store.response_audio_frame()
    spoken: dict[str, dict[str, tuple[str, str]]] = {}
    for row in frame.itertuples():
        spoken.setdefault(row.interaction_id, {})[row.side] = (row.path, row.root)
    return {
        iid: (sides["a"][0], sides["b"][0], sides["a"][1])
        for iid, sides in spoken.items()
        if {"a", "b"} <= set(sides) and sides["a"][1] == sides["b"][1]
    }


def _with_answers(
    row: dict[str, object], answers: dict[str, tuple[str, str, str]]
) -> dict[str, object]:
    """`row` with its stored spoken answers, where both lie in the query audio's folder (a pair
    plays every file from its one `audio_root`)."""
    spoken = answers.get(str(row["interaction_id"]))
    if spoken is None or row["audio_root"] not in (None, spoken[2]):
        return row
    return {
        **row,
        "audio_root": spoken[2],
        "response_audio_a": spoken[0],
        "response_audio_b": spoken[1],
    }


def _earlier_turns(store: Store, ids: list[str]) -> dict[str, list[dict[str, object]]]:
    """interaction id -> the turns before it in its conversation, as text (turn, query,
    response_a, response_b; sides as stored), for those of `ids` that are later turns."""
    turns = store.conversation_turns_frame()
    if turns.empty:
        return {}
    turns = turns.sort_values(["conversation_id", "turn"])
    wanted = set(ids)
    earlier: dict[str, list[dict[str, object]]] = {}
    for _, conversation in turns.groupby("conversation_id", sort=False):
        shown: list[dict[str, object]] = []
        for turn in conversation.itertuples():
            if turn.id in wanted and shown:
                earlier[turn.id] = list(shown)
            shown.append(
                {
                    "turn": int(turn.turn),
                    "query": None if pd.isna(turn.query) else turn.query,
                    "response_a": None if pd.isna(turn.response_a) else turn.response_a,
                    "response_b": None if pd.isna(turn.response_b) else turn.response_b,
                }
            )
    return earlier


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
    answers = _stored_answers(store)
    rows = []
    for row in frame.itertuples():
        path, root = audio.get(row.interaction_id, (None, None))
        rows.append(
            _with_answers(
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
                },
                answers,
            )
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def pairs_from_battles(
    store: Store, limit: int, seed: int = 0, *, spoken: bool = False
) -> pd.DataFrame:
    """Up to `limit` stored battles re-offered blind (both answers, different texts), sides as
    they were, with their spoken answers: a campaign to rate again what an arena logged, e.g.
    the sample arena's; a later turn of a conversation comes with its earlier turns (as text).
    `spoken`: only battles whose two answers were spoken."""
    from inference.pairs import pair_id

    frame = store.interactions_frame(
        ["id", "query_text", "model_a", "model_b", "response_a", "response_b"],
        include_extra=False,
    )
    frame = frame.dropna(subset=["query", "model_a", "model_b", "response_a", "response_b"])
    frame = frame[frame["response_a"] != frame["response_b"]]
    frame = frame[~frame["id"].astype(str).str.startswith("arena_")]  # not the arena's own votes
    answers = _stored_answers(store)
    if spoken:
        frame = frame[frame["id"].isin(list(answers))]
    if frame.empty:
        what = "two different spoken answers" if spoken else "two different answers"
        raise ArenaError(f"no stored battle has a query and {what}")
    picked = frame.sample(n=min(limit, len(frame)), random_state=seed).sort_values("id")
    audio = _stored_audio(store)
    earlier = _earlier_turns(store, list(picked["id"]))
    rows = []
    for row in picked.itertuples():
        path, root = audio.get(row.id, (None, None))
        rows.append(
            _with_answers(
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
                    "earlier_turns": earlier.get(row.id),
                    "attention": False,
                    "bad_side": None,
                },
                answers,
            )
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
