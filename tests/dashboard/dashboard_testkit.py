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
