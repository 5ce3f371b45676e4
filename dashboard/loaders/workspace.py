"""Loaders for what every page shows: counts, runs, interactions, feedback, audio, next steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from arenalens.context import AppContext
from arenalens.next_steps import Facts, Step, next_steps
from arenalens.paths import UnsafePathError, confine_audio
from arenalens.privacy import mask_columns, mask_derived_columns
from arenalens.store import tables as t
from arenalens.store.store import redact_url
from dashboard.loaders.cache import loader
from dashboard.ui import Markdown, fmt

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
    "examples",
]


def masked(app: AppContext, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with personal details (e-mails, phones, cards, URLs with query strings, long
    numbers...) masked in its text columns and in names, descriptions and keywords derived from
    user text (settings.privacy_mask_pii; the store is untouched)."""
    enabled = bool(app.settings.privacy_mask_pii)
    return mask_derived_columns(mask_columns(frame, TEXT_COLUMNS, enabled), (), enabled)


@loader
def status(app: AppContext) -> dict[str, Any]:
    """`arenalens status` as a dict."""
    return app.store.status()


@loader
def runs(app: AppContext) -> pd.DataFrame:
    """Every stage run (id, stage, model, status, times, summary)."""
    return app.store.runs_frame()


def latest_runs(app: AppContext, stage: str) -> pd.DataFrame:
    """Finished runs of one stage, newest first (config and summary as dicts)."""
    frame = runs(app)
    if frame.empty:
        return frame
    done = frame[(frame["stage"] == stage) & (frame["status"] == "done")]
    return done.sort_values("id", ascending=False).reset_index(drop=True)


@loader
def synthetic_share(app: AppContext, sample: int = 200) -> float:
    """Share of the first interactions marked synthetic (the sample arena says so in `extra`)."""
    frame = app.store.read_frame(select(t.interactions.c.extra).limit(sample))
    if frame.empty:
        return 0.0
    return float(frame["extra"].map(lambda extra: bool((extra or {}).get("synthetic"))).mean())


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
def model_aliases(app: AppContext) -> dict[str, str]:
    """alias -> canonical model name (`arenalens aliases`)."""
    return dict(app.store.aliases())


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
    frame = audio_roots(app)
    rows = frame[frame["interaction_id"] == interaction_id] if len(frame) else frame
    if rows.empty:
        return None, ""
    return playable_path(rows.iloc[0]["path"], rows.iloc[0]["root"])


def playable_path(path: object, root: object) -> tuple[Path | None, str]:
    """A stored audio path re-checked against the root it was confined to at ingest: the file,
    or None and why it is not played (no root, outside the root, missing, not audio)."""
    if not isinstance(root, str) or not root:
        return None, f"audio not played: no audio root was recorded for {path!r} at ingest"
    try:
        return confine_audio(str(path), root), ""
    except UnsafePathError as exc:
        return None, f"audio not played: {exc}"


@loader
def response_audio(app: AppContext) -> pd.DataFrame:
    """Every spoken answer's interaction_id, side, path, the root it was confined to at ingest,
    duration_s and time_to_first_audio_s (transcripts are read with the turns, masked)."""
    frame = app.store.response_audio_frame()
    return frame.drop(columns=["transcript", "transcript_model"], errors="ignore")


def playable_answers(app: AppContext, interaction_id: str) -> dict[str, tuple[Path | None, str]]:
    """side -> (the spoken answer's file, or None and why not) for the sides that have one;
    each path is re-checked against its recorded root as the query's audio is."""
    frame = response_audio(app)
    mine = frame[frame["interaction_id"] == interaction_id] if len(frame) else frame
    return {str(r.side): playable_path(r.path, r.root) for r in mine.itertuples()}


@loader
def vote_features(app: AppContext) -> pd.DataFrame:
    """Every vote's answer form, turn depth and speech features (`arenalens.vote_features`),
    indexed by interaction id."""
    return app.store.vote_features_frame().set_index("id")


@loader
def conversation_turns(app: AppContext) -> pd.DataFrame:
    """Every turn of every conversation in order (query, both answers, audio paths, vote),
    texts masked like every text."""
    return masked(app, app.store.conversation_turns_frame())


def workspace_label(app: AppContext) -> str:
    """Where the data comes from, for the sidebar (never shows a password)."""
    return redact_url(app.settings.db) if app.settings.db else str(app.settings.workspace)


# -- next steps (what the workspace can compute) ----------------------------------
def workspace_steps(app: AppContext) -> list[Step]:
    """The next-steps checklist (arenalens.next_steps) for this workspace, with what the
    stages know beyond the counts (which controls the votes carry, which codebook is coded)."""
    ranking_runs = latest_runs(app, "ranking")
    ranked_by = [(c or {}).get("by") for c in ranking_runs["config"]] if len(ranking_runs) else []
    return next_steps(status(app), [b for b in ranked_by if b], workspace_facts(app))


@loader
def workspace_facts(app: AppContext) -> Facts:
    """The stages' facts behind the checklist's optional steps (stage functions, read once
    per store version)."""
    from coding.codebook import resolve_codebook
    from coding.persist import coded_versions
    from ranking.pipeline import available_controls

    controls, why_not = available_controls(app.store)
    ranking_runs = latest_runs(app, "ranking")
    summaries = ranking_runs["summary"] if len(ranking_runs) else []
    controlled = any(bool((s or {}).get("controls")) for s in summaries)
    versions = coded_versions(app.store)
    return Facts(
        controls=controls,
        controls_blocked=why_not,
        controlled=controlled,
        codebook_version=resolve_codebook(app.settings.workspace).version_key,
        coded_versions=tuple(versions["codebook_version"]) if len(versions) else (),
    )


def step_message(app: AppContext, name: str) -> Markdown:
    """One line about a checklist step (every hint a page gives comes from here): why it
    cannot run, or what it would use and the command that runs it."""
    for step in workspace_steps(app):
        if step.name == name:
            if step.state == "blocked":
                line = fmt("{} cannot run on this workspace: {}.", step.name, step.why)
                if step.fix:  # our own command line, shown as code
                    line = Markdown(f"{line} Run `{step.fix}` first.")
                return line
            # our own command lines, shown as code; the rest escaped
            other = f" (or `{step.fix}`)" if step.fix else ""
            return Markdown(
                f"{fmt('{} — {}', step.name, step.why)}: run `{step.command}`{other} in a "
                "terminal, then reload."
            )
    return fmt("{}: not available for this workspace.", name)
