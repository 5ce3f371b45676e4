"""`arenalens demo`'s coding step: codes the feedback and seeds a sample for two demo annotators."""

from __future__ import annotations

from pathlib import Path

import pytest
from coding_fixtures import KeywordLabeler, make_arena

from arenalens.config import Settings
from arenalens.context import AppContext
from coding.annotations import AnnotationQueue
from coding.cli import DEMO_ANNOTATORS, demo
from coding.codebook import load_codebook


def test_demo_codes_feedback_and_seeds_an_annotation_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(AppContext, "labeler", property(lambda self: KeywordLabeler()))
    app = AppContext(Settings(workspace=tmp_path))
    make_arena(app.store, n=100)
    line = demo(app)
    assert (
        "on 100 feedback items (100 coded now" in line and "annotation sample of 60 items" in line
    )
    queue = AnnotationQueue(app.store, load_codebook())
    assert queue.annotators() == list(DEMO_ANNOTATORS)
    assert queue.next_item(DEMO_ANNOTATORS[0]) is not None
    assert "already exists" in demo(app)  # rerunning the demo adds nothing
    app.store.engine.dispose()
