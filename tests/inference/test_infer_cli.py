"""`arenalens infer run|pair|systems` and the inference part of `arenalens demo`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import Store
from inference import persist
from inference.cli import demo

QUERIES = {
    "q1": "What is the capital of France?",
    "q2": "Tell me a joke.",
    "q3": "How tall is Everest?",
}


@pytest.fixture
def workspace(tmp_path: Path, tiny_causal_lm: Path, add_queries) -> Path:
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    add_queries(store, [(k, v, None) for k, v in QUERIES.items()])
    store.engine.dispose()
    systems = {
        name: {
            "kind": "pipeline",
            "llm": {"model": str(tiny_causal_lm)},
            "generation": {"max_new_tokens": 3},
            "seed": seed,
        }
        for name, seed in (("tiny-a", 0), ("tiny-b", 1))
    }
    (workspace / "systems.yaml").write_text(yaml.safe_dump({"systems": systems}))
    return workspace


def _run(workspace: Path, *args: str):
    return CliRunner().invoke(
        main_group, ["--workspace", str(workspace), *args], catch_exceptions=False
    )


def test_infer_run_writes_outputs_then_skips_them(workspace: Path) -> None:
    first = _run(workspace, "infer", "run", "--system", "tiny-a", "--limit", "2", "--device", "cpu")
    assert first.exit_code == 0, first.output
    assert "infer tiny-a: 2 answered, 0 failed, 0 already done" in first.output
    second = _run(workspace, "infer", "run", "--system", "tiny-a", "--device", "cpu")
    assert "1 answered, 0 failed, 2 already done" in second.output


def test_infer_systems_lists_output_counts(workspace: Path) -> None:
    _run(workspace, "infer", "run", "--system", "tiny-a", "--device", "cpu")
    listed = _run(workspace, "infer", "systems")
    rows = {line.split()[0]: line.split() for line in listed.output.splitlines()[2:]}
    assert rows["tiny-a"][1] == "Pipeline" and rows["tiny-a"][-1] == "3"
    assert rows["tiny-b"][1] == "Pipeline" and rows["tiny-b"][-1] == "0"


def test_unknown_system_is_a_one_line_error(workspace: Path) -> None:
    from arenalens.app.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["--workspace", str(workspace), "infer", "run", "--system", "nope"])
    assert exited.value.code == 2


def test_infer_pair_writes_blind_file_and_key(workspace: Path, tmp_path: Path) -> None:
    for name in ("tiny-a", "tiny-b"):
        _run(workspace, "infer", "run", "--system", name, "--device", "cpu")
    blind, key = tmp_path / "blind.jsonl", tmp_path / "key.jsonl"
    result = _run(
        workspace, "infer", "pair", "tiny-a", "tiny-b", "--out", str(blind), "--key", str(key)
    )
    assert result.exit_code == 0, result.output
    assert "3 blind pairs (3 new)" in result.output
    records = [json.loads(line) for line in blind.read_text().splitlines()]
    assert {r["query_text"] for r in records} == set(QUERIES.values())
    assert "tiny-a" not in blind.read_text() and "tiny-b" not in blind.read_text()
    keys = {r["id"]: r for r in map(json.loads, key.read_text().splitlines())}
    assert all(
        {keys[r["id"]]["model_a"], keys[r["id"]]["model_b"]} == {"tiny-a", "tiny-b"}
        for r in records
    )
    again = _run(workspace, "infer", "pair", "tiny-b", "tiny-a")
    assert "3 blind pairs (0 new)" in again.output


def test_demo_reports_outputs_per_system(workspace: Path) -> None:
    _run(workspace, "infer", "run", "--system", "tiny-b", "--device", "cpu")
    app = AppContext(Settings(workspace=workspace))
    line = demo(app)
    assert line.startswith("inference: no query audio to transcribe")
    assert "tiny-b (3)" in line
    assert len(persist.pairs_frame(app.store)) == 0


def test_demo_transcribes_sample_audio(tmp_path: Path, espeak: None, add_queries) -> None:
    from inference.audio import synthesize_speech

    app = AppContext(Settings(workspace=tmp_path / "ws"))
    add_queries(
        app.store,
        [("s1", None, str(synthesize_speech("turn on the kitchen lights", tmp_path / "s1.wav")))],
    )
    line = demo(app)
    assert "transcribed 1/1 audio queries" in line and "no model outputs yet" in line
    assert "WER" not in line  # a spoken-only query has no typed text to compare with
    assert "kitchen" in persist.transcripts_frame(app.store)["text"][0].lower()
