"""Live campaigns in the rater app (AppTest): a typed question goes to two systems drawn from
systems.yaml, both answers stream from a loopback OpenAI-compatible server, the vote carries
the per-side timings; a system that fails ends the battle with nothing stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from arena import persist
from arenalens.config import Settings
from arenalens.context import AppContext

APP_PATH = Path(__file__).resolve().parents[2] / "arena" / "app.py"


class _Handler(BaseHTTPRequestHandler):
    """/v1/chat/completions streaming "answer from MODEL" word by word; model "broken" fails,
    model "cut-off" ends its stream without saying the answer is complete."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] == "broken":
            self.send_response(500)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in f"answer from {body['model']} <b>bold</b>".split():
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if body["model"] != "cut-off":  # a server that ends the stream early sends no reason
            chunk["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture(scope="module")
def streaming_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _live_workspace(tmp_path: Path, url: str, models: tuple[str, str]) -> AppContext:
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app.settings.workspace.mkdir(parents=True)
    systems = {
        name: {"kind": "pipeline", "llm": {"backend": "openai", "model": name, "base_url": url}}
        for name in models
    }
    (app.settings.workspace / "systems.yaml").write_text(json.dumps({"systems": systems}))
    persist.create_campaign(app.store, "live1", "live")
    return app


def _ask(monkeypatch, app: AppContext, question: str) -> AppTest:
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(app.settings.workspace))
    monkeypatch.delenv("ARENALENS_DB", raising=False)
    at = AppTest.from_file(str(APP_PATH), default_timeout=60)
    at.query_params["token"] = persist.invite(app.store, "live1", "ann")
    at.run()
    at.text_input[0].input(question)
    return at.button[0].click().run()


def test_a_live_battle_streams_both_answers_and_stores_the_vote(
    monkeypatch, tmp_path: Path, streaming_server: str
) -> None:
    app = _live_workspace(tmp_path, streaming_server, ("alpha", "beta"))
    at = _ask(monkeypatch, app, "what is the capital of France?")
    answers = [t.value for t in at.text if t.value.startswith("answer from")]
    assert sorted(answers) == ["answer from alpha <b>bold</b>", "answer from beta <b>bold</b>"]
    assert "alpha" not in " ".join(m.value for m in at.markdown)  # still blind
    at = next(b for b in at.button if b.key.startswith("vote-b-")).click().run()
    votes = app.store.interactions_frame()
    assert len(votes) == 1
    vote = votes.iloc[0]
    assert vote.query_text == "what is the capital of France?" and vote.winner == "model_b"
    assert {vote.model_a, vote.model_b} == {"alpha", "beta"}
    assert vote.response_a.startswith(f"answer from {vote.model_a}")
    for side in ("a", "b"):
        assert 0 < vote.extra[f"time_to_first_token_{side}"] <= vote.extra[f"total_time_{side}"]
        assert vote.extra[f"response_length_{side}"] == len(getattr(vote, f"response_{side}"))
    assert vote.extra["arena_mode"] == "live"
    assert any(b.label == "Ask both systems" for b in at.button)  # ready for the next question


@pytest.mark.parametrize("failing", ["broken", "cut-off"])
def test_a_failing_system_ends_the_battle_and_stores_nothing(
    monkeypatch, tmp_path: Path, streaming_server: str, failing: str
) -> None:
    app = _live_workspace(tmp_path, streaming_server, ("alpha", failing))
    at = _ask(monkeypatch, app, "hello?")
    assert any("did not answer" in e.value for e in at.error)
    assert not [b for b in at.button if b.key and b.key.startswith("vote-")]
    assert app.store.status()["interactions"] == 0


def _wav(seconds: float, rate: int = 8000) -> bytes:
    import io

    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    tone = 0.1 * np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate)
    soundfile.write(buffer, tone, rate, format="WAV")
    return buffer.getvalue()


def test_recordings_are_checked_like_ingested_audio(tmp_path: Path) -> None:
    from arena.errors import ArenaError
    from arena.live import MAX_UPLOAD_BYTES, save_recording

    saved = save_recording(_wav(2), tmp_path, "c1", "battle1")
    assert saved.is_file() and saved.is_relative_to((tmp_path / "arena-audio").resolve())
    with pytest.raises(ArenaError, match="not an audio file"):
        save_recording(b"<html>not audio</html>", tmp_path, "c1", "battle2")
    with pytest.raises(ArenaError, match="at most 60 s"):
        save_recording(_wav(61), tmp_path, "c1", "battle3")
    with pytest.raises(ArenaError, match="MB"):
        save_recording(b"RIFF" + bytes(MAX_UPLOAD_BYTES), tmp_path, "c1", "battle4")
    assert sorted(p.name for p in saved.parent.iterdir()) == ["battle1.wav"]
