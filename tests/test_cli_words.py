"""Every table a person reads in the CLI uses the display mapping: plain names and headings,
plurals, '—' for empty values, human dates; never a stored `snake_case` name, `None`, `nan` or a
Python list. `--json` keeps the stored names (scripts read them)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from arenalens.app.cli import main_group
from arenalens.cli_output import cell_text, text_table, with_intervals
from arenalens.config import Settings
from arenalens.context import AppContext

# a stored name: lower-case words joined by underscores (task_execution, ppi_rate, last_saved_at)
SNAKE = re.compile(r"(?<![\w/.@#:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w/.@#-])")
RAW = re.compile(r"\bNone\b|\bnan\b|\bNaN\b|\bNaT\b|\['|\{'|\d{2}:\d{2}:\d{2}\.\d+")
FEEDBACK_ID = re.compile(r"\bf_[0-9a-f]{8,}\b")  # item ids people copy into --item


def stored_names_in(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The snake_case names and raw values (None, nan, a Python list, a raw timestamp) people
    would read in `text`; paths and item ids are not names."""
    words = " ".join(w for w in text.split() if "/" not in w)  # file paths, URLs
    words = FEEDBACK_ID.sub("", words)
    found = [m.group(0) for m in SNAKE.finditer(words) if m.group(0) not in allowed]
    return found + [m.group(0) for m in RAW.finditer(words)]


def run(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), *args])
    assert result.exit_code == 0, result.output
    return result.output


# -- the formatter ------------------------------------------------------------------------
def test_a_table_reads_in_words_with_dashes_for_empty_cells():
    frame = pd.DataFrame(
        {
            "code": ["human_likeness", "task_execution"],
            "n_items": [1041, 3],
            "ppi_rate": [None, 0.25],
            "kappa": [0.61, float("nan")],
            "last_saved_at": ["2026-12-06 23:02:13.315118", None],
            "keywords": [["fast_answer", "slow"], []],
        }
    )
    text = text_table(frame, names=["code"], percent=["ppi_rate"], digits=2)
    header, first, second = text.splitlines()
    assert header.split("  ")[0] == "code"
    assert "bias-corrected share" in header and "last saved" in header
    assert "Human-likeness" in first and "1,041" in first and "6 Dec 2026, 23:02" in first
    assert "0.61" in first and "—" in first  # no bias-corrected share
    assert "Task execution" in second and "25.0%" in second
    assert "fast_answer and slow" in first  # a list as words (values as given)
    assert stored_names_in(text, allowed=("fast_answer",)) == []


def test_cells_never_show_python_values():
    assert cell_text(None) == cell_text(float("nan")) == cell_text(pd.NaT) == "—"
    assert cell_text(True) == "yes" and cell_text(False) == "no"
    assert cell_text(12345) == "12,345"
    assert cell_text(["a", "b", "c"]) == "a, b and c"
    assert cell_text("chit_chat", name=True) == "Chit-chat"
    assert cell_text(pd.Timestamp("2026-12-06 23:02:13")) == "6 Dec 2026, 23:02"


def test_an_estimate_and_its_interval_share_one_cell():
    frame = pd.DataFrame(
        {"kappa": [0.5, None], "kappa_low": [0.2, None], "kappa_high": [0.8, None]}
    )
    out = with_intervals(frame, {"kappa": ("kappa_low", "kappa_high")})
    assert list(out.columns) == ["kappa"]
    assert list(out["kappa"]) == ["0.50 (0.20 to 0.80)", "—"]


def test_an_empty_table_says_so():
    assert text_table(pd.DataFrame(columns=["code"]), empty="(no open disagreements)") == (
        "(no open disagreements)"
    )


# -- the commands, on the sample arena coded, annotated and ranked -------------------------
@pytest.fixture(scope="module")
def coded(sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample arena with its feedback coded, the demo's annotation sample answered by
    both annotators (the second disagreeing on helpfulness on the items both coded)."""
    import coding.cli

    workspace = tmp_path_factory.mktemp("cli-words") / "workspace"
    shutil.copytree(sample_workspace, workspace)
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    coding.cli.demo(app)
    app.store.engine.dispose()
    sheet = workspace.parent / "answers.csv"
    run(workspace, "annotate", "export", str(sheet))
    answers = pd.read_csv(sheet)
    flip = answers["annotator"] == answers["annotator"].iloc[-1]  # disagrees on every item
    answers.loc[flip, "helpfulness"] = 1 - answers.loc[flip, "helpfulness"].fillna(0).astype(int)
    answers["done"] = 1
    answers.to_csv(sheet, index=False)
    run(workspace, "annotate", "import", str(sheet))
    yield workspace


COMMANDS = {
    "rank": ["rank", "--bootstrap", "20", "--control", "response_length"],
    "regress": ["regress", "--vote-level"],
    "prevalence": ["prevalence"],
    "prevalence by model": ["prevalence", "--by", "model"],
    "agreement": ["agreement", "--boot", "50"],
    "annotate progress": ["annotate", "progress"],
    "annotate adjudicate": ["annotate", "adjudicate"],
    "annotate sample": [
        "annotate",
        "sample",
        "--annotator",
        "carol",
        "--size",
        "8",
        "--name",
        "extra",
    ],
    "codebook": ["codebook"],
    "benchmarks list": ["benchmarks", "list"],
    "infer systems": ["infer", "systems"],
    "status": ["status"],
}


def test_every_table_people_read_is_in_plain_words(coded: Path):
    outputs = {name: run(coded, *args) for name, args in COMMANDS.items()}
    for name, text in outputs.items():
        assert stored_names_in(text) == [], f"`arenalens {name}` shows stored names:\n{text}"
    # the words come from the one mapping
    assert "Human-likeness" in outputs["prevalence"]
    assert "bias-corrected share" in outputs["prevalence"]
    assert "Cohen's κ (95% CI)" in outputs["agreement"]
    assert "both say present" in outputs["agreement"]
    assert "last saved" in outputs["annotate progress"]
    assert "Controlled for Response length" in outputs["rank"]
    assert "1 present, 1 absent" in outputs["annotate adjudicate"]
    assert "Annotation sample" in outputs["status"]


def test_json_keeps_the_stored_names(coded: Path):
    rows = json.loads(run(coded, "prevalence", "--json"))
    assert {"code", "ppi_rate", "machine_rate"} <= set(rows[0])
    assert "human_likeness" in {r["code"] for r in rows}
    progress = json.loads(run(coded, "annotate", "progress", "--json"))
    assert {"annotator", "last_saved_at"} <= set(progress[0])


def test_a_code_can_be_named_as_people_read_it(coded: Path):
    listed = json.loads(run(coded, "annotate", "adjudicate", "--json"))
    item = listed[0]["feedback_id"]
    out = run(
        coded, "annotate", "adjudicate", "--item", item, "--code", "Helpfulness", "--present",
        "--by", "lead",
    )  # fmt: skip
    assert f"adjudicated {item} / Helpfulness: present" in out
    assert item not in {
        r["feedback_id"] for r in json.loads(run(coded, "annotate", "adjudicate", "--json"))
    }


@pytest.mark.slow
def test_taxonomy_tables_are_in_plain_words(coded: Path, tmp_path: Path):
    """The taxonomy's show and eval, and the per-category boards and shares (a taxonomy build
    takes ~40 s)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(coded, workspace)
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    import taxonomy.cli

    taxonomy.cli.demo(app)
    app.store.engine.dispose()
    outputs = {
        "taxonomy show": run(workspace, "taxonomy", "show", "--top", "8"),
        "taxonomy eval": run(workspace, "taxonomy", "eval", "--gold", "gold_category"),
        "rank by category": run(
            workspace, "rank", "--bootstrap", "10", "--no-fragility", "--by", "category"
        ),
        "prevalence by category": run(workspace, "prevalence", "--by", "category"),
        "prevalence by modality": run(workspace, "prevalence", "--by", "modality"),
    }
    for name, text in outputs.items():
        # the gold field is the user's own name for it, shown as typed
        assert stored_names_in(text, allowed=("gold_category",)) == [], f"{name}:\n{text}"
    assert "Text-primary" in outputs["taxonomy show"]
    assert "adjusted Rand index (ARI)" in outputs["taxonomy eval"]
    assert "Category: Task execution" in outputs["rank by category"]
    assert "Audio-primary" in outputs["prevalence by modality"]
