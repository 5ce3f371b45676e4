"""Multi-turn live campaigns (AppTest, a loopback OpenAI-compatible server): the rater keeps
talking to both anonymous systems for up to K turns, each system sees its own earlier answers,
and the vote (per conversation or per turn) is stored as the conversation's flat rows."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from arena import persist
from arena.errors import ArenaError
from arenalens.config import Settings
from arenalens.context import AppContext

APP_PATH = Path(__file__).resolve().parents[2] / "arena" / "app.py"
HOSTILE = "<img src=x onerror=alert(1)> **bold**"


class _TurnHandler(BaseHTTPRequestHandler):
    """Streams "MODEL answer N" (N: the user messages it was sent) and keeps every request."""

    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        turn = sum(1 for m in body["messages"] if m["role"] == "user")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        text = f"{body['model']} answer {turn} {HOSTILE}"
        for piece, finish in ((text, None), ("", "stop")):
            chunk = {
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _TurnHandler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _TurnHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def _workspace(tmp_path: Path, url: str, **settings: object) -> AppContext:
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    app.settings.workspace.mkdir(parents=True)
    systems = {
        name: {"kind": "pipeline", "llm": {"backend": "openai", "model": name, "base_url": url}}
        for name in ("alpha", "beta")
    }
    (app.settings.workspace / "systems.yaml").write_text(json.dumps({"systems": systems}))
    persist.create_campaign(app.store, "talk", "live", **settings)
    return app


def _open(monkeypatch, app: AppContext) -> AppTest:
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(app.settings.workspace))
    monkeypatch.delenv("ARENALENS_DB", raising=False)
    at = AppTest.from_file(str(APP_PATH), default_timeout=60)
    at.query_params["token"] = persist.invite(app.store, "talk", "ann")
    return at.run()


def _ask(at: AppTest, question: str) -> AppTest:
    next(t for t in at.text_input if t.label == "Or type it").input(question)
    return next(b for b in at.button if b.label == "Ask both systems").click().run()


def _vote(at: AppTest, choice: str) -> AppTest:
    return next(b for b in at.button if b.key and b.key.startswith(f"vote-{choice}-")).click().run()


def _rows(app: AppContext):
    frame = app.store.interactions_frame()
    return frame.sort_values("turn").reset_index(drop=True)


def test_a_conversation_vote_stores_every_turn_with_the_vote_on_the_last(
    monkeypatch, tmp_path: Path, server: str
) -> None:
    app = _workspace(tmp_path, server, max_turns=2)
    at = _ask(_open(monkeypatch, app), "first question")
    assert any(b.label == "Both are bad" for b in at.button)  # may vote after one turn
    at = _ask(at, f"second question {HOSTILE}")
    assert not [t for t in at.text_input if t.label == "Or type it"]  # that was the last turn
    answers = [t.value for t in at.text if " answer " in t.value]
    assert sorted(answers) == sorted(
        f"{m} answer {n} {HOSTILE}" for m in ("alpha", "beta") for n in (1, 2)
    )
    assert "alpha" not in " ".join(m.value for m in at.markdown)  # still blind
    at = _vote(at, "b")
    rows = _rows(app)
    assert list(rows["turn"]) == [1, 2] and rows["conversation_id"].nunique() == 1
    assert rows["conversation_id"].iloc[0].startswith("live_")
    assert rows["winner"].isna().iloc[0] and rows["winner"].iloc[1] == "model_b"
    assert list(rows["query_text"]) == ["first question", f"second question {HOSTILE}"]
    assert (
        rows["id"].str.endswith((":t1", ":t2")).all() and rows["id"].str.startswith("arena_").all()
    )
    a = rows["model_a"].iloc[0]
    assert rows["response_a"].iloc[1] == f"{a} answer 2 {HOSTILE}"
    # each system saw its own earlier answer, not the other's
    for model in ("alpha", "beta"):
        second = [b for b in _TurnHandler.seen if b["model"] == model][1]["messages"]
        assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
        assert second[2]["content"] == f"{model} answer 1 {HOSTILE}"
    features = app.store.vote_features_frame()
    assert list(features["turn_depth"]) == [2] and list(features["output_modality"]) == ["text"]
    assert any(b.label == "Ask both systems" for b in at.button)  # a new conversation can start


def test_a_vote_per_turn_stores_each_turn_as_it_is_voted(
    monkeypatch, tmp_path: Path, server: str
) -> None:
    app = _workspace(tmp_path, server, max_turns=3, vote_per="turn")
    at = _ask(_open(monkeypatch, app), "first")
    assert not [t for t in at.text_input if t.label == "Or type it"]  # vote on turn 1 first
    at = _vote(at, "a")
    rows = _rows(app)
    assert list(rows["turn"]) == [1] and rows["winner"].iloc[0] == "model_a"
    at = _ask(at, "second")
    at = _vote(at, "tie")
    rows = _rows(app)
    assert list(rows["turn"]) == [1, 2] and list(rows["winner"]) == ["model_a", "tie"]
    assert rows["conversation_id"].nunique() == 1
    at = next(b for b in at.button if b.label == "Start a new conversation").click().run()
    at = _ask(at, "a new topic")
    at = _vote(at, "b")
    rows = _rows(app)
    assert rows["conversation_id"].nunique() == 2 and len(rows) == 3
    assert app.store.status()["votes"] == 3


def test_live_only_settings_are_refused_for_replay_and_speech_needs_speaking_systems(
    monkeypatch, tmp_path: Path, server: str
) -> None:
    app = _workspace(tmp_path, server, output="speech")
    with pytest.raises(ArenaError, match="only a live one can"):
        persist.create_campaign(app.store, "r", "replay", vote_per="turn")
    at = _ask(_open(monkeypatch, app), "hello")
    assert any("answer in text: alpha, beta" in e.value.replace("\\", "") for e in at.error)
    assert app.store.status()["interactions"] == 0


def test_a_speech_campaign_refuses_systems_that_answer_aloud_through_their_endpoint(
    monkeypatch, tmp_path: Path, server: str
) -> None:
    app = _workspace(tmp_path, server, output="speech")
    systems = {
        name: {
            "kind": "end_to_end",
            "output": "speech",
            "llm": {"backend": "openai", "model": name, "base_url": server},
        }
        for name in ("alpha", "beta")
    }
    (app.settings.workspace / "systems.yaml").write_text(json.dumps({"systems": systems}))
    at = _ask(_open(monkeypatch, app), "hello")
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("answer aloud through their endpoint instead: alpha, beta" in e for e in errors)
    assert not at.exception and app.store.status()["interactions"] == 0
