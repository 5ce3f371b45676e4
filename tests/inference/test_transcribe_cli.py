"""`arenalens transcribe`: stores transcripts per batch, reports bad audio per item, resumes, evaluates."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.store import Store
from inference import persist
from inference.audio import synthesize_speech

SENTENCES = {"q1": "turn off the kitchen lights", "q2": "what is the weather like in paris"}


@pytest.fixture
def workspace(tmp_path: Path, espeak: None, add_queries) -> Path:
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"this is not a wav file")
    queries = [
        (qid, None, str(synthesize_speech(text, tmp_path / f"{qid}.wav")))
        for qid, text in SENTENCES.items()
    ]
    add_queries(store, [*queries, ("q3", None, str(broken)), ("q4", "typed only", None)])
    store.engine.dispose()
    return workspace


def _run(workspace: Path, *args: str):
    return CliRunner().invoke(
        main_group, ["--workspace", str(workspace), *args], catch_exceptions=False
    )


def test_transcribe_stores_good_audio_and_reports_bad_audio(workspace: Path) -> None:
    result = _run(workspace, "transcribe", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "2 of 3 transcribed" in result.output
    assert "failed q3:" in result.output and "broken.wav: unreadable audio" in result.output
    store = Store.open(Settings(workspace=workspace).db_url)
    stored = persist.transcripts_frame(store).set_index("interaction_id")
    assert sorted(stored.index) == ["q1", "q2"]
    assert "kitchen lights" in stored.loc["q1", "text"].lower()
    assert stored["run_id"].notna().all() and (stored["language"] == "en").all()
    run = store.latest_run(persist.TRANSCRIBE_STAGE)
    assert (
        run is not None
        and run["summary"]["transcribed"] == 2
        and len(run["summary"]["failed"]) == 1
    )


def test_rerun_transcribes_only_what_is_missing(workspace: Path) -> None:
    _run(workspace, "transcribe")
    again = _run(workspace, "transcribe")
    assert "0 of 1 transcribed" in again.output  # only the broken file is retried


def test_transcribe_eval_prints_wer_against_references(workspace: Path, tmp_path: Path) -> None:
    refs = tmp_path / "refs.csv"
    refs.write_text(
        "interaction_id,reference\n"
        + "".join(f"{k},{v}\n" for k, v in SENTENCES.items())
        + "q9,never recorded\n"
    )
    result = _run(workspace, "transcribe", "--eval", str(refs))
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("WER "))
    assert "over 2 transcripts (1 references without a transcript)" in line
    assert float(line.split()[1]) <= 0.3


def test_transcribe_with_nothing_pending_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path / "empty", "transcribe")
    assert result.exit_code == 0 and "no audio without a transcript" in result.output
