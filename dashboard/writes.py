"""The dashboard's only writes: annotations, adjudications and taxonomy edits.

Pages read through the loaders' read-only store; each save here opens a writable store for
that one save (`cache.writable_store`), then asks for the store version again, so the loaders
that read what changed refill and the others stay cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arenalens.context import AppContext
from coding.annotations import AnnotationQueue
from dashboard.loaders import cache, coding
from taxonomy.categories import resolve_categories
from taxonomy.edits import Edit
from taxonomy.pipeline import record_edit


def save_annotation(
    app: AppContext,
    queue: AnnotationQueue,
    annotator: str,
    feedback_id: str,
    decisions: Mapping[str, Any],
    note: str = "",
) -> int:
    """Append one annotation row (durable when this returns); returns its id."""
    with cache.writable_store(app) as store:
        row = queue.writing_to(store).save(annotator, feedback_id, decisions, note=note)
    cache.reread_version()
    return row


def adjudicate(
    app: AppContext, feedback_id: str, code: str, present: bool, adjudicator: str, note: str = ""
) -> int:
    """Settle a human disagreement on one (item, code); returns the adjudication's id."""
    with cache.writable_store(app) as store:
        queue = AnnotationQueue(store, coding.codebook(app))
        row = queue.adjudicate(feedback_id, code, present, adjudicator, note)
    cache.reread_version()
    return row


def record_taxonomy_edit(
    app: AppContext, kind: str, cluster_ids: tuple[int, ...], value: str | None, note: str
) -> str:
    """Store an analyst edit and re-apply all edits to the latest run, as `taxonomy edit` does."""
    categories = resolve_categories(None, app.settings.workspace)
    value = value.strip() if kind == "rename" and value else value
    with cache.writable_store(app) as store:
        edit_id, report = record_edit(
            store, Edit(kind, tuple(cluster_ids), value), categories, note or None
        )
    cache.reread_version()
    skipped = "; ".join(f"edit {e.id}: {why}" for e, why in report.skipped)
    return f"edit {edit_id} stored ({kind} {list(cluster_ids)})" + (
        f"; skipped {skipped}" if skipped else ""
    )


def draw_own_sample(app: AppContext, annotator: str) -> str:
    """Give a new annotator their own items under the campaign's rules (no CLI needed);
    returns one line saying what was drawn."""
    from coding.sampling import sample_for_new_annotator

    with cache.writable_store(app) as store:
        summary = sample_for_new_annotator(
            store, coding.codebook(app), annotator, seed=app.settings.seed
        )
    cache.reread_version()
    return (
        f"{summary.size} items for {annotator} ({summary.double_coded} of them also with "
        f"another annotator, so your answers can be compared)."
    )
