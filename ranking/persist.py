"""Reads and writes of the ranking stage (parameterised SQLAlchemy through the Store only).

Ranking reads counts, not rows: `vote_counts` groups the votes in SQL by exactly the fields a
ranking needs (models, winner, and any user id, slice, filter or covariate field), so a million
stored votes arrive as a few thousand (pair, outcome) rows with a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import String, Subquery, Text, cast, func, literal, select
from sqlalchemy.exc import DBAPIError

from arenalens.errors import StageError
from arenalens.models import resolve_models
from arenalens.privacy import safe_derived_text
from arenalens.store import Store
from arenalens.store import tables as t
from ranking import tables as rt
from ranking.errors import RankingError
from ranking.leaderboard import Leaderboard
from ranking.regression import RegressionReport
from taxonomy.tables import taxonomy_assignments

STAGE = "ranking"
REGRESSION_STAGE = "regression"
TAXONOMY_FIELDS = {"category": "category", "modality": "modality", "cluster": "cluster_name"}
CODING_FIELDS = ("reason",)
VOTE_COLUMNS = ("model_a", "model_b", "winner", "language", "user_id", "source", "id")
CORE_SLICE_FIELDS = (
    "category", "modality", "cluster", "language", "reason", "source", "output_modality",
    "turn_depth",
)  # fmt: skip
# length fields read from metadata, else measured on the stored response texts in SQL
TEXT_LENGTHS = {"response_length_a": "response_a", "response_length_b": "response_b"}
CONTROLLED = "(controlled)"  # slice_field under which a run's style-controlled board is stored
FIELD_SEPARATOR = "\x1f"  # between the fields and votes the database joins into one text


def vote_counts(store: Store, fields: Sequence[str] = ()) -> pd.DataFrame:
    """Votes grouped in SQL by model_a, model_b, winner and `fields`, with a count `n`.

    A field is an interactions column (language, user_id, source, id) or a metadata key of
    `extra` (read as text; numbers are converted back). Aliases are resolved afterwards on the
    small grouped frame. Raises when the workspace holds no votes.
    """
    c = t.interactions.c
    columns = [c.model_a, c.model_b, c.winner]
    taxonomy_run = None
    for name in dict.fromkeys(fields):
        if name in ("model_a", "model_b", "winner"):
            continue
        if name in VOTE_COLUMNS:
            columns.append(c[name].label(name))
        elif name in TAXONOMY_FIELDS:  # joined to the latest taxonomy run's assignments
            taxonomy_run = _latest_taxonomy_run(store)
            column = "cluster_id" if name == "cluster" else TAXONOMY_FIELDS[name]
            columns.append(taxonomy_assignments.c[column].label(name))
        elif name in TEXT_LENGTHS:  # metadata first, else the stored response text's length
            length = cast(func.length(c[TEXT_LENGTHS[name]]), String)
            columns.append(func.coalesce(c.extra[name].as_string(), length).label(name))
        else:
            columns.append(c.extra[name].as_string().label(name))
    inner = select(*columns).where(c.winner.is_not(None))
    if taxonomy_run is not None:
        a = taxonomy_assignments.c
        inner = inner.select_from(
            t.interactions.outerjoin(
                taxonomy_assignments, (a.interaction_id == c.id) & (a.run_id == taxonomy_run)
            )
        )
    inner = inner.subquery()
    frame = None
    if "user_id" in inner.c and "id" not in inner.c:  # a row per (group, user): ~1M at 1M votes
        frame = _counts_per_user(store, inner)
    if frame is None:
        query = select(*inner.c, func.count().label("n")).group_by(*inner.c)
        frame = store.read_frame(query, plain=True)  # text columns and a count
    if frame.empty:
        raise RankingError(
            "the workspace has no votes; ingest some first (`arenalens ingest FILE`)"
        )
    aliases = store.aliases()
    if aliases.keys() & (set(frame["model_a"].unique()) | set(frame["model_b"].unique())):
        frame = resolve_models(frame, aliases, ("model_a", "model_b"))
        keys = [k for k in frame.columns if k != "n"]
        frame = frame.groupby(keys, dropna=False, sort=False, as_index=False)["n"].sum()
    for name in frame.columns:
        if name not in VOTE_COLUMNS and name not in TAXONOMY_FIELDS and name != "n":
            frame[name] = numeric_if_possible(frame[name])
    if "cluster" in frame:
        from taxonomy.persist import cluster_table

        names = cluster_table(store, taxonomy_run, level=0, include_merged=True)
        # names derived from user text, masked like every such text (arenalens/privacy.py)
        named = names.set_index("cluster_id")["name"].map(safe_derived_text)
        frame["cluster"] = frame["cluster"].map(named)
        keys = [k for k in frame.columns if k != "n"]  # two clusters may share a name
        frame = frame.groupby(keys, dropna=False, sort=False, as_index=False)["n"].sum()
    return frame


def _counts_per_user(store: Store, inner: Subquery) -> pd.DataFrame | None:
    """`vote_counts`' frame when it is grouped by user: the database joins every vote's fields
    into one text value (no sort, no row objects), pyarrow splits and encodes it and numpy
    counts the (group, user) cells. A million (group, user) rows would each cost the driver
    and pandas several objects (1M votes among 500 models: 2.7 -> 1.0 CPU-s). None when the
    text cannot be split exactly (a value holding the separator, an empty text beside missing
    values, a database refusing so long a text): the caller groups row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = list(inner.c)
    as_text = [
        func.coalesce(column if isinstance(column.type, String) else cast(column, Text), "")
        for column in columns
    ]
    joined = as_text[0]
    for part in as_text[1:]:
        joined = joined.op("||")(literal(FIELD_SEPARATOR)).op("||")(part)
    listed = func.group_concat if store.dialect == "sqlite" else func.string_agg
    query = select(
        listed(joined, literal(FIELD_SEPARATOR)),
        func.count(),
        *(func.count(column) for column in columns),  # votes with a value
    )
    try:
        text_value, votes, *present = store.read_frame(query, plain=True).iloc[0].tolist()
    except DBAPIError:
        return None
    names = [column.name for column in columns]
    if not votes:
        return pd.DataFrame(columns=[*names, "n"])
    tokens = pc.split_pattern(pa.array([text_value], pa.large_string()), FIELD_SEPARATOR)
    tokens = tokens.flatten()
    if len(tokens) != votes * len(columns):
        return None  # a value holds the separator
    encoded = tokens.dictionary_encode()
    words = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    order = np.argsort(words)  # codes in the words' order, so rows come sorted by their fields
    rank = np.empty(len(words), np.int64)
    rank[order] = np.arange(len(words))
    words = words[order]
    codes = rank[encoded.indices.to_numpy()].reshape(votes, len(columns))
    blank = np.flatnonzero(words == "")
    for k, count in enumerate(present):  # '' stands for a missing value, unless it is real
        if count == votes:
            continue
        if not len(blank) or int((codes[:, k] == blank[0]).sum()) != votes - count:
            return None
    cell, n = np.unique(_combined_codes(codes), return_index=True, return_counts=True)[1:]
    kept = codes[cell]
    frame = pd.DataFrame(
        {name: pd.Series(words[kept[:, k]], dtype=object) for k, name in enumerate(names)}
    )
    for k, name in enumerate(names):
        if present[k] < votes:
            frame.loc[frame[name] == "", name] = None
        if not isinstance(columns[k].type, String):
            frame[name] = pd.to_numeric(frame[name])
    frame["n"] = n
    return frame


def _combined_codes(codes: np.ndarray) -> np.ndarray:
    """One int64 key per row of a (rows, columns) code matrix, equal exactly when rows are."""
    key = np.zeros(len(codes), np.int64)
    for column in codes.T.astype(np.int64):
        size = int(column.max()) + 1
        if int(key.max()) >= (1 << 62) // size:  # compact before the key could overflow
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
        key = key * size + column
    return key


def _latest_taxonomy_run(store: Store) -> int:
    from taxonomy.persist import latest_run_id

    run_id = latest_run_id(store)
    if run_id is None:
        raise StageError("no use-case categories: run `arenalens taxonomy build` first")
    return run_id


def numeric_if_possible(values: pd.Series) -> pd.Series:
    """Text that is all numbers (PostgreSQL's ->> returns text) becomes numbers; else unchanged.
    Each distinct text is converted once (a million votes hold a few thousand latencies)."""
    if pd.api.types.is_numeric_dtype(values):
        return values
    codes, uniques = pd.factorize(values)
    converted = pd.to_numeric(pd.Series(np.asarray(uniques, dtype=object)), errors="coerce")
    if not len(uniques) or converted.isna().any():
        return values
    out = converted.to_numpy()[codes]
    if (codes < 0).any():  # missing values stay missing (as NaN, like pandas' own conversion)
        out = out.astype(float)
        out[codes < 0] = np.nan
    return pd.Series(out, index=values.index, name=values.name)


def metadata_keys(store: Store, limit: int = 1000) -> list[str]:
    """Metadata fields present on the first `limit` votes (for error messages)."""
    c = t.interactions.c
    frame = store.read_frame(select(c.extra).where(c.winner.is_not(None)).limit(limit))
    keys: set[str] = set()
    for extra in frame["extra"] if len(frame) else []:
        if isinstance(extra, dict):
            keys.update(extra)
    return sorted(keys)


def votes_for_ranking(store: Store) -> pd.DataFrame:
    """Votes with aliases resolved: id, model_a, model_b, winner, language, extra."""
    votes = store.votes_frame()
    if votes.empty:
        raise RankingError(
            "the workspace has no votes; ingest some first (`arenalens ingest FILE`)"
        )
    return votes


def vote_total(store: Store) -> int:
    """Interactions with a vote."""
    c = t.interactions.c
    return int(store.read_frame(select(func.count()).where(c.winner.is_not(None))).iloc[0, 0])


def votes_with_both_responses(store: Store) -> int:
    """Votes whose two response texts are both stored (length control can use them)."""
    c = t.interactions.c
    query = select(func.count()).where(
        c.winner.is_not(None), c.response_a.is_not(None), c.response_b.is_not(None)
    )
    return int(store.read_frame(query).iloc[0, 0])


def vote_features(store: Store) -> pd.DataFrame:
    """id -> output_modality, turn_depth and the speech features of both sides, as the core
    derives them for every vote (`arenalens.vote_features`)."""
    return store.vote_features_frame().set_index("id")


def loss_reasons(store: Store) -> pd.Series:
    """interaction id -> list of loss-reason codes (negative codes of the latest coded codebook)."""
    from coding.persist import coded_versions, codes_frame

    versions = coded_versions(store)
    if versions.empty:
        raise StageError("no loss reasons: run `arenalens code` first")
    latest = versions.sort_values("last_coded_at").iloc[-1]["codebook_version"]
    codes = codes_frame(store, latest)
    if "polarity" in codes:
        codes = codes[codes["polarity"] == "negative"]
    feedback = store.feedback_frame()[["id", "interaction_id"]].rename(
        columns={"id": "feedback_id"}
    )
    merged = codes.merge(feedback, on="feedback_id")
    return merged.groupby("interaction_id")["code"].agg(lambda c: sorted(set(c)))


def save_leaderboard(
    store: Store, run_id: int, board: Leaderboard, slice_field: str = "", slice_value: str = ""
) -> None:
    """Write a leaderboard's ratings (and win rates) under `run_id`."""
    stored = set(rt.ranking_ratings.c.keys())
    rows = [
        {
            **{k: v for k, v in asdict(r).items() if k in stored},
            "run_id": run_id,
            "slice_field": slice_field,
            "slice_value": slice_value,
        }
        for r in board.ratings
    ]
    win_rows = [
        {
            **{k: v for k, v in r.items()},
            "run_id": run_id,
            "slice_field": slice_field,
            "slice_value": slice_value,
            "ci_low": _finite(r["ci_low"]),
            "ci_high": _finite(r["ci_high"]),
        }
        for matrix in board.win_rates
        for r in matrix.records()
    ]
    if board.controlled is not None and not slice_field:
        rows += [
            {
                **{k: v for k, v in asdict(r).items() if k in stored},
                "run_id": run_id,
                "slice_field": CONTROLLED,
                "slice_value": "",
            }
            for r in board.controlled.ratings
        ]
    with store.transaction() as conn:
        store.insert_ignore(rt.ranking_ratings, rows, conn=conn)
        store.insert_ignore(rt.ranking_win_rates, win_rows, conn=conn)


def save_regression(store: Store, run_id: int, report: RegressionReport) -> None:
    """Write the fixed effects of both fits under `run_id`."""
    rows = []
    for fit_name, coefficients in (("mixed", report.mixed), ("logit", report.logit)):
        for c in coefficients:
            details = {"vif": report.vif_kept.get(c.term)}
            rows.append({**asdict(c), "run_id": run_id, "fit": fit_name, "details": details})
    store.insert_ignore(rt.ranking_regression_terms, rows)


def ratings_frame(store: Store, run_id: int | None = None, slice_field: str = "") -> pd.DataFrame:
    """Stored ratings of a run (default: the latest finished ranking run) for one slice field."""
    if run_id is None:
        run = store.latest_run(STAGE)
        if run is None:
            raise StageError("no ratings yet: run `arenalens rank` first")
        run_id = int(run["id"])
    c = rt.ranking_ratings.c
    query = (
        select(rt.ranking_ratings)
        .where(c.run_id == run_id, c.slice_field == slice_field)
        .order_by(c.slice_value, c.component, c.rank == 0, c.rank, c.rating.desc())
    )
    return store.read_frame(query)


def win_rates_frame(store: Store, run_id: int) -> pd.DataFrame:
    """Stored pairwise win rates of a run."""
    c = rt.ranking_win_rates.c
    return store.read_frame(select(rt.ranking_win_rates).where(c.run_id == run_id).order_by(c.id))


def regression_terms_frame(store: Store, run_id: int | None = None) -> pd.DataFrame:
    """Stored regression coefficients (default: latest finished regression run)."""
    if run_id is None:
        run = store.latest_run(REGRESSION_STAGE)
        if run is None:
            raise StageError("no regression yet: run `arenalens regress` first")
        run_id = int(run["id"])
    c = rt.ranking_regression_terms.c
    return store.read_frame(
        select(rt.ranking_regression_terms).where(c.run_id == run_id).order_by(c.id)
    )


def _finite(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
