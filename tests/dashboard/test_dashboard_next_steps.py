"""On a votes-only workspace (the 303 real Talk Arena votes) the pages point to `rank` and
never to stages that would fail (taxonomy build: no queries; code: no feedback)."""

from __future__ import annotations

import pytest
from dashboard_testkit import page_text

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions


@pytest.fixture
def votes_only(shared_data, tmp_path):
    workspace = tmp_path / "talkarena"
    app = AppContext(Settings(workspace=workspace))
    ingest_interactions(app.store, shared_data / "talkarena" / "live_votes.json", progress=False)
    app.store.engine.dispose()
    return workspace


def test_overview_suggests_rank_and_explains_what_cannot_run(render, votes_only):
    at = render(votes_only, "overview.py")
    assert not at.exception
    text = page_text(at)
    assert "`arenalens rank`" in text
    assert "`arenalens taxonomy build`" not in text and "`arenalens code`" not in text
    assert "cannot run" in text


@pytest.mark.parametrize("page", ["use_cases.py", "feedback.py", "annotate.py", "agreement.py"])
def test_stage_pages_do_not_suggest_commands_that_would_fail(render, votes_only, page):
    at = render(votes_only, page)
    assert not at.exception
    text = page_text(at)
    assert "`arenalens taxonomy build`" not in text and "`arenalens code`" not in text
