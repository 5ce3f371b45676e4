"""On the synthetic sample arena, Davidson fits recover the generator's true strengths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from arenalens.app.cli import main_group
from arenalens.context import AppContext
from ranking.bradley_terry import ELO_SCALE
from ranking.cli import demo

TRUTH = Path(__file__).resolve().parents[2] / "data" / "sample_arena" / "truth.json"


def test_davidson_slices_recover_true_strengths_per_modality(sample_app: AppContext) -> None:
    truth = json.loads(TRUTH.read_text())["strengths_by_modality"]
    args = [
        "--workspace",
        str(sample_app.settings.workspace),
        "rank",
        "--json",
        "--ties",
        "davidson",
    ]
    result = CliRunner().invoke(main_group, [*args, "--bootstrap", "300", "--by", "gold_modality"])
    assert result.exit_code == 0, result.output
    slices = {s["value"]: s for s in json.loads(result.stdout)["slices"]}
    assert set(slices) == set(truth)
    for modality, strengths in truth.items():
        true = np.array(list(strengths.values()))
        expected = dict(zip(strengths, 1000 + ELO_SCALE * (true - true.mean()), strict=True))
        for row in slices[modality]["ratings"]:
            half_width = (row["ci_high"] - row["ci_low"]) / 2
            assert abs(row["rating"] - expected[row["model"]]) < 2 * half_width, (modality, row)


def test_demo_summary_on_the_sample_arena(sample_app: AppContext) -> None:
    line = demo(sample_app)
    # the headline follows the evidence rule, as `rank` does: a leader only when its interval
    # lies above the others'
    assert line.startswith("ranking: 6 models from 2,400 votes. ")
    assert "Leader: " in line or "No single leader: " in line
    assert ", top " not in line
    assert "with 6 models no benchmark can be shown to predict preference" in line
