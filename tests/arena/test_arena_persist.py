"""Campaigns, links, serving and votes through the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from arena_testkit import make_pairs

from arena import persist, serving
from arena.errors import AccessDenied, ArenaError, RateLimited
from arena.pairs import attention_pairs, read_pair_files
from arena.votes import hash_token
from arenalens.store import Store
from arenalens.store import tables as t


def _campaign(store: Store, pairs: int = 6, per_pair: int = 2, **options: object) -> dict:
    persist.create_campaign(
        store, "c1", "replay", raters_per_pair=per_pair, votes_per_minute=1000, **options
    )
    persist.add_pairs(store, "c1", make_pairs(pairs))
    return persist.campaign(store, "c1")


def _arena_votes(store: Store) -> pd.DataFrame:
    frame = store.interactions_frame()
    return frame[frame["id"].str.startswith("arena_")].reset_index(drop=True)


def test_a_vote_is_one_interaction_whatever_is_resent(store: Store, tmp_path: Path) -> None:
    spec = _campaign(store)
    pair = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    assert serving.cast_vote(store, spec, "ann", pair, "b", "B was clearer", workspace=tmp_path)
    # a reload, double click or second tab sends it again, even with another choice
    assert not serving.cast_vote(store, spec, "ann", pair, "b", "B was clearer", workspace=tmp_path)
    assert not serving.cast_vote(store, spec, "ann", pair, "a", None, workspace=tmp_path)
    votes = _arena_votes(store)
    assert len(votes) == 1
    vote = votes.iloc[0]
    assert (vote.user_id, vote.winner) == ("ann", "model_b")
    assert (vote.model_a, vote.model_b) == (pair["model_a"], pair["model_b"])
    assert vote.query_text == pair["query_text"] and vote.response_b == pair["response_b"]
    assert vote.extra["arena_campaign"] == "c1" and vote.extra["arena_pair"] == pair["pair_id"]
    assert vote.extra["arena_vote_seconds"] >= 0
    feedback = store.read_table(t.feedback)
    assert list(feedback["text"]) == ["B was clearer"]
    assert store.status()["votes"] == 1  # what rank reads, without any ingest


def test_both_bad_is_a_tie_marked_both_bad(store: Store, tmp_path: Path) -> None:
    spec = _campaign(store)
    pair = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    serving.cast_vote(store, spec, "ann", pair, "both_bad", workspace=tmp_path)
    vote = _arena_votes(store).iloc[0]
    assert vote.winner == "tie" and vote.extra["both_bad"] is True


def test_pairs_reach_their_quota_and_never_a_rater_twice(store: Store, tmp_path: Path) -> None:
    spec = _campaign(store, pairs=5, per_pair=2)
    rng = np.random.default_rng(1)
    seen: dict[str, list[str]] = {}
    for _ in range(20):  # three raters take turns until nothing is left
        for rater in ("ann", "bob", "cy"):
            pair = serving.current_pair(store, "c1", rater, rng)
            if pair is not None:
                seen.setdefault(rater, []).append(pair["pair_id"])
                serving.cast_vote(store, spec, rater, pair, "a", workspace=tmp_path)
    assert all(len(ids) == len(set(ids)) for ids in seen.values())
    rows = persist.pair_rows(store, "c1")
    assert (rows["served"] == 2).all()  # every pair used, none beyond its quota
    assert len(_arena_votes(store)) == 10


def test_reload_shows_the_same_pair_until_the_vote(store: Store) -> None:
    _campaign(store)
    first = serving.current_pair(store, "c1", "ann", np.random.default_rng(0))
    again = serving.current_pair(store, "c1", "ann", np.random.default_rng(5))
    assert again["pair_id"] == first["pair_id"]
    assert int(persist.pair_rows(store, "c1")["served"].sum()) == 1


def test_concurrent_raters_never_overfill_a_pair(store: Store) -> None:
    _campaign(store, pairs=3, per_pair=2)
    taken: list[str] = []
    barrier = threading.Barrier(8)

    def rater(name: str) -> None:
        barrier.wait()
        pair = serving.current_pair(store, "c1", name, np.random.default_rng())
        if pair is not None:
            taken.append(pair["pair_id"])

    threads = [threading.Thread(target=rater, args=(f"r{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = persist.pair_rows(store, "c1")
    assert len(taken) == 6 and (rows["served"] <= rows["quota"]).all()
    assert rows["served"].sum() == 6


def test_links_are_hashed_and_refused_when_revoked_or_unknown(sqlite_store: Store) -> None:
    _campaign(sqlite_store)
    token = persist.invite(sqlite_store, "c1", "ann")
    stored = sqlite_store.read_table(persist.arena_invites)
    assert token not in set(stored["token_hash"]) and hash_token(token) in set(stored["token_hash"])
    assert persist.authorise(sqlite_store, token)[0] == "ann"
    with pytest.raises(AccessDenied, match="not valid"):
        persist.authorise(sqlite_store, token + "x")
    with pytest.raises(AccessDenied, match="personal link"):
        persist.authorise(sqlite_store, None)
    assert persist.revoke(sqlite_store, "c1", "ann")
    with pytest.raises(AccessDenied, match="revoked"):
        persist.authorise(sqlite_store, token)
    fresh = persist.invite(sqlite_store, "c1", "ann")  # a new link replaces the old
    assert persist.authorise(sqlite_store, fresh)[0] == "ann"


def test_votes_beyond_the_rate_limit_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    persist.create_campaign(sqlite_store, "c1", "replay", votes_per_minute=2)
    persist.add_pairs(sqlite_store, "c1", make_pairs(4))
    spec = persist.campaign(sqlite_store, "c1")
    rng = np.random.default_rng(0)
    for _ in range(2):
        pair = serving.current_pair(sqlite_store, "c1", "ann", rng)
        assert serving.cast_vote(sqlite_store, spec, "ann", pair, "a", workspace=tmp_path)
    pair = serving.current_pair(sqlite_store, "c1", "ann", rng)
    with pytest.raises(RateLimited, match="at most 2 votes a minute"):
        serving.cast_vote(sqlite_store, spec, "ann", pair, "a", workspace=tmp_path)
    assert len(_arena_votes(sqlite_store)) == 2
    # the pair stays the rater's, to vote on once the minute has passed
    assert serving.current_pair(sqlite_store, "c1", "ann", rng)["pair_id"] == pair["pair_id"]


def test_attention_votes_are_kept_apart_from_rankings(sqlite_store: Store, tmp_path: Path) -> None:
    persist.create_campaign(sqlite_store, "c1", "replay", votes_per_minute=1000)
    planted = attention_pairs(make_pairs(10), 0.3, np.random.default_rng(0))
    assert len(planted) == 3 and planted["attention"].all()
    persist.add_pairs(sqlite_store, "c1", planted)
    spec = persist.campaign(sqlite_store, "c1")
    rng = np.random.default_rng(0)
    for _ in range(3):
        pair = serving.current_pair(sqlite_store, "c1", "ann", rng)
        good = "b" if pair["bad_side"] == "a" else "a"
        serving.cast_vote(sqlite_store, spec, "ann", pair, good, workspace=tmp_path)
    votes = _arena_votes(sqlite_store)
    assert len(votes) == 3 and votes["winner"].isna().all()
    assert all(extra["arena_attention_passed"] for extra in votes["extra"])
    assert sqlite_store.status()["votes"] == 0


def test_pairs_load_from_infer_pair_files(tmp_path: Path) -> None:
    from inference.pairs import write_blind_file, write_key_file

    pairs = pd.DataFrame(
        {
            "pair_id": ["p1", "p2"],
            "interaction_id": ["q1", "q2"],
            "query": ["first", "second"],
            "system_a": ["S1", "S2"],
            "system_b": ["S2", "S1"],
            "response_a": ["a1", "a2"],
            "response_b": ["b1", "b2"],
        }
    )
    write_blind_file(pairs, tmp_path / "blind.jsonl")
    write_key_file(pairs, tmp_path / "key.jsonl")
    loaded = read_pair_files(tmp_path / "blind.jsonl", tmp_path / "key.jsonl")
    assert list(loaded["model_a"]) == ["S1", "S2"] and list(loaded["query_text"]) == [
        "first",
        "second",
    ]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    record = json.loads((tmp_path / "blind.jsonl").read_text().splitlines()[0])
    record["query_audio"] = "/etc/passwd"
    (outside / "blind.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(ArenaError, match="outside the allowed folder"):
        read_pair_files(outside / "blind.jsonl", tmp_path / "key.jsonl")
