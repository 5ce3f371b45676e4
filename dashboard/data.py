"""Cached, read-only loaders for the pages, keyed on a store version token.

Every loader goes through the same Store methods and stage `persist` functions the CLI
uses. Results are cached with `st.cache_data` under (database, version, arguments); the
version changes whenever a run starts or finishes, or a human-written row (annotation,
taxonomy edit, ...) is added, so the caches invalidate by themselves.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from arenalens.config import load_settings
from arenalens.context import AppContext
from arenalens.models import resolve_models
from arenalens.privacy import mask_columns
from arenalens.store import tables as t
from dashboard.ui import Markdown, fmt, unavailable_message

T = TypeVar("T")

# How long a computed version token is reused before the store is asked again (seconds).
VERSION_TTL_S = 2.0
# Core tables whose row counts enter the version token (caches are left out on purpose).
_CORE_COUNTED = (
    t.interactions,
    t.feedback,
    t.transcripts,
    t.query_audio,
    t.model_outputs,
    t.benchmark_scores,
    t.model_aliases,
)


@st.cache_resource(show_spinner=False)
def _open_context(workspace: str, db: str | None) -> AppContext:
    settings = load_settings({"workspace": workspace, "db": db})
    return AppContext(settings)


def app_context() -> AppContext:
    """The AppContext for the workspace named by ARENALENS_WORKSPACE / ARENALENS_DB.

    Settings are read afresh on every run (e.g. privacy_min_users); the store is shared.
    """
    settings = load_settings()
    shared = _open_context(str(settings.workspace), settings.db)
    return AppContext(settings, _store=shared.store)


def stage_module(stage: str, module: str = "persist") -> ModuleType | None:
    """`<stage>.<module>` when that stage is installed, else None (the page says what to run)."""
    name = f"{stage}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (stage, name):
            return None
        raise


def stage_installed(stage: str) -> bool:
    """Whether the stage's package is importable in this environment."""
    return importlib.util.find_spec(stage) is not None


def stage_function(stage: str, function: str, module: str = "persist") -> Callable[..., Any] | None:
    """A public function of a stage, or None when the stage (or that function) is absent."""
    found = stage_module(stage, module)
    return getattr(found, function, None) if found is not None else None


STAGE_PREFIXES = ("taxonomy_", "coding_", "ranking_", "inference_", "dashboard_")


def _human_tables() -> list:
    """Stage tables written by people rather than runs (no run_id): annotations, edits, ..."""
    return [
        table
        for name, table in sorted(t.metadata.tables.items())
        if name.startswith(STAGE_PREFIXES) and "run_id" not in table.c
    ]


@st.cache_data(ttl=VERSION_TTL_S, show_spinner=False)
def _version(workspace: str, db: str | None) -> tuple:
    store = _open_context(workspace, db).store
    runs = store.read_frame(
        select(
            func.max(t.runs.c.id).label("last_id"),
            func.count().label("runs"),
            func.max(t.runs.c.finished_at).label("last_finished"),
        )
    ).iloc[0]
    counts = tuple(store.count(table) for table in (*_CORE_COUNTED, *_human_tables()))
    return (str(runs["last_id"]), int(runs["runs"]), str(runs["last_finished"]), counts)


def _key(app: AppContext) -> tuple[str, str | None]:
    return str(app.settings.workspace), app.settings.db


def store_version(app: AppContext) -> tuple:
    """A token that changes when runs, core rows or human-written rows change."""
    return _version(*_key(app))


def invalidate() -> None:
    """Forget the version token and every cached frame (after this session wrote something)."""
    _version.clear()
    _run_loader.clear()


_LOADERS: dict[str, Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=256)
def _run_loader(name: str, workspace: str, db: str | None, version: tuple, args: tuple) -> Any:
    return _LOADERS[name](_open_context(workspace, db), *args)


def loader(fn: Callable[..., T]) -> Callable[..., T]:
    """Cache `fn(app, *args)` per (database, store version, args); args must be hashable."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    _LOADERS[name] = fn

    @functools.wraps(fn)
    def call(app: AppContext, *args: Any) -> T:
        version = store_version(app)
        return _run_loader(name, *_key(app), version, tuple(args))

    return call


# Free-text columns people wrote or models generated: shown with personal details masked.
TEXT_COLUMNS = [
    "query",
    "query_text",
    "transcript",
    "response_a",
    "response_b",
    "text",
    "feedback",
    "output_text",
    "evidence",
    "rationale",
    "central_texts",
    "description",
]


def masked(app: AppContext, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with e-mails, phones, URLs with query strings and long numbers masked in its
    text columns (settings.privacy_mask_pii; the store is untouched)."""
    return mask_columns(frame, TEXT_COLUMNS, bool(app.settings.privacy_mask_pii))


# -- core loaders ---------------------------------------------------------------
@loader
def status(app: AppContext) -> dict[str, Any]:
    """`arenalens status` as a dict."""
    return app.store.status()


@loader
def runs(app: AppContext) -> pd.DataFrame:
    """Every stage run (id, stage, model, status, times, summary)."""
    return app.store.runs_frame()


@loader
def synthetic_share(app: AppContext, sample: int = 200) -> float:
    """Share of the first interactions marked synthetic (the sample arena says so in `extra`)."""
    frame = app.store.read_frame(select(t.interactions.c.extra).limit(sample))
    if frame.empty:
        return 0.0
    return float(frame["extra"].map(lambda extra: bool((extra or {}).get("synthetic"))).mean())


@loader
def votes(app: AppContext) -> pd.DataFrame:
    """Votes with aliases resolved (without the JSON `extra`, which no page shows)."""
    return app.store.votes_frame(include_extra=False)


@loader
def feedback(app: AppContext) -> pd.DataFrame:
    """Feedback with its interaction context."""
    return masked(app, app.store.feedback_frame())


@loader
def interactions(app: AppContext) -> pd.DataFrame:
    """Interactions (query resolved from text or transcript), without the bulky `extra`."""
    columns = [c.name for c in t.interactions.c if c.name not in ("extra", "content_hash")]
    return masked(app, app.store.interactions_frame(columns))


@loader
def audio_roots(app: AppContext) -> pd.DataFrame:
    """interaction_id -> path and the audio root it was confined to at ingest (None: none)."""
    query = select(t.query_audio.c.interaction_id, t.query_audio.c.path, t.query_audio_roots.c.root)
    query = query.outerjoin(
        t.query_audio_roots, t.query_audio_roots.c.interaction_id == t.query_audio.c.interaction_id
    )
    return app.store.read_frame(query)


def playable_audio(app: AppContext, interaction_id: str) -> tuple[Path | None, str]:
    """The query's audio file when it may be played, else None and the reason: only regular
    audio files (by header) inside the audio root recorded at ingest are served."""
    from arenalens.paths import UnsafePathError, confine_audio

    frame = audio_roots(app)
    rows = frame[frame["interaction_id"] == interaction_id] if len(frame) else frame
    if rows.empty:
        return None, ""
    row = rows.iloc[0]
    if not isinstance(row["root"], str) or not row["root"]:
        return None, f"audio not played: no audio root was recorded for {row['path']!r} at ingest"
    try:
        return confine_audio(row["path"], row["root"]), ""
    except UnsafePathError as exc:
        return None, f"audio not played: {exc}"


@loader
def model_outputs(app: AppContext) -> pd.DataFrame:
    """Inference outputs (one row per query and system), via inference's persist when present."""
    outputs_frame = stage_function("inference", "outputs_frame")
    frame = (
        outputs_frame(app.store)
        if outputs_frame is not None
        else app.store.read_table(t.model_outputs)
    )
    return masked(app, resolve_models(frame, app.store.aliases(), ["system"]))


def workspace_label(app: AppContext) -> str:
    """Where the data comes from, for the sidebar (never shows a password)."""
    if app.settings.db:
        from arenalens.store.store import redact_url

        return redact_url(app.settings.db)
    return str(app.settings.workspace)


# -- coding (loss reasons, annotation, agreement) --------------------------------
@loader
def codebook(app: AppContext) -> Any:
    """The codebook the CLI uses: <workspace>/codebook.yaml, else the shipped default."""
    from coding.codebook import resolve_codebook

    return resolve_codebook(app.settings.workspace)


@loader
def coded_versions(app: AppContext) -> pd.DataFrame:
    """Codebook versions with machine codes in the store (version, items, labeler, last coded)."""
    from coding.persist import coded_versions as read

    return read(app.store)


@loader
def prevalence(app: AppContext, by: str) -> pd.DataFrame:
    """Loss-reason prevalence per group and code: raw machine rate and bias-corrected (PPI) rate."""
    from coding.prevalence import prevalence_table

    return prevalence_table(app.store, codebook(app), by=by)


@loader
def coded_items(app: AppContext) -> pd.DataFrame:
    """One row per coded feedback item with context, preferred/rejected model, a 0/1 column per code."""
    from coding.persist import machine_items_frame

    book = codebook(app)
    return masked(app, machine_items_frame(app.store, book.version_key, book.code_names))


@loader
def machine_codes(app: AppContext) -> pd.DataFrame:
    """The machine's codes (item, code, side, polarity, evidence, confidence) for this codebook."""
    from coding.persist import codes_frame

    return masked(app, codes_frame(app.store, codebook(app).version_key))


@loader
def agreement(app: AppContext, n_boot: int) -> Any:
    """`arenalens agreement` as a report (per-code kappa with CI, human alpha, confusion)."""
    from coding.agreement import agreement_report

    return agreement_report(app.store, codebook(app), n_boot=n_boot, seed=app.settings.seed)


@loader
def disagreements(app: AppContext) -> pd.DataFrame:
    """(item, code) pairs where annotators disagree and nobody has adjudicated yet."""
    from coding.annotations import AnnotationQueue

    return AnnotationQueue(app.store, codebook(app)).disagreements()


def annotation_samples(app: AppContext) -> pd.DataFrame:
    """Validation samples drawn for this codebook (read fresh: annotators need the latest)."""
    from coding.persist import samples_frame

    return samples_frame(app.store, codebook(app).version_key)


@st.cache_resource(show_spinner=False, max_entries=16)
def _annotation_queue(
    workspace: str, db: str | None, version: str, sample: str | None, feedback_rows: int
) -> Any:
    from coding.annotations import AnnotationQueue
    from coding.codebook import resolve_codebook

    return AnnotationQueue(
        _open_context(workspace, db).store, resolve_codebook(Path(workspace)), sample=sample
    )


def annotation_queue(app: AppContext, sample: str | None) -> Any:
    """The coding stage's AnnotationQueue. It keeps the feedback frame in memory, so it is
    shared until feedback rows change; assignments and saves are read fresh on every call."""
    book = codebook(app)
    feedback_rows = int(status(app)["feedback"])
    return _annotation_queue(*_key(app), book.version_key, sample, feedback_rows)


def coding_ready(app: AppContext) -> Markdown | None:
    """None when this codebook's codes exist; else the line saying what to run."""
    if stage_module("coding") is None:
        return unavailable_message("coding")
    if int(status(app)["feedback"]) == 0:
        return step_message(app, "Code feedback into loss reasons")
    versions = coded_versions(app)
    version = codebook(app).version_key
    if len(versions) and version in set(versions["codebook_version"]):
        return None
    if len(versions):
        return fmt(
            "Nothing is coded under the codebook in use ({}); the store holds codes of {}. "
            "Run `arenalens code` to code with it.",
            version,
            ", ".join(versions["codebook_version"]),
        )
    return Markdown("No feedback has been coded yet. Run `arenalens code` (or `arenalens demo`).")


@loader
def feedback_categories(app: AppContext) -> pd.DataFrame:
    """interaction_id -> use-case category, as coding's per-category prevalence joins them."""
    from coding.prevalence import required_query_categories

    return required_query_categories(app.store)


@loader
def top_loss_reasons(app: AppContext, n: int = 3) -> pd.DataFrame:
    """The `n` most frequent loss reasons overall: code, rate, low, high, estimate (bias-corrected
    when human labels allow it, else the machine's raw rate)."""
    table = prevalence(app, "overall")
    if table.empty:
        return pd.DataFrame(columns=["code", "rate", "low", "high", "estimate"])
    use_ppi = "ppi_rate" in table and table["ppi_rate"].notna().all()
    prefix, label = ("ppi", "bias-corrected") if use_ppi else ("machine", "machine-coded")
    out = pd.DataFrame(
        {
            "code": table["code"],
            "rate": table[f"{prefix}_rate"],
            "low": table[f"{prefix}_low"],
            "high": table[f"{prefix}_high"],
            "estimate": label,
        }
    )
    return out.sort_values("rate", ascending=False).head(n).reset_index(drop=True)


# -- next steps (what the workspace can compute) ----------------------------------
def workspace_steps(app: AppContext) -> list:
    """The next-steps checklist (arenalens.next_steps) for this workspace."""
    from arenalens.next_steps import next_steps

    runs = latest_runs(app, "ranking")
    ranked_by = [(c or {}).get("by") for c in runs["config"]] if len(runs) else []
    return next_steps(status(app), [b for b in ranked_by if b])


def step_message(app: AppContext, name: str) -> Markdown:
    """One line about a checklist step: why it cannot run, or the command that runs it."""
    for step in workspace_steps(app):
        if step.name == name:
            if step.state == "blocked":
                return fmt("{} cannot run on this workspace: {}.", step.name, step.why)
            return Markdown(
                f"{fmt('{}', step.name)}: run `{step.command}` in a terminal, then reload."
            )
    return fmt("{}: not available for this workspace.", name)


# -- ranking (leaderboards, benchmarks vs preference) -----------------------------
def latest_ratings(app: AppContext) -> pd.DataFrame | None:
    """The overall ratings of the latest finished ranking run, or None before `rank` ran."""
    if stage_module("ranking") is None:
        return None
    runs = latest_runs(app, "ranking")
    if runs.empty:
        return None
    # the newest overall run (a `rank --by` run also stores its overall board)
    return ratings(app, int(runs.iloc[0]["id"]), "")


def latest_runs(app: AppContext, stage: str) -> pd.DataFrame:
    """Finished runs of one stage, newest first (config and summary as dicts)."""
    frame = runs(app)
    if frame.empty:
        return frame
    done = frame[(frame["stage"] == stage) & (frame["status"] == "done")]
    return done.sort_values("id", ascending=False).reset_index(drop=True)


@loader
def ratings(app: AppContext, run_id: int, slice_field: str = "") -> pd.DataFrame:
    """Bradley–Terry ratings of one ranking run and slice field ('' = overall)."""
    from ranking.persist import ratings_frame

    return ratings_frame(app.store, run_id, slice_field)


@loader
def win_rates(app: AppContext, run_id: int) -> pd.DataFrame:
    """Pairwise win rates (with CIs and significance) of one ranking run."""
    from ranking.persist import win_rates_frame

    return win_rates_frame(app.store, run_id)


@loader
def regression_terms(app: AppContext, run_id: int) -> pd.DataFrame:
    """Fixed effects (mixed and plain logistic fits) of one regression run."""
    from ranking.persist import regression_terms_frame

    return regression_terms_frame(app.store, run_id)


# -- taxonomy (use cases, categories, modality) -----------------------------------
def taxonomy_run_ids(app: AppContext) -> list[int]:
    """Finished taxonomy runs, newest first."""
    frame = latest_runs(app, "taxonomy")
    return [int(i) for i in frame["id"]] if len(frame) else []


@loader
def category_shares(app: AppContext, run_id: int | None = None) -> pd.DataFrame:
    """Category shares with 95% CIs (and bias-corrected columns when human labels exist)."""
    from taxonomy.persist import category_shares as read

    return read(app.store, run_id)


@loader
def modality_shares(app: AppContext, run_id: int | None = None) -> pd.DataFrame:
    """Text- vs audio-primary shares with 95% CIs (and bias-corrected columns)."""
    from taxonomy.persist import modality_shares as read

    return read(app.store, run_id)


@loader
def clusters(app: AppContext, run_id: int, level: int = 0) -> pd.DataFrame:
    """Clusters (or parents) of a run with names, keywords, sizes, parents, categories."""
    from taxonomy.persist import cluster_table

    frame = cluster_table(app.store, run_id, level=level)
    return masked(app, frame.drop(columns=["centroid"], errors="ignore"))


@loader
def query_clusters(app: AppContext, run_id: int) -> pd.DataFrame:
    """Per query: cluster, parent, category, modality, map x/y, with the interaction's query
    text, models, vote, language and user (what the map and the drill-down show)."""
    from taxonomy.persist import query_assignment_table, read_assignments

    frame = query_assignment_table(app.store, run_id)
    xy = read_assignments(app.store, run_id).set_index("interaction_id")[["x", "y"]]
    frame = frame.join(xy, on="interaction_id")
    columns = ["id", "query", "user_id", "language", "model_a", "model_b", "winner"]
    context = interactions(app)[columns]
    return frame.merge(context, left_on="interaction_id", right_on="id", how="left").drop(
        columns=["id"]
    )


@loader
def modality_examples(app: AppContext, per_modality: int = 2) -> dict[str, list[str]]:
    """Up to `per_modality` example queries per modality (text_primary, audio_primary) from the
    latest taxonomy run, taken only from clusters whose queries come from at least
    privacy_min_users distinct users (masked like every query shown)."""
    from dashboard import privacy

    run_ids = taxonomy_run_ids(app)
    if not run_ids:
        return {}
    frame = query_clusters(app, run_ids[0])
    frame = frame[frame["query"].notna() & (frame["cluster_id"] >= 0)]
    users = privacy.users_per_group(frame, "cluster_id")
    allowed = users[users >= int(app.settings.privacy_min_users)].index
    frame = frame[frame["cluster_id"].isin(allowed)]
    words = frame["query"].str.split().str.len()
    frame = frame[(words >= 3) & (words <= 16)]
    out: dict[str, list[str]] = {}
    for modality, group in frame.groupby("modality"):
        picked = group.drop_duplicates("query").sample(
            min(per_modality, len(group)), random_state=app.settings.seed
        )
        out[str(modality)] = list(picked["query"])
    return out


def win_shares(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per model and value of `by`: battles, share won (ties half) with a 95% Wilson CI, from
    voted rows (model_a, model_b, winner, `by`)."""
    from arenalens.stats import wilson_interval

    columns = ["model", by, "battles", "win_rate", "ci_low", "ci_high"]
    voted = frame[frame["winner"].isin(["model_a", "model_b", "tie"]) & frame[by].notna()]
    sides = []
    for side in ("model_a", "model_b"):
        part = voted[[side, by]].rename(columns={side: "model"})
        part["score"] = (voted["winner"] == side).astype(float) + 0.5 * (voted["winner"] == "tie")
        sides.append(part)
    battles = pd.concat(sides, ignore_index=True).dropna(subset=["model"])
    rows = []
    for (model, value), group in battles.groupby(["model", by]):
        n, won = len(group), float(group["score"].sum())
        interval = wilson_interval(won, n)
        rows.append((model, value, n, won / n, interval.low, interval.high))
    return pd.DataFrame(rows, columns=columns)


@loader
def modality_win_rates(app: AppContext) -> pd.DataFrame:
    """Per model and modality (latest taxonomy run): battles and share won with a 95% CI
    (do audio-primary queries change who wins?)."""
    run_ids = taxonomy_run_ids(app)
    if not run_ids:
        return pd.DataFrame(
            columns=["model", "modality", "battles", "win_rate", "ci_low", "ci_high"]
        )
    return win_shares(query_clusters(app, run_ids[0]), "modality")


@loader
def cluster_loss_reasons(app: AppContext, run_id: int) -> pd.DataFrame:
    """Per cluster and loss reason: coded feedback items on the cluster's queries (`items`) and
    the share of them giving that reason; empty before the feedback is coded."""
    columns = ["cluster_id", "code", "items", "share"]
    if stage_module("coding") is None or coding_ready(app) is not None:
        return pd.DataFrame(columns=columns)
    items = coded_items(app)
    codes = [c for c in codebook(app).code_names if c in items]
    clusters_of = query_clusters(app, run_id).set_index("interaction_id")["cluster_id"]
    items = items.assign(cluster_id=items["interaction_id"].map(clusters_of)).dropna(
        subset=["cluster_id"]
    )
    if items.empty or not codes:
        return pd.DataFrame(columns=columns)
    grouped = items.groupby("cluster_id")
    shares = grouped[codes].mean().stack().rename("share").reset_index()
    shares.columns = ["cluster_id", "code", "share"]
    shares["items"] = shares["cluster_id"].map(grouped.size())
    shares["cluster_id"] = shares["cluster_id"].astype(int)
    return shares[columns]


@loader
def taxonomy_edits(app: AppContext) -> pd.DataFrame:
    """Active analyst edits, in the order they are applied."""
    from dataclasses import asdict

    from taxonomy.persist import list_edits

    return pd.DataFrame(
        [asdict(edit) for edit in list_edits(app.store)],
        columns=["id", "kind", "cluster_ids", "value", "level"],
    )


@loader
def category_names(app: AppContext) -> list[str]:
    """The category set in use (workspace categories.yaml, else the shipped default)."""
    from taxonomy.categories import resolve_categories

    return list(resolve_categories(None, app.settings.workspace).names)


def record_taxonomy_edit(
    app: AppContext, kind: str, cluster_ids: tuple[int, ...], value: str | None, note: str
) -> str:
    """Store an analyst edit and re-apply all edits to the latest run, as `taxonomy edit` does."""
    from taxonomy.categories import resolve_categories
    from taxonomy.edits import Edit
    from taxonomy.pipeline import record_edit

    categories = resolve_categories(None, app.settings.workspace)
    value = value.strip() if kind == "rename" and value else value
    edit_id, report = record_edit(
        app.store, Edit(kind, tuple(cluster_ids), value), categories, note or None
    )
    invalidate()
    skipped = "; ".join(f"edit {e.id}: {why}" for e, why in report.skipped)
    return f"edit {edit_id} stored ({kind} {list(cluster_ids)})" + (
        f"; skipped {skipped}" if skipped else ""
    )


def taxonomy_ready(app: AppContext) -> Markdown | None:
    """None when a taxonomy run exists; else the line saying what to run."""
    if stage_module("taxonomy") is None:
        return unavailable_message("taxonomy")
    if not taxonomy_run_ids(app):
        return fmt(
            "No taxonomy has been built yet. {}", step_message(app, "Build the use-case taxonomy")
        )
    return None


# -- prefetch ----------------------------------------------------------------------
def prefetch(app: AppContext) -> dict[str, float]:
    """Fill the caches every page needs, heaviest first; returns seconds per loader."""
    import time

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("status", lambda: status(app)),
        ("runs", lambda: runs(app)),
        ("interactions", lambda: interactions(app)),
        ("feedback", lambda: feedback(app)),
        ("model_outputs", lambda: model_outputs(app)),
        ("audio_roots", lambda: audio_roots(app)),
        ("latest_ratings", lambda: latest_ratings(app)),
    ]
    taxonomy = stage_module("taxonomy") is not None and bool(taxonomy_run_ids(app))
    coded = stage_module("coding") is not None and coding_ready(app) is None
    if taxonomy:
        latest = taxonomy_run_ids(app)[0]
        steps += [
            ("modality_shares", lambda: modality_shares(app)),
            ("category_shares", lambda: category_shares(app)),
            ("clusters", lambda: clusters(app, latest, 0)),
            ("parents", lambda: clusters(app, latest, 1)),
            ("query_clusters", lambda: query_clusters(app, latest)),
            ("modality_examples", lambda: modality_examples(app)),
            ("modality_win_rates", lambda: modality_win_rates(app)),
        ]
    if coded:
        steps += [
            ("prevalence", lambda: prevalence(app, "overall")),
            ("top_loss_reasons", lambda: top_loss_reasons(app, 3)),
            ("agreement", lambda: agreement(app, 1000)),
            ("coded_items", lambda: coded_items(app)),
            ("machine_codes", lambda: machine_codes(app)),
        ]
    if taxonomy and coded:
        steps.append(("cluster_loss_reasons", lambda: cluster_loss_reasons(app, latest)))
    seconds = {}
    for name, step in steps:
        started = time.perf_counter()
        try:
            step()
        except Exception:  # noqa: BLE001 - a page shows the error when it asks; prefetch is best-effort
            pass
        seconds[name] = time.perf_counter() - started
    import sys

    # benchmarks/dashboard_browser.py waits for this line in the server's log
    print(f"arenalens dashboard: caches warmed in {sum(seconds.values()):.1f}s", file=sys.stderr)
    return seconds


# Modules the loaders and pages import. They are imported in the page's thread before the
# prefetch thread starts: two threads importing altair/sklearn (which share narwhals) at the same
# time can end in `_DeadlockError: deadlock detected by _ModuleLock('narwhals.stable.v2')`.
PREFETCH_IMPORTS = (
    "altair",
    "narwhals.stable.v2",
    "sklearn",
    "scipy.stats",
    "taxonomy.persist",
    "taxonomy.categories",
    "taxonomy.edits",
    "coding.codebook",
    "coding.persist",
    "coding.prevalence",
    "coding.agreement",
    "coding.annotations",
    "ranking.persist",
    "inference.persist",
)


def import_before_prefetch() -> list[str]:
    """Import (in this thread) every module the prefetch may need; returns those present."""
    imported = []
    for name in PREFETCH_IMPORTS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue  # that stage (or optional library) is not installed
        imported.append(name)
    return imported


@st.cache_resource(show_spinner=False, max_entries=8)
def _prefetch_thread(workspace: str, db: str | None, version: tuple) -> Any:
    import logging
    import threading

    # the loaders run outside any session here; Streamlit's "no ScriptRunContext" note is noise
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR
    )
    import_before_prefetch()
    thread = threading.Thread(
        target=prefetch,
        args=(_open_context(workspace, db),),
        name="arenalens-prefetch",
        daemon=True,
    )
    thread.start()
    return thread


def start_prefetch(app: AppContext) -> None:
    """Once per store version, warm every page's caches in a background thread (when the
    `arenalens dashboard` command asked for it), so pages open fast at 100k interactions."""
    import os

    from dashboard.cli import PREFETCH_ENV

    if os.environ.get(PREFETCH_ENV) == "1":
        _prefetch_thread(*_key(app), store_version(app))
