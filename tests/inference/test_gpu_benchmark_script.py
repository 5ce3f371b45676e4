"""benchmarks/gpu_inference.py refuses to report CPU numbers; its smoke mode checks the code on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_inference.py"


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=tmp_path,
    )


def test_refuses_to_run_without_a_gpu(tmp_path: Path) -> None:
    result = _run("--out", str(tmp_path / "results.json"), tmp_path=tmp_path)
    assert result.returncode == 3
    assert (
        "torch.cuda.is_available() is False" in result.stderr
        and "will not report CPU numbers" in result.stderr
    )
    assert not (tmp_path / "results.json").exists()


@pytest.mark.slow
def test_cpu_smoke_test_runs_the_whole_script_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    result = _run("--smoke-test-cpu", "--out", str(out), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "NOT GPU figures" in result.stderr
    figures = json.loads(out.read_text())
    assert figures["smoke_test_cpu"] is True and figures["device"] == "cpu (smoke test)"
    llm = figures["llm_generation"]
    assert llm["batched_length_sorted"]["items"] == 6 and llm["per_item_loop"]["items"] == 2
    assert (
        llm["batched_length_sorted"]["prompt_padding_fraction"]
        <= llm["batched_arrival_order"]["prompt_padding_fraction"]
    )
    assert figures["whisper"]["batched"]["realtime_factor"] > 0
