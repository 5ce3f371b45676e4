"""Constants and helpers shared by the dashboard tests (imported by conftest and tests)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP_PATH = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
# AppTest's default 3 s is too short for the first render of a page on 2 shared cores.
RENDER_TIMEOUT_S = 120
PAGES = {
    "overview.py": "Overview",
    "use_cases.py": "Use cases",
    "feedback.py": "Feedback",
    "outputs.py": "Outputs",
    "annotate.py": "Annotate",
    "agreement.py": "Agreement",
    "raters.py": "Raters",
    "leaderboard.py": "Leaderboard",
    "benchmarks.py": "Benchmarks vs preference",
}

# User text that must be shown literally: HTML and markdown in a query, response and feedback.
HOSTILE_QUERY = "<script>alert('x')</script> **bold** [link](http://example.com) _it_"
HOSTILE_FEEDBACK = "<img src=x onerror=alert(1)> B was **much** better # heading"

TINY_RECORDS = [
    {
        "id": "i-hostile",
        "user_id": "u1",
        "language": "en",
        "query_text": HOSTILE_QUERY,
        "model_a": "alpha",
        "model_b": "beta",
        "response_a": "<b>not bold</b> `code`",
        "response_b": "plain answer",
        "winner": "model_b",
        "feedback": HOSTILE_FEEDBACK,
    },
    {
        "id": "i-plain",
        "user_id": "u2",
        "language": "en",
        "query_text": "what is the capital of france",
        "model_a": "beta",
        "model_b": "alpha",
        "response_a": "Paris.",
        "response_b": "It is Paris, of course.",
        "winner": "tie",
    },
]


def page_text(at: AppTest) -> str:
    """Every text-bearing element's value on the page, joined (for 'shows X' assertions)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "info",
        "warning",
        "error",
        "success",
        "metric",
        "code",
    ):
        for element in getattr(at, kind, []):
            value = getattr(element, "value", None)
            label = getattr(element, "label", None)
            parts.extend(str(v) for v in (label, value) if v is not None)
    return "\n".join(parts)


# -- hostile text: HTML and markdown payloads planted in every user-controlled field ---------
def hostile(tag: str, port: int) -> str:
    """A payload that makes a browser fetch http://127.0.0.1:PORT/... if rendered as markdown
    or HTML (an image in both syntaxes, a link, bold)."""
    base = f"http://127.0.0.1:{port}"
    return (
        f"![{tag}]({base}/md/{tag}.png) <img src={base}/html/{tag}.png> "
        f"[{tag}]({base}/link/{tag}) **{tag}**"
    )


def _replace_everywhere(conn, metadata, old: str, new: str) -> int:
    """Replace the exact value `old` by `new` in every string column of every table."""
    from sqlalchemy import String, Text, update

    changed = 0
    for table in metadata.tables.values():
        for column in table.c:
            if isinstance(column.type, String | Text) and not column.primary_key:
                result = conn.execute(update(table).where(column == old).values({column.name: new}))
                changed += result.rowcount or 0
    return changed


def plant_hostile_text(store, port: int) -> dict[str, str]:
    """Put a payload (see `hostile`) into every field the dashboard shows: a model name (votes,
    ratings, aliases, benchmarks), a category, a cluster and its parent name, an annotator, a
    language, a benchmark, queries, responses, feedback, evidence, transcripts, a system name,
    an inference error, an audio file name, run warnings and an edit note. Returns tag -> value."""
    from sqlalchemy import func, insert, select, update

    from arenalens.store import tables as t

    meta = t.metadata
    tables = meta.tables
    planted: dict[str, str] = {}
    with store.transaction() as conn:

        def first(query):
            return conn.execute(query).scalar()

        ratings = tables.get("ranking_ratings")
        model = first(
            select(ratings.c.model).where(ratings.c.slice_field == "").order_by(ratings.c.rank)
        )
        names = {"model": model}
        clusters = tables.get("taxonomy_clusters")
        if clusters is not None:
            run = first(select(func.max(clusters.c.run_id)))
            biggest = conn.execute(
                select(clusters.c.name, clusters.c.parent_id, clusters.c.category)
                .where(clusters.c.run_id == run, clusters.c.level == 0, clusters.c.cluster_id >= 0)
                .order_by(clusters.c.size.desc())
            ).first()
            names["cluster"] = biggest.name
            names["category"] = biggest.category
            names["parent"] = first(
                select(clusters.c.name).where(
                    clusters.c.run_id == run,
                    clusters.c.level == 1,
                    clusters.c.cluster_id == biggest.parent_id,
                )
            )
        assignments = tables.get("coding_assignments")
        if assignments is not None:
            names["annotator"] = first(select(func.min(assignments.c.annotator)))
        names["benchmark"] = first(select(func.min(t.benchmark_scores.c.dataset)))
        names["language"] = "en"
        for tag, old in names.items():
            if old:
                planted[tag] = hostile(tag, port)
                _replace_everywhere(conn, meta, old, planted[tag])
        texts = {
            "query": (t.interactions, "query_text"),
            "response_a": (t.interactions, "response_a"),
            "response_b": (t.interactions, "response_b"),
            "feedback": (t.feedback, "text"),
            "transcript": (t.transcripts, "text"),
            "evidence": (tables.get("coding_codes"), "evidence"),
            "description": (clusters, "description"),
        }
        for tag, (table, column) in texts.items():
            if table is not None:
                planted[tag] = hostile(tag, port)
                conn.execute(update(table).values({column: planted[tag] + " " + table.c[column]}))
        first_id = first(select(func.min(t.interactions.c.id)))
        planted["system"], planted["error"] = hostile("system", port), hostile("error", port)
        conn.execute(
            insert(t.model_outputs).values(
                interaction_id=first_id, system=planted["system"], error=planted["error"]
            )
        )
        planted["audio_path"] = hostile("audio_path", port)
        conn.execute(t.query_audio.delete().where(t.query_audio.c.interaction_id == first_id))
        conn.execute(
            insert(t.query_audio).values(interaction_id=first_id, path=planted["audio_path"])
        )
        planted["warning"] = hostile("warning", port)
        for run_id, summary in conn.execute(select(t.runs.c.id, t.runs.c.summary)).all():
            summary = dict(summary or {})
            summary["warnings"] = [*(summary.get("warnings") or []), planted["warning"]]
            conn.execute(update(t.runs).where(t.runs.c.id == run_id).values(summary=summary))
        edits = tables.get("taxonomy_edits")
        if edits is not None:
            planted["note"] = hostile("note", port)
            conn.execute(update(edits).values(note=planted["note"]))
    return planted
