"""The coding commands as users run them: code, codebook, annotate, agreement, prevalence."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from coding_fixtures import KeywordLabeler, make_arena

from arenalens.app.cli import main, main_group
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import Store


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with the hand-made arena, and the keyword labeler standing in for app.labeler."""
    store = Store.open(Settings(workspace=tmp_path).db_url)
    make_arena(store)
    store.engine.dispose()
    monkeypatch.setattr(AppContext, "labeler", property(lambda self: KeywordLabeler()))
    return tmp_path


def _run(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--workspace", str(workspace), *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_code_annotate_agreement_prevalence_end_to_end(workspace: Path, tmp_path: Path):
    coded = json.loads(_run(workspace, "code", "--json", "--batch-size", "8"))
    assert coded["coded_now"] == 40 and coded["labeler_calls"] == 5
    assert "0 coded" not in _run(workspace, "code")  # rerun: nothing left
    assert "coded 0 feedback items (40 already coded" in _run(workspace, "code")

    book = json.loads(_run(workspace, "codebook", "--json"))
    assert [c["name"] for c in book["codes"]][:2] == ["helpfulness", "detail"]
    assert book["coded_versions"][0]["items"] == 40

    sample = json.loads(
        _run(
            workspace,
            "annotate",
            "sample",
            "--annotator",
            "ann",
            "--annotator",
            "bob",
            "--size",
            "20",
            "--overlap",
            "0.5",
            "--json",
        )
    )
    assert sample["size"] == 20 and sample["double_coded"] == 10

    sheet = tmp_path / "ann.csv"
    assert "wrote 15 rows" in _run(
        workspace, "annotate", "export", str(sheet), "--annotator", "ann"
    )
    rows = list(csv.DictReader(sheet.open()))
    for row in rows:
        row["done"] = "1"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert "15 rows marked done, 15 saved" in _run(workspace, "annotate", "import", str(sheet))

    progress = {
        p["annotator"]: p for p in json.loads(_run(workspace, "annotate", "progress", "--json"))
    }
    assert progress["ann"]["remaining"] == 0 and progress["bob"]["annotated"] == 0
    assert json.loads(_run(workspace, "annotate", "adjudicate", "--json")) == []

    agreement = json.loads(_run(workspace, "agreement", "--json", "--boot", "100"))
    assert agreement["items_annotated"] == 15
    assert {c["code"]: c["kappa"] for c in agreement["per_code"]}["detail"] == pytest.approx(1.0)
    assert "confusion" in _run(workspace, "agreement", "--boot", "50")

    prevalence = json.loads(_run(workspace, "prevalence", "--json"))
    assert {p["code"] for p in prevalence} == set(book_codes(book))
    assert all(p["n_validated"] == 15 and p["ppi_rate"] is not None for p in prevalence)
    by_model = _run(workspace, "prevalence", "--by", "model")
    assert (
        "Gemini-1.5-Pro" in by_model and "DiVA-8B" in by_model and "GPT-4o" not in by_model
    )  # GPT-4o never lost


def book_codes(book: dict) -> list[str]:
    return [c["name"] for c in book["codes"]]


def test_adjudicate_settles_a_disagreement(workspace: Path):
    _run(workspace, "code")
    _run(
        workspace,
        "annotate",
        "sample",
        "--annotator",
        "ann",
        "--annotator",
        "bob",
        "--size",
        "10",
        "--overlap",
        "1",
    )
    from coding.annotations import AnnotationQueue
    from coding.codebook import load_codebook

    store = Store.open(Settings(workspace=workspace).db_url)
    queue = AnnotationQueue(store, load_codebook())
    fid = queue.next_item("ann").feedback_id
    queue.save("ann", fid, {"other": True})
    queue.save("bob", fid, {"other": False})
    listed = json.loads(_run(workspace, "annotate", "adjudicate", "--json"))
    assert [(d["feedback_id"], d["code"]) for d in listed] == [(fid, "other")]
    assert "present" in _run(
        workspace,
        "annotate",
        "adjudicate",
        "--item",
        fid,
        "--code",
        "other",
        "--present",
        "--by",
        "lead",
    )
    assert json.loads(_run(workspace, "annotate", "adjudicate", "--json")) == []
    store.engine.dispose()


def test_user_errors_are_one_line_with_exit_code_2(
    workspace: Path, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exited:
        main(["--workspace", str(workspace), "agreement"])
    assert exited.value.code == 2
    assert (
        capsys.readouterr().err.strip()
        == "error: no feedback has been coded yet: run `arenalens code` first"
    )
    _run(workspace, "code")
    with pytest.raises(SystemExit):
        main(["--workspace", str(workspace), "prevalence", "--by", "category"])
    assert "taxonomy" in capsys.readouterr().err
    bad = workspace / "bad.yaml"
    bad.write_text("name: x\nversion: 1\ncodes: []\n")
    with pytest.raises(SystemExit):
        main(["--workspace", str(workspace), "code", "--codebook", str(bad)])
    assert "'codes' must be a non-empty list" in capsys.readouterr().err
