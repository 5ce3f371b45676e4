"""Reads and writes of the coding stage (parameterised SQLAlchemy through the Store only)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, delete, func, select, update

from arenalens.store import Store, published
from arenalens.store import tables as core_tables
from arenalens.store.store import utcnow
from coding import tables as ct
from coding.codebook import Codebook
from coding.errors import CodebookMixError, CodingError

STAGE = "coding"
# the stratum of items an uncertainty sample chose (`coding.sampling`): training only
TRAINING_STRATUM = "uncertainty-chosen (training only)"


def register_codebook(store: Store, codebook: Codebook) -> str:
    """Record the codebook version (content kept) and return its version key."""
    store.insert_ignore(
        ct.coding_codebooks,
        [
            {
                "version_key": codebook.version_key,
                "name": codebook.name,
                "version": codebook.version,
                "content_hash": codebook.content_hash,
                "content": codebook.to_dict(),
                "created_at": utcnow(),
            }
        ],
    )
    return codebook.version_key


def one_version(versions: str | Sequence[str]) -> str:
    """The single codebook version asked for; asking for several at once is refused."""
    if isinstance(versions, str):
        return versions
    distinct = sorted(set(versions))
    if len(distinct) != 1:
        raise CodebookMixError(
            f"codes from different codebook versions cannot be combined: {distinct}; "
            "analyse one version at a time (recode with one codebook to compare)"
        )
    return distinct[0]


def coded_versions(store: Store) -> pd.DataFrame:
    """Codebook versions that have coded items: version, items, labelers, last coded."""
    c = ct.coding_items.c
    query = (
        select(
            c.codebook_version,
            func.count().label("items"),
            func.min(c.labeler).label("labeler"),
            func.max(c.coded_at).label("last_coded_at"),
        )
        .where(published(c.run_id))
        .group_by(c.codebook_version)
        .order_by(c.codebook_version)
    )
    return store.read_frame(query)


def coded_feedback_ids(store: Store, version: str, *, any_run: bool = False) -> set[str]:
    """Items coded under `version` by finished runs (`any_run`: also by runs that died, whose
    saved batches the next run resumes from and publishes)."""
    c = ct.coding_items.c
    query = select(c.feedback_id).where(c.codebook_version == version)
    if not any_run:
        query = query.where(published(c.run_id))
    frame = store.read_frame(query)
    return set(frame["feedback_id"]) if len(frame) else set()


def labelers_used(store: Store, version: str) -> set[str]:
    frame = store.read_frame(
        select(ct.coding_items.c.labeler)
        .where(ct.coding_items.c.codebook_version == version)
        .distinct()
    )
    return set(frame["labeler"]) if len(frame) else set()


def save_coded_batch(
    store: Store,
    item_rows: Sequence[Mapping[str, Any]],
    code_rows: Sequence[Mapping[str, Any]],
    score_rows: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Write one batch of items, codes and scores atomically (a killed run loses at most one batch)."""
    with store.transaction() as conn:
        store.insert_ignore(ct.coding_items, list(item_rows), conn=conn)
        store.insert_ignore(ct.coding_codes, list(code_rows), conn=conn)
        if score_rows:
            store.insert_ignore(ct.coding_scores, list(score_rows), conn=conn)


def replace_coding(
    conn: Connection,
    version: str,
    item_rows: Sequence[Mapping[str, Any]],
    code_rows: Sequence[Mapping[str, Any]],
    score_rows: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Swap all machine codes of `version` for a recode's (inside the run's publish transaction)."""
    conn.execute(delete(ct.coding_scores).where(ct.coding_scores.c.codebook_version == version))
    conn.execute(delete(ct.coding_codes).where(ct.coding_codes.c.codebook_version == version))
    conn.execute(delete(ct.coding_items).where(ct.coding_items.c.codebook_version == version))
    if item_rows:
        conn.execute(ct.coding_items.insert(), list(item_rows))
    if code_rows:
        conn.execute(ct.coding_codes.insert(), list(code_rows))
    if score_rows:
        conn.execute(ct.coding_scores.insert(), list(score_rows))


def adopt_unfinished(conn: Connection, version: str, run_id: int) -> None:
    """Publish items of `version` saved by runs that failed or were abandoned under `run_id`."""
    runs = core_tables.runs.c
    dead = select(runs.id).where(runs.status.in_(("failed", "abandoned")))
    for table in (ct.coding_items, ct.coding_codes, ct.coding_scores):
        conn.execute(
            update(table)
            .where(table.c.codebook_version == version, table.c.run_id.in_(dead))
            .values(run_id=run_id)
        )


def delete_coding(store: Store, version: str) -> int:
    """Remove the machine codes of one codebook version (annotations are kept); returns items removed."""
    with store.transaction() as conn:
        conn.execute(delete(ct.coding_codes).where(ct.coding_codes.c.codebook_version == version))
        conn.execute(delete(ct.coding_scores).where(ct.coding_scores.c.codebook_version == version))
        result = conn.execute(
            delete(ct.coding_items).where(ct.coding_items.c.codebook_version == version)
        )
        return int(result.rowcount or 0)


def codes_frame(store: Store, version: str | Sequence[str]) -> pd.DataFrame:
    """The machine's codes of exactly one codebook version (one row per item and code)."""
    version = one_version(version)
    c = ct.coding_codes.c
    query = (
        select(ct.coding_codes)
        .where(c.codebook_version == version, published(c.run_id))
        .order_by(c.feedback_id, c.code)
    )
    return store.read_frame(query)


def scores_frame(store: Store, version: str | Sequence[str]) -> pd.DataFrame:
    """The coder's probability and decision per (item, code) under one codebook version."""
    version = one_version(version)
    c = ct.coding_scores.c
    return store.read_frame(
        select(ct.coding_scores)
        .where(c.codebook_version == version)
        .order_by(c.feedback_id, c.code)
    )


def items_frame(store: Store, version: str | Sequence[str]) -> pd.DataFrame:
    """Items coded under one codebook version (also those with no code)."""
    version = one_version(version)
    c = ct.coding_items.c
    return store.read_frame(
        select(ct.coding_items)
        .where(c.codebook_version == version, published(c.run_id))
        .order_by(c.feedback_id)
    )


def require_coded(store: Store, version: str) -> None:
    """Raise a clear error when nothing is coded under `version` (naming versions that are)."""
    if coded_feedback_ids(store, version):
        return
    others = coded_versions(store)
    if len(others):
        raise CodebookMixError(
            f"nothing is coded under codebook {version}; the workspace holds codes of "
            f"{list(others['codebook_version'])}: pass that codebook with --codebook, or run `arenalens code`"
        )
    raise CodingError("no feedback has been coded yet: run `arenalens code` first")


# -- samples and assignments ---------------------------------------------------
def create_sample(
    store: Store,
    *,
    name: str,
    version: str,
    config: Mapping[str, Any],
    run_id: int,
    assignments: Iterable[Mapping[str, Any]],
) -> int:
    """Write a sample and its assignments in one transaction; a name is used once per version."""
    c = ct.coding_samples.c
    with store.transaction() as conn:
        existing = conn.execute(
            select(c.id).where(c.codebook_version == version, c.name == name)
        ).scalar_one_or_none()
        if existing is not None:
            raise CodingError(
                f"a sample named {name!r} already exists for codebook {version}; choose another --name"
            )
        sample_id = conn.execute(
            ct.coding_samples.insert().values(
                name=name,
                codebook_version=version,
                config=dict(config),
                run_id=run_id,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]
        rows = [{**row, "sample_id": int(sample_id)} for row in assignments]
        if rows:
            conn.execute(ct.coding_assignments.insert(), rows)
    return int(sample_id)


def samples_frame(store: Store, version: str) -> pd.DataFrame:
    c = ct.coding_samples.c
    return store.read_frame(
        select(ct.coding_samples).where(c.codebook_version == version).order_by(c.id)
    )


def assignments_frame(store: Store, version: str, sample: str | None = None) -> pd.DataFrame:
    """Assignments of the version's samples (all, or the one named), with the sample name."""
    s, a = ct.coding_samples.c, ct.coding_assignments.c
    query = (
        select(ct.coding_assignments, s.name.label("sample"))
        .join(ct.coding_samples, s.id == a.sample_id)
        .where(s.codebook_version == version)
    )
    if sample is not None:
        query = query.where(s.name == sample)
    return store.read_frame(query.order_by(a.sample_id, a.position, a.annotator))


# -- annotations and adjudications --------------------------------------------
def insert_annotation(store: Store, row: Mapping[str, Any]) -> int:
    """Append one annotation row (its own transaction: durable once this returns)."""
    with store.transaction() as conn:
        result = conn.execute(ct.coding_annotations.insert().values(**row))
        return int(result.inserted_primary_key[0])


def annotations_frame(store: Store, version: str, *, latest_only: bool = True) -> pd.DataFrame:
    """Annotations of one version; by default only each annotator's latest row per item."""
    c = ct.coding_annotations.c
    frame = store.read_frame(
        select(ct.coding_annotations).where(c.codebook_version == version).order_by(c.id)
    )
    if latest_only and len(frame):
        frame = frame.drop_duplicates(["feedback_id", "annotator"], keep="last").reset_index(
            drop=True
        )
    return frame


def count_annotations(store: Store, version: str | None = None) -> int:
    where = [] if version is None else [ct.coding_annotations.c.codebook_version == version]
    return store.count(ct.coding_annotations, *where)


def insert_adjudication(store: Store, row: Mapping[str, Any]) -> int:
    with store.transaction() as conn:
        result = conn.execute(ct.coding_adjudications.insert().values(**row))
        return int(result.inserted_primary_key[0])


def adjudications_frame(store: Store, version: str) -> pd.DataFrame:
    """Latest adjudication per (item, code) of one version."""
    c = ct.coding_adjudications.c
    frame = store.read_frame(
        select(ct.coding_adjudications).where(c.codebook_version == version).order_by(c.id)
    )
    if len(frame):
        frame = frame.drop_duplicates(["feedback_id", "code"], keep="last").reset_index(drop=True)
    return frame


def machine_items_frame(store: Store, version: str, code_names: Sequence[str]) -> pd.DataFrame:
    """One row per coded feedback item: context, preferred/rejected model, one 0/1 column per code."""
    version = one_version(version)
    items = items_frame(store, version)[["feedback_id", "labeler"]]
    feedback = store.feedback_frame().rename(columns={"id": "feedback_id"})
    frame = items.merge(feedback, on="feedback_id", how="inner")
    a_won = frame["winner"] == "model_a"
    b_won = frame["winner"] == "model_b"
    frame["preferred_model"] = frame["model_a"].where(a_won, frame["model_b"].where(b_won, None))
    frame["rejected_model"] = frame["model_b"].where(a_won, frame["model_a"].where(b_won, None))
    codes = codes_frame(store, version)
    for name in code_names:
        present = set(codes.loc[codes["code"] == name, "feedback_id"]) if len(codes) else set()
        frame[name] = frame["feedback_id"].isin(present).astype(int)
    return frame.reset_index(drop=True)


def coded_items_frame(store: Store, codebook: Codebook) -> pd.DataFrame:
    """`machine_items_frame` of the codebook's version; a clear error when nothing is coded
    under it (`require_coded`)."""
    require_coded(store, codebook.version_key)
    return machine_items_frame(store, codebook.version_key, codebook.code_names)


# -- learned decisions ---------------------------------------------------------
def save_learning(
    conn: Connection, version: str, rows: Sequence[Mapping[str, Any]], run_id: int
) -> None:
    """Append one learning run's per-code decisions (inside the run's publish transaction)."""
    now = utcnow()
    conn.execute(
        ct.coding_models.insert(),
        [{**row, "codebook_version": version, "run_id": run_id, "created_at": now} for row in rows],
    )


def learning_frame(store: Store, version: str) -> pd.DataFrame:
    """The latest published learning decision per code of `version` (empty when never learned)."""
    c = ct.coding_models.c
    frame = store.read_frame(
        select(ct.coding_models)
        .where(c.codebook_version == version, published(c.run_id))
        .order_by(c.id)
    )
    return frame.groupby("code").tail(1).reset_index(drop=True) if len(frame) else frame


def training_only(assignments: pd.DataFrame) -> set[str]:
    """Items assigned only through uncertainty-chosen samples: used to train, never to estimate."""
    if assignments.empty:
        return set()
    random = set(assignments.loc[assignments["stratum"] != TRAINING_STRATUM, "feedback_id"])
    chosen = assignments.loc[assignments["stratum"] == TRAINING_STRATUM, "feedback_id"]
    return set(chosen) - random


def randomly_sampled(assignments: pd.DataFrame) -> set[str]:
    """Items of the random validation samples (what prevalence and agreement may use)."""
    if assignments.empty:
        return set()
    return set(assignments.loc[assignments["stratum"] != TRAINING_STRATUM, "feedback_id"])


def training_only_ids(store: Store, version: str) -> set[str]:
    """`training_only` of the version's assignments."""
    return training_only(assignments_frame(store, version))


def random_sample_ids(store: Store, version: str) -> set[str]:
    """`randomly_sampled` of the version's assignments."""
    return randomly_sampled(assignments_frame(store, version))


@dataclass(frozen=True)
class CodingSnapshot:
    """Everything agreement and prevalence compute from, read once for one codebook version."""

    version: str
    items: pd.DataFrame  # machine_items_frame: one row per coded item, a 0/1 column per code
    codes: pd.DataFrame  # codes_frame (side, polarity, ...); empty unless asked for
    annotations: pd.DataFrame  # each annotator's latest annotation per item
    adjudications: pd.DataFrame  # the latest adjudication per (item, code)
    assignments: pd.DataFrame  # sample assignments (feedback_id, stratum, ...)


def read_coding_snapshot(
    store: Store, version: str, code_names: Sequence[str], *, with_codes: bool = False
) -> CodingSnapshot:
    """The machine's and the humans' labels of `version` (a clear error when nothing is coded)."""
    require_coded(store, version)
    return CodingSnapshot(
        version=version,
        items=machine_items_frame(store, version, code_names),
        codes=codes_frame(store, version) if with_codes else pd.DataFrame(),
        annotations=annotations_frame(store, version),
        adjudications=adjudications_frame(store, version),
        assignments=assignments_frame(store, version),
    )


# -- candidate new reasons ----------------------------------------------------------
DISCOVER_STAGE = f"{STAGE}.discover"


def save_candidates(
    store: Store, version: str, clustered: int, candidates: Sequence[Mapping[str, Any]]
) -> int:
    """Record one discovery (a run of `coding.discover` whose summary holds the candidates)."""
    config = {"codebook_version": version}
    with store.run(DISCOVER_STAGE, config, model=None) as run:
        run.summary.update(
            {"codebook_version": version, "clustered": clustered, "candidates": list(candidates)}
        )
        return run.id


def latest_candidates(store: Store, version: str | None = None) -> pd.DataFrame:
    """Candidates of the newest finished discovery (of `version` when given); empty if none."""
    runs = store.runs_frame()
    if runs.empty:
        return pd.DataFrame()
    runs = runs[(runs["stage"] == DISCOVER_STAGE) & (runs["status"] == "done")]
    for summary in reversed(runs.sort_values("id")["summary"].tolist()):
        if not isinstance(summary, Mapping):
            continue
        if version is None or summary.get("codebook_version") == version:
            return pd.DataFrame(summary.get("candidates") or [])
    return pd.DataFrame()
