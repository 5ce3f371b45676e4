"""`arenalens demo` end to end, as a user runs it: builds, runs every stage, exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXPECTED_STAGES = {"taxonomy", "coding", "ranking"}


@pytest.mark.slow
def test_demo_builds_workspace_runs_every_stage_and_exits(tmp_path: Path) -> None:
    workspace = tmp_path / "demo"
    env = {**os.environ, "ARENALENS_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    entry = [sys.executable, "-c", "from arenalens.app.cli import main; main()"]
    demo = subprocess.run([*entry, "demo"], env=env, capture_output=True, text=True, timeout=1500)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "SYNTHETIC" in demo.stdout and "FAILED" not in demo.stdout
    # words, not Python: counts in plain words, the leader only under the evidence rule
    assert "{'" not in demo.stdout and "[" not in demo.stdout.replace("[y/N]", "")
    assert "interactions, " in demo.stdout and ", top " not in demo.stdout
    status = json.loads(
        subprocess.run(
            [*entry, "status", "--json"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert status["interactions"] >= 2000 and status["systems"] == 6
    assert 0.35 < status["feedback"] / status["votes"] < 0.55
    assert EXPECTED_STAGES <= set(status["stages"])
