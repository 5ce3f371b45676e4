"""A spoken conversation in headless chromium at 1280 px: two turns with two systems that answer
aloud (the loopback llama.cpp server's model, voiced by espeak-ng), every answer played in the
page from a file in the workspace and from nowhere else, one vote on the conversation, stored
as its two rows with their spoken answers, which `rank --by output_modality` counts as spoken;
hostile text in a question stays text."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_arena_browser import ARGS, _free_port, _serve

from arena import persist
from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.context import AppContext

pytestmark = pytest.mark.slow
HOSTILE = "<img src=x onerror=alert(1)> **bold** [link](http://example.com)"

PLAY_ALL = """async () => {
  const players = [...document.querySelectorAll('audio')];
  const heard = [];
  for (const audio of players) {
    audio.muted = true;
    await audio.play();
    await new Promise(done => audio.addEventListener('ended', done, {once: true}));
    const body = await (await fetch(audio.currentSrc)).arrayBuffer();
    const digest = await crypto.subtle.digest('SHA-256', body);
    heard.push({src: audio.currentSrc, seconds: audio.duration,
                sha256: [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')});
  }
  return heard;
}"""


def _systems(llm_server) -> dict:
    llm = {"backend": "openai", "model": llm_server.model, "base_url": llm_server.base_url}
    short = {"max_new_tokens": 24, "temperature": 0.0}
    return {
        "calm-voice": {
            "kind": "pipeline",
            "llm": llm,
            "generation": short,
            "output": "speech",
            "tts": {"backend": "espeak-ng", "voice": "en-us", "words_per_minute": 150},
        },
        "fast-voice": {
            "kind": "pipeline",
            "llm": llm,
            "system_prompt": "You are a helpful assistant. Answer in one short sentence.",
            "generation": short,
            "output": "speech",
            "tts": {"backend": "espeak-ng", "voice": "en-gb", "words_per_minute": 260},
        },
    }


def _ask(page, question: str, turns: int) -> None:
    page.get_by_label("Or type it").fill(question)
    page.get_by_role("button", name="Ask both systems").click()
    done = page.get_by_text(f"Turn {turns} of at most 2")
    done.or_(page.locator("[data-testid=stAlertContentError]")).wait_for(timeout=180_000)
    assert done.count() == 1, page.locator("[data-testid=stAlert]").all_inner_texts()
    page.wait_for_function(
        f"() => document.querySelectorAll('audio').length === {2 * turns}"
        " && !document.querySelector('[data-testid=stStatusWidget]')",
        timeout=60_000,
    )


def test_two_spoken_turns_heard_from_the_workspace_then_one_vote(
    llm_server, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists() or shutil.which("espeak-ng") is None:
        pytest.skip("Debian chromium and espeak-ng are needed (scripts/apt-packages.txt)")
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app.settings.workspace.mkdir(parents=True)
    (app.settings.workspace / "systems.yaml").write_text(
        json.dumps({"systems": _systems(llm_server)})
    )
    persist.create_campaign(app.store, "talk", "live", max_turns=2, output="speech")
    token = persist.invite(app.store, "talk", "ann")
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    process = _serve(app.settings.workspace, port, tmp_path / "arena.log")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[*ARGS, "--autoplay-policy=no-user-gesture-required"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"{origin}/?token={token}")
            page.get_by_text("Ask a question").wait_for(timeout=60_000)
            _ask(page, "what is the capital of France", 1)
            page.set_viewport_size({"width": 1280, "height": 1800})  # vote and follow-up in view
            page.screenshot(path=str(tmp_path / "turn1.png"))
            page.set_viewport_size({"width": 1280, "height": 900})
            _ask(page, f"and of Spain? {HOSTILE}", 2)
            page.screenshot(path=str(tmp_path / "turn2.png"), full_page=True)
            assert page.get_by_label("Or type it").count() == 0  # the last turn: vote now
            texts = page.locator("[data-testid=stText]").all_inner_texts()
            assert any(HOSTILE in text for text in texts)
            assert page.locator("img[src=x], strong, a[href='http://example.com']").count() == 0
            assert "calm-voice" not in page.content()  # still blind
            heard = page.evaluate(PLAY_ALL)
            page.get_by_role("heading", name="Which answer is better?").click()
            page.keyboard.press("b")
            page.get_by_text("Vote stored").wait_for(timeout=60_000)
            page.wait_for_function(  # the run is over: nothing left of the conversation
                "() => !document.querySelector('[data-testid=stStatusWidget]')"
                " && !document.querySelector('[data-stale=true]')"
                " && document.querySelectorAll('audio').length === 0",
                timeout=30_000,
            )
            page.get_by_text("Ask a question").wait_for(timeout=10_000)
            page.screenshot(path=str(tmp_path / "voted.png"), full_page=True)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert all(url.startswith(origin) for url in requests), requests
    assert len(heard) == 4 and all(h["src"].startswith(f"{origin}/media/") for h in heard)
    assert all(h["seconds"] > 0.3 for h in heard)
    answers = sorted((app.settings.workspace / "arena-audio").rglob("*.wav"))
    on_disk = {hashlib.sha256(path.read_bytes()).hexdigest() for path in answers}
    assert len(answers) == 4 and {h["sha256"] for h in heard} == on_disk  # the files, played

    rows = app.store.interactions_frame().sort_values("turn").reset_index(drop=True)
    assert list(rows["turn"]) == [1, 2] and rows["conversation_id"].nunique() == 1
    assert rows["winner"].isna().iloc[0] and rows["winner"].iloc[1] == "model_b"
    assert rows["query_text"].iloc[1] == f"and of Spain? {HOSTILE}"
    features = app.store.vote_features_frame()
    assert len(features) == 1
    vote = features.iloc[0]
    assert (vote.output_modality, vote.turn_depth) == ("speech", 2)
    for side in "ab":
        assert vote[f"answer_duration_s_{side}"] > 0.3
        assert vote[f"time_to_first_audio_s_{side}"] > 0
        assert vote[f"speaking_rate_wps_{side}"] > 0
    app.store.engine.dispose()
    result = CliRunner().invoke(
        main_group,
        ["--workspace", str(app.settings.workspace), "rank", "--by", "output_modality", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    counted = {s["value"]: s["votes"] for s in payload.get("slices", [])}
    skipped = payload.get("skipped_slices", {})  # one vote is below a slice's minimum
    assert counted.get("speech") == 1 or skipped.get("speech", "").startswith("1 votes")
