"""A pipeline system end to end: ASR (tiny.en) -> a real local LLM (SmolLM2 on llama.cpp); resumable."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from arenalens.store import Store
from inference import persist
from inference.audio import synthesize_speech
from inference.generators import GenerationRequest, GenerationResult, Generator
from inference.infer import run_system
from inference.systems import SystemSpec, parse_systems

TYPED = {
    "t1": "What is the capital of France?",
    "t2": "Tell me a joke about cats.",
    "t3": "How do I boil an egg?",
}


@pytest.fixture
def store_with_queries(sqlite_store: Store, tmp_path: Path, espeak: None, add_queries) -> Store:
    spoken = synthesize_speech("what is the tallest mountain in the world", tmp_path / "a1.wav")
    add_queries(
        sqlite_store, [*((k, v, None) for k, v in TYPED.items()), ("a1", None, str(spoken))]
    )
    return sqlite_store


def _pipeline(server, **extra) -> SystemSpec:
    """A pipeline whose LLM is the shared local server (SmolLM2-135M on llama.cpp)."""
    body = {
        "kind": "pipeline",
        "llm": {
            "backend": "openai",
            "model": server.model,
            "base_url": server.base_url,
            "concurrency": 2,
        },
        "generation": {"max_new_tokens": 24},
        "batch_size": 2,
        **extra,
    }
    return parse_systems({"systems": {"smol-pipeline": body}})["smol-pipeline"]


@pytest.mark.slow  # ~10 s alone; over 30 s on the shared 2-core machine (server start, ASR, LLM)
def test_pipeline_answers_typed_and_spoken_queries_with_a_real_llm(
    store_with_queries: Store, llm_server
) -> None:
    summary = run_system(store_with_queries, _pipeline(llm_server), progress=False)
    assert (summary.requested, summary.written, summary.errors) == (4, 4, [])
    outputs = persist.outputs_frame(store_with_queries, "smol-pipeline").set_index("interaction_id")
    assert sorted(outputs.index) == ["a1", "t1", "t2", "t3"]
    assert outputs["output_text"].str.len().gt(0).all() and outputs["error"].isna().all()
    assert (outputs["completion_tokens"] <= 24).all() and (outputs["prompt_tokens"] > 5).all()
    assert (outputs["latency_s"] > 0).all() and (outputs["run_id"] == summary.run_id).all()
    spoken = outputs.loc["a1", "params"]
    assert spoken["input"] == "asr" and "mountain" in spoken["input_text"].lower()
    assert spoken["system_prompt"].startswith("You are a helpful assistant.")
    assert outputs.loc["t1", "params"]["input"] == "typed"
    transcripts = persist.transcripts_frame(store_with_queries)
    assert list(transcripts["interaction_id"]) == ["a1"]  # the pipeline's ASR result is kept


def test_rerun_skips_finished_pairs(store_with_queries: Store, llm_server) -> None:
    spec = _pipeline(llm_server)
    run_system(store_with_queries, spec, limit=2, progress=False)
    assert len(persist.outputs_frame(store_with_queries, spec.name)) == 2
    rest = run_system(store_with_queries, spec, progress=False)
    assert (rest.skipped, rest.requested) == (2, 2)
    again = run_system(store_with_queries, spec, progress=False)
    assert (again.requested, again.written) == (0, 0)
    assert len(persist.outputs_frame(store_with_queries, spec.name)) == 4


class CrashAfterFirstBatch(Generator):
    """Answers one batch, then dies like a killed worker."""

    def __init__(self) -> None:
        self.batches = 0

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.batches += 1
        if self.batches > 1:
            raise KeyboardInterrupt
        return [GenerationResult(r.item_id, "ok", None, 0.01, 1, 1) for r in requests]


def test_crash_loses_at_most_the_batch_in_flight(sqlite_store: Store, add_queries) -> None:
    add_queries(sqlite_store, [(k, v, None) for k, v in TYPED.items()])
    spec = parse_systems(
        {"systems": {"p": {"kind": "pipeline", "llm": {"model": "unused"}, "batch_size": 2}}}
    )["p"]
    with pytest.raises(KeyboardInterrupt):
        run_system(sqlite_store, spec, generator=CrashAfterFirstBatch(), progress=False)
    assert len(persist.outputs_frame(sqlite_store, "p")) == 2
    assert sqlite_store.latest_run(persist.INFER_STAGE, status="failed") is not None
    resumed = run_system(sqlite_store, spec, generator=CrashAfterFirstBatch(), progress=False)
    assert (resumed.skipped, resumed.written) == (2, 1)


def test_failed_items_are_retried_on_rerun(sqlite_store: Store, add_queries) -> None:
    add_queries(sqlite_store, [(k, v, None) for k, v in TYPED.items()])
    spec = parse_systems({"systems": {"p": {"kind": "pipeline", "llm": {"model": "unused"}}}})["p"]

    class FailsOnJokes(Generator):
        def generate(self, requests):
            return [
                GenerationResult(
                    r.item_id,
                    None if "joke" in r.text else "ok",
                    "server said 500" if "joke" in r.text else None,
                )
                for r in requests
            ]

    first = run_system(sqlite_store, spec, generator=FailsOnJokes(), progress=False)
    assert [i for i, _ in first.errors] == ["t2"]
    second = run_system(sqlite_store, spec, generator=FailsOnJokes(), progress=False)
    assert (second.skipped, second.requested) == (2, 1)


def test_pipeline_runs_on_a_tiny_transformers_llm(
    sqlite_store: Store, tiny_causal_lm: Path, add_queries
) -> None:
    add_queries(sqlite_store, [(k, v, None) for k, v in TYPED.items()])
    spec = parse_systems(
        {
            "systems": {
                "tiny": {
                    "kind": "pipeline",
                    "llm": {"model": str(tiny_causal_lm)},
                    "generation": {"max_new_tokens": 4},
                    "batch_size": 2,
                }
            }
        }
    )["tiny"]
    summary = run_system(sqlite_store, spec, device="cpu", progress=False)
    assert (summary.written, summary.errors) == (3, [])
    outputs = persist.outputs_frame(sqlite_store, "tiny")
    assert (outputs["completion_tokens"] <= 4).all() and outputs["params"].map(
        lambda p: p["seed"] == 0
    ).all()


class PickyChatServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that refuses (HTTP 400) any query mentioning a joke."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"]
        if "joke" in question:
            status, payload = (
                400,
                {"error": {"message": "content refused", "type": "invalid_request_error"}},
            )
        else:
            status, payload = (
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": "Sure."},
                        }
                    ],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
                },
            )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_query_the_endpoint_refuses_becomes_an_error_row(sqlite_store: Store, add_queries) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PickyChatServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        add_queries(sqlite_store, [(k, v, None) for k, v in TYPED.items()])
        endpoint = SimpleNamespace(
            base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", model="picky"
        )
        summary = run_system(sqlite_store, _pipeline(endpoint), progress=False)
    finally:
        server.shutdown()
    assert [i for i, _ in summary.errors] == ["t2"]
    outputs = persist.outputs_frame(sqlite_store, "smol-pipeline").set_index("interaction_id")
    assert "BadRequestError" in outputs.loc["t2", "error"] and pd.isna(
        outputs.loc["t2", "output_text"]
    )
    assert outputs.loc["t1", "output_text"] == "Sure." and outputs.loc["t1", "prompt_tokens"] == 12
