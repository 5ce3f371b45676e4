"""Ranking reads counts, not rows: votes are grouped in SQL (SQLite and PostgreSQL) and the
leaderboard from grouped counts is the leaderboard from the individual votes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from ranking_sim import simulate_votes
from sqlalchemy import select

from arenalens.store import Store
from arenalens.store import tables as t
from ranking import persist
from ranking.bradley_terry import winner_scores
from ranking.errors import RankingError
from ranking.leaderboard import RankingOptions, rank_votes
from ranking.pipeline import rank_selection, select_votes

N = 500


@pytest.fixture
def voted(store: Store) -> Store:
    rng = np.random.default_rng(0)
    a, b, score = simulate_votes(np.array([-0.3, 0.0, 0.2, 0.5]), N, rng)
    winner = np.where(score == 1, "model_a", "model_b")
    rows = [
        {
            "id": f"v{k}",
            "model_a": a[k],
            "model_b": b[k],
            "winner": winner[k],
            "user_id": f"u{k % 37}" if k % 10 else None,
            "language": "en" if k % 4 else "th",
            "extra": {"ttft_a": float(k % 7), "ttft_b": 1.5, "device": "phone" if k % 2 else "pc"}
            if k % 25
            else {"device": "pc"},
            "content_hash": f"h{k}",
        }
        for k in range(N)
    ]
    rows.append({"id": "nv", "model_a": "m0", "model_b": "m1", "winner": None, "extra": {},
                 "content_hash": "nv"})  # fmt: skip
    store.insert_ignore(t.interactions, rows)
    store.set_aliases({"m3": "M-three"})
    return store


def test_grouped_counts_equal_the_per_vote_rows(voted: Store) -> None:
    grouped = persist.vote_counts(voted, ["language", "user_id", "device", "ttft_a"])
    assert grouped["n"].sum() == N and len(grouped) < N
    votes = voted.votes_frame()
    votes["device"] = votes["extra"].map(lambda e: e.get("device"))
    keys = ["model_a", "model_b", "winner", "language"]
    expected = votes.groupby([*keys, "device"]).size().sort_index()
    actual = grouped.groupby([*keys, "device"])["n"].sum().sort_index()
    pd.testing.assert_series_equal(actual, expected, check_names=False)
    assert "M-three" in set(grouped["model_a"]) and "m3" not in set(grouped["model_a"])
    assert pd.api.types.is_numeric_dtype(grouped["ttft_a"])  # numbers come back as numbers


def _per_vote_counts(store: Store, fields: list[str]) -> pd.DataFrame:
    """The reference: every vote read, grouped in pandas (None kept as a group)."""
    votes = store.interactions_frame(["id", "model_a", "model_b", "winner", *fields])
    votes = votes[votes["winner"].notna()].astype(object).fillna("<none>")
    keys = ["model_a", "model_b", "winner", *fields]
    return votes.groupby(keys).size().rename("n").sort_index()


def _as_counts(grouped: pd.DataFrame, fields: list[str]) -> pd.Series:
    keys = ["model_a", "model_b", "winner", *fields]
    return grouped.astype({k: object for k in keys}).fillna("<none>").set_index(keys)["n"]


@pytest.mark.parametrize("odd_user", [None, "a\x1fb", ""])
def test_counts_per_user_equal_the_per_vote_rows(voted: Store, odd_user: str | None) -> None:
    """Grouped by user (the database lists each group's users in one text value), the counts
    are those of the votes, also when a user id holds the list's separator or is empty text
    (then the votes are grouped row by row)."""
    voted.set_aliases({})
    if odd_user is not None:
        row = {"id": "odd", "model_a": "m0", "model_b": "m2", "winner": "tie", "extra": {},
               "user_id": odd_user, "content_hash": "odd"}  # fmt: skip
        voted.insert_ignore(t.interactions, [row])
    for fields in (["user_id"], ["language", "user_id"]):
        grouped = persist.vote_counts(voted, fields)
        assert list(grouped.columns) == ["model_a", "model_b", "winner", *fields, "n"]
        expected = _per_vote_counts(voted, fields)
        actual = _as_counts(grouped, fields).sort_index()
        pd.testing.assert_series_equal(
            actual, expected, check_names=False, check_dtype=False, check_index_type=False
        )
    fast = persist._counts_per_user(voted, _user_subquery())
    assert (fast is None) == (odd_user is not None)  # listed users are used whenever exact


def test_counts_per_user_keep_a_number_field_a_number(voted: Store) -> None:
    """A taxonomy cluster id (an integer column) travels through the joined text and comes
    back as the cluster's name, on both backends; votes without a cluster stay apart."""
    from taxonomy import persist as taxonomy_persist

    voted.set_aliases({})
    run_id = voted.start_run("taxonomy", {})
    names = ["knowledge", "advice", "chat"]
    clusters = pd.DataFrame(
        [{"cluster_id": c, "level": 0, "name": name, "auto_name": name, "size": 1,
          "category": name, "novel": False} for c, name in enumerate(names)]
    )  # fmt: skip
    assigned = range(0, N, 2)  # every other vote; the rest have no cluster
    assignments = pd.DataFrame(
        {"interaction_id": [f"v{k}" for k in assigned], "base_cluster_id": [k % 3 for k in assigned],
         "cluster_id": [k % 3 for k in assigned], "outlier": False, "reassigned": False,
         "category": [names[k % 3] for k in assigned], "modality": "text_primary", "source": "fit"}
    )  # fmt: skip
    taxonomy_persist.write_run(voted, run_id, clusters, assignments)
    voted.finish_run(run_id)
    grouped = persist.vote_counts(voted, ["cluster", "user_id"])
    by_cluster = grouped.groupby("cluster")["n"].sum().to_dict()
    assert by_cluster == {names[c]: sum(1 for k in assigned if k % 3 == c) for c in range(3)}
    assert grouped.loc[grouped["cluster"].isna(), "n"].sum() == N - len(assigned)


def _user_subquery() -> Any:
    c = t.interactions.c
    return select(c.model_a, c.model_b, c.winner, c.user_id).where(c.winner.is_not(None)).subquery()


def test_leaderboard_from_counts_is_the_leaderboard_from_votes(voted: Store) -> None:
    options = RankingOptions(bootstrap_rounds=200, seed=4)
    selection = select_votes(voted)
    from_counts = rank_selection(selection, options)
    votes = voted.votes_frame()
    from_rows = rank_votes(
        votes["model_a"], votes["model_b"], winner_scores(votes["winner"]), options,
        users=voted.interactions_frame(["id", "user_id"]).set_index("id").loc[votes["id"], "user_id"]
        .to_numpy(dtype=object),
    )  # fmt: skip
    assert from_counts.ci_method == from_rows.ci_method
    assert "user-clustered" in from_counts.ci_method
    for x, y in zip(from_counts.ratings, from_rows.ratings, strict=True):
        assert (x.model, x.votes) == (y.model, y.votes)
        assert x.rating == pytest.approx(y.rating, abs=1e-6)
        assert (x.sandwich_low, x.sandwich_high) == pytest.approx(
            (y.sandwich_low, y.sandwich_high), abs=1e-6
        )
        # the bootstrap draws users in the same order; votes without a user id may come in
        # another order, so their resamples differ slightly
        assert (x.ci_low, x.ci_high) == pytest.approx((y.ci_low, y.ci_high), abs=5)


def test_where_and_controls_on_both_backends(voted: Store) -> None:
    selection = select_votes(voted, where="language == 'en' and ttft_a >= 1", controls=("ttft",))
    assert selection.excluded["lack ttft_a"] == 20  # every 25th vote has no latency metadata
    assert selection.n_votes + sum(selection.excluded.values()) == N
    board = rank_selection(selection, RankingOptions(bootstrap_rounds=0, controls=("ttft",)))
    assert board.controlled is not None and board.coefficients[0]["covariate"] == "ttft"
    assert board.warnings[0].startswith(f"--where left out {N - selection.n_votes} of {N} votes")


def test_a_non_numeric_control_is_a_clear_error(voted: Store) -> None:
    with pytest.raises(RankingError, match=r"--control device: \d+ votes have non-numeric device"):
        select_votes(voted, controls=("device",))


def test_an_unknown_control_lists_the_metadata_fields(voted: Store) -> None:
    with pytest.raises(
        RankingError, match="--control planet: no vote has planet or planet_a/planet_b.*ttft"
    ):
        select_votes(voted, controls=("planet",))


def test_a_where_that_matches_nothing_says_why(voted: Store) -> None:
    with pytest.raises(RankingError, match=f"matches none of the {N} votes .*do not match"):
        select_votes(voted, where="language == 'fr'")
