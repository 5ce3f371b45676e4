"""Reads and writes of the ranking stage (parameterised SQLAlchemy through the Store only)."""

from __future__ import annotations

import importlib
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from arenalens.errors import StageError
from arenalens.store import Store
from ranking import tables as rt
from ranking.errors import RankingError
from ranking.leaderboard import Leaderboard
from ranking.regression import RegressionReport
from ranking.slices import metadata_keys, metadata_values

STAGE = "ranking"
REGRESSION_STAGE = "regression"
TAXONOMY_FIELDS = {"category": "category", "modality": "modality", "cluster": "cluster_name"}
CORE_SLICE_FIELDS = ("category", "modality", "cluster", "language", "reason")
LENGTH_KEYS = ("response_length_a", "response_length_b")  # as Talk Arena ingest stores them


def votes_for_ranking(store: Store) -> pd.DataFrame:
    """Votes with aliases resolved: id, model_a, model_b, winner, language, extra."""
    votes = store.votes_frame()
    if votes.empty:
        raise RankingError(
            "the workspace has no votes; ingest some first (`arenalens ingest FILE`)"
        )
    return votes


def with_lengths(store: Store, votes: pd.DataFrame) -> pd.DataFrame:
    """Add length_a/length_b: Talk Arena's response_length, else the stored response texts' length."""
    frame = votes.copy()
    extra = frame["extra"]
    length_a = pd.to_numeric(metadata_values(extra, LENGTH_KEYS[0]), errors="coerce")
    length_b = pd.to_numeric(metadata_values(extra, LENGTH_KEYS[1]), errors="coerce")
    if length_a.isna().any() or length_b.isna().any():
        texts = store.interactions_frame(["id", "response_a", "response_b"]).set_index("id")
        text_a = (
            frame["id"]
            .map(texts["response_a"])
            .map(lambda t: len(t) if isinstance(t, str) else np.nan)
        )
        text_b = (
            frame["id"]
            .map(texts["response_b"])
            .map(lambda t: len(t) if isinstance(t, str) else np.nan)
        )
        length_a = length_a.fillna(text_a)
        length_b = length_b.fillna(text_b)
    missing = int((length_a.isna() | length_b.isna()).sum())
    if missing:
        raise RankingError(
            f"length control: {missing} of {len(frame)} votes have no response length "
            f"(metadata {LENGTH_KEYS[0]}/{LENGTH_KEYS[1]} or response texts); drop --length-control"
        )
    frame["length_a"], frame["length_b"] = length_a.to_numpy(float), length_b.to_numpy(float)
    return frame


def slice_column(store: Store, votes: pd.DataFrame, field: str) -> pd.Series:
    """Per-vote slice value(s) for `--by FIELD` (lists where a vote has several, e.g. reasons)."""
    if field == "language":
        return votes["language"].fillna("unknown")
    if field in TAXONOMY_FIELDS:
        return votes["id"].map(taxonomy_field_by_interaction(store, TAXONOMY_FIELDS[field]))
    if field == "reason":
        reasons = loss_reasons(store)
        return votes["id"].map(reasons)
    values = metadata_values(votes["extra"], field)
    if values.isna().all():
        known = ", ".join(list(CORE_SLICE_FIELDS) + metadata_keys(votes["extra"]))
        raise RankingError(f"--by {field}: no vote has this field; available: {known}")
    return values.map(lambda v: v if not isinstance(v, dict) else None)


def taxonomy_field_by_interaction(store: Store, column: str = "category") -> pd.Series:
    """interaction id -> category (or modality / cluster_name) of the latest taxonomy run."""
    try:
        taxonomy_persist = importlib.import_module("taxonomy.persist")
    except ModuleNotFoundError as exc:
        raise StageError("no use-case categories: run `arenalens taxonomy build` first") from exc
    if taxonomy_persist.latest_run_id(store) is None:
        raise StageError("no use-case categories: run `arenalens taxonomy build` first")
    frame = taxonomy_persist.query_assignment_table(store)
    return frame.set_index("interaction_id")[column]


def loss_reasons(store: Store) -> pd.Series:
    """interaction id -> list of loss-reason codes (negative codes of the latest coded codebook)."""
    try:
        coding_persist = importlib.import_module("coding.persist")
    except ModuleNotFoundError as exc:
        raise StageError("no loss reasons: run `arenalens code` first") from exc
    versions = coding_persist.coded_versions(store)
    if versions.empty:
        raise StageError("no loss reasons: run `arenalens code` first")
    latest = versions.sort_values("last_coded_at").iloc[-1]["codebook_version"]
    codes = coding_persist.codes_frame(store, latest)
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
    rows = [
        {**asdict(r), "run_id": run_id, "slice_field": slice_field, "slice_value": slice_value}
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
        .order_by(c.slice_value, c.component, c.rank, c.rating.desc())
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
