"""Use cases on a workspace with conversations (issue 26): each category's share counting each
conversation once beside its share of queries, with how many later turns change topic; the
section is absent where the workspace has no conversation."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_testkit import page_text
from speech_arena import load_speech_arena

from arenalens.config import Settings
from arenalens.context import AppContext
from taxonomy import persist
from taxonomy.cli import run_build
from taxonomy.model import TaxonomyParams


@pytest.fixture
def conversation_workspace(tmp_path: Path) -> Path:
    """The speech arena (single-turn text votes and two-turn conversations), taxonomy built."""
    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    load_speech_arena(app.store, tmp_path / "arena", n_text=120, n_conversations=120)
    run_build(app, TaxonomyParams(random_state=0))
    app.store.engine.dispose()
    return workspace


def test_use_cases_shows_conversation_shares_beside_query_shares(
    render, conversation_workspace: Path
):
    at = render(conversation_workspace, "use_cases.py")

    assert not at.exception
    text = page_text(at)
    assert "Use cases of conversations" in text
    assert "120 conversations clustered by their first turn; " in text
    assert "later turns change topic" in text
    assert "Share of conversations: Each conversation counts once" in text
    assert "Share of queries: Every query counts" in text
    app = AppContext(Settings(workspace=conversation_workspace))
    shares = persist.conversation_category_shares(app.store)
    assert shares is not None and shares["count"].sum() == 120 + 120  # single-turn + first turns
    assert persist.category_shares(app.store)["count"].sum() == 120 + 240


def test_use_cases_has_no_conversation_section_without_conversations(render, demo_workspace):
    at = render(demo_workspace, "use_cases.py")

    assert not at.exception
    assert "Use cases of conversations" not in page_text(at)
