"""The dashboard masks e-mails, phone numbers, URLs with query strings and long digit runs in
queries, responses and feedback it shows (privacy_mask_pii), without changing the store."""

from __future__ import annotations

import json

from dashboard_testkit import page_text

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions

RECORD = {
    "id": "i-pii",
    "user_id": "u9",
    "language": "en",
    "query_text": "email jane.roe@example.org or call +1 415 555 0100 about order 123456789",
    "model_a": "alpha",
    "model_b": "beta",
    "response_a": "Open https://shop.example.com/track?order=123456789&key=s3cret",
    "response_b": "ok",
    "winner": "model_a",
    "feedback": "A used my number 4155550100 correctly",
}


def _workspace(tmp_path):
    source = tmp_path / "pii.jsonl"
    source.write_text(json.dumps(RECORD) + "\n")
    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace))
    ingest_interactions(app.store, source, "jsonl", progress=False)
    app.store.engine.dispose()
    return workspace


def test_outputs_shows_masked_text_and_the_store_keeps_the_original(render, tmp_path):
    workspace = _workspace(tmp_path)
    at = render(workspace, "outputs.py")
    assert not at.exception
    shown = page_text(at)
    for secret in ("jane.roe@example.org", "415 555 0100", "123456789", "s3cret", "4155550100"):
        assert secret not in shown
    assert "[email]" in shown and "[phone]" in shown and "[url]" in shown
    app = AppContext(Settings(workspace=workspace))
    stored = app.store.interactions_frame(["id", "query_text"])
    assert stored.loc[0, "query_text"] == RECORD["query_text"]
    app.store.engine.dispose()


def test_masking_can_be_turned_off(render, tmp_path, monkeypatch):
    workspace = _workspace(tmp_path)
    monkeypatch.setenv("ARENALENS_PRIVACY_MASK_PII", "false")
    at = render(workspace, "outputs.py")
    assert "jane.roe@example.org" in page_text(at)
