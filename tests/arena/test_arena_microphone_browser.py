"""A live battle spoken through Chromium's fake microphone (an espeak-ng WAV): the question is
recorded and transcribed, two loopback systems answer, the rater votes with a key and speaks a
reason, and the vote is stored with the recording, its transcript and the spoken reason."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from test_arena_browser import ARGS, _free_port, _serve
from test_arena_live import _Handler

from arena import persist
from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow


def _record(page, container, seconds: float) -> None:
    container.get_by_label("Record").click()
    page.wait_for_timeout(int(seconds * 1000))
    container.get_by_label("Stop recording").click()
    page.wait_for_timeout(1500)  # the recording is uploaded


def test_a_spoken_question_and_reason_reach_the_store(browser_args, tmp_path: Path) -> None:
    from inference.audio import synthesize_speech

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/apt-packages.txt lists it)")
    wav = synthesize_speech(
        "what is the capital of France", tmp_path / "q.wav", words_per_minute=140
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app.settings.workspace.mkdir(parents=True)
    systems = {
        name: {"kind": "pipeline", "llm": {"backend": "openai", "model": name, "base_url": url}}
        for name in ("alpha", "beta")
    }
    (app.settings.workspace / "systems.yaml").write_text(json.dumps({"systems": systems}))
    persist.create_campaign(app.store, "live1", "live")
    token = persist.invite(app.store, "live1", "ann")
    port = _free_port()
    process = _serve(app.settings.workspace, port, tmp_path / "arena.log")
    playwright, browser = browser_args(f"--use-file-for-fake-audio-capture={wav}")
    try:
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, permissions=["microphone"]
        )
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/?token={token}")
        page.get_by_text("Ask a question").wait_for(timeout=60_000)
        _record(page, page.locator("[data-testid=stAudioInput]").first, 2.5)
        page.get_by_role("button", name="Ask both systems").click()
        page.get_by_role("button", name="Both are bad").wait_for(timeout=180_000)
        texts = page.locator("[data-testid=stText]").all_inner_texts()
        assert any("capital" in text.lower() for text in texts), texts
        page.get_by_text("Or say why").click()
        _record(page, page.locator("[data-testid=stAudioInput]").first, 2.5)
        page.get_by_role("heading", name="Which answer is better?").click()
        page.keyboard.press("a")
        page.get_by_text("Vote stored").wait_for(timeout=120_000)
        page.screenshot(path=str(tmp_path / "voted.png"))
    finally:
        process.terminate()
        process.wait(timeout=20)
        browser.close()
        playwright.stop()
        server.shutdown()
    votes = app.store.interactions_frame()
    assert len(votes) == 1
    vote = votes.iloc[0]
    assert vote.winner == "model_a" and "capital" in vote.query_text.lower()
    assert vote.extra["arena_query_spoken"] is True and vote.extra["time_to_first_token_a"] > 0
    assert app.store.status()["audio"] == 1  # the recording, checked and confined
    feedback = app.store.feedback_frame()["text"].tolist()
    assert len(feedback) == 1 and "capital" in feedback[0].lower()  # the spoken reason


@pytest.fixture
def browser_args():
    """browser_args(*extra_flags) -> (playwright, chromium with a fake microphone)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian chromium is not installed")

    def launch(*extra: str):
        playwright = sync_api.sync_playwright().start()
        flags = [*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=[*flags, *extra]
        )
        return playwright, browser

    return launch
