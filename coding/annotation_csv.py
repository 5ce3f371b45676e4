"""Annotation CSV round trips for annotators working in a spreadsheet: the rows an export
writes, and reading back the rows marked done (`AnnotationQueue.export_csv` / `import_csv`).

Pure over frames and files: the queue reads the store, passes the frames here and saves what
`plan_import` says to save.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from arenalens.csv_safe import restore_record
from arenalens.ingest.readers import csv_dict_rows, csv_import_errors
from coding.codebook import Codebook
from coding.decisions import clean_name, normalise_decisions, parse_flag
from coding.errors import AnnotationError, CodebookMixError

# The id of the saved annotation an exported row starts from (empty: none); import compares it
# with what was saved since, so a newer save in the dashboard is never silently replaced.
SAVED_ROW_COLUMN = "saved_annotation"
# Saves made outside a spreadsheet: an older CSV row never replaces one of these unannounced.
OUTSIDE_CSV_SOURCES = frozenset({"dashboard", "api", "demo"})
CSV_CONTEXT_COLUMNS = ("vote", "query", "response_a", "response_b", "feedback", "machine_codes")


def csv_columns(code_names: Sequence[str]) -> list[str]:
    """The columns of an annotation CSV: item, context, each code with side and polarity, note."""
    per_code = [c for name in code_names for c in (name, f"{name}_side", f"{name}_polarity")]
    return [
        "feedback_id",
        "annotator",
        "codebook_version",
        "done",
        *CSV_CONTEXT_COLUMNS,
        *per_code,
        "note",
        SAVED_ROW_COLUMN,
    ]


def export_records(
    codebook: Codebook,
    assigned: pd.DataFrame,
    saved: pd.DataFrame,
    codes: pd.DataFrame,
    feedback: pd.DataFrame,
    shown: Callable[[str], str],
) -> Iterator[dict[str, Any]]:
    """One row per assignment: an item the annotator already saved carries that answer, marked
    done; the others are prefilled with the machine's codes. `shown` is applied to the texts."""
    version = codebook.version_key
    answers = {
        (r["annotator"], r["feedback_id"]): r for r in saved.to_dict("records")
    }  # each annotator's latest answer per item
    by_item = {fid: group for fid, group in codes.groupby("feedback_id")} if len(codes) else {}
    for row in assigned.itertuples(index=False):
        context = feedback.loc[row.feedback_id]
        mine = by_item.get(row.feedback_id)
        machine = {r.code: r for r in mine.itertuples()} if mine is not None else {}
        record = {
            "feedback_id": row.feedback_id,
            "annotator": row.annotator,
            "codebook_version": version,
            "done": "",
            "vote": cell_text(context["winner"]),
            "query": shown(cell_text(context["query"])),
            "response_a": shown(cell_text(context["response_a"])),
            "response_b": shown(cell_text(context["response_b"])),
            "feedback": shown(cell_text(context["text"])),
            "machine_codes": shown("; ".join(f'{c}: "{m.evidence}"' for c, m in machine.items())),
            "note": "",
            SAVED_ROW_COLUMN: "",
        }
        for name in codebook.code_names:
            hit = machine.get(name)
            record[name] = "1" if hit is not None else "0"
            record[f"{name}_side"] = hit.side if hit is not None else ""
            record[f"{name}_polarity"] = hit.polarity if hit is not None else ""
        answer = answers.get((row.annotator, row.feedback_id))
        if answer is not None:  # their own saved answer, not the machine's
            record.update(answer_cells(codebook.code_names, answer))
        yield record


def answer_cells(code_names: Sequence[str], answer: Mapping[str, Any]) -> dict[str, str]:
    """CSV cells of a saved annotation: its codes, side, polarity, note; marked done."""
    cells = {
        "done": "1",
        "note": answer["note"] or "",
        SAVED_ROW_COLUMN: str(int(answer["id"])),
    }
    for name in code_names:
        decision = (answer["decisions"] or {}).get(name) or {}
        present = bool(decision.get("present"))
        cells[name] = "1" if present else "0"
        cells[f"{name}_side"] = (decision.get("side") or "") if present else ""
        cells[f"{name}_polarity"] = (decision.get("polarity") or "") if present else ""
    return cells


@dataclass(frozen=True)
class CsvAnswer:
    """A row marked done in an annotation CSV, validated."""

    annotator: str
    feedback_id: str
    decisions: dict[str, dict[str, Any]]
    note: str
    line: int
    exported_from: int | None  # the saved annotation the row was exported with (None: none)


def read_answers(path: Path, codebook: Codebook, feedback_ids: Collection[str]) -> list[CsvAnswer]:
    """The rows marked done in the CSV at `path`; an error naming the line for the first bad one
    (and nothing read)."""
    version = codebook.version_key
    with csv_import_errors(path, AnnotationError):
        reader = csv_dict_rows(path)  # ingest's decoding: UTF-8 (BOM or not), UTF-16/32
        missing = {
            "feedback_id",
            "annotator",
            "codebook_version",
            "done",
            *codebook.code_names,
        } - set(reader.fieldnames or [])
        if missing:
            raise AnnotationError(f"{path}: missing columns {sorted(missing)}")
        known = csv_columns(codebook.code_names)
        unknown = [c for c in reader.fieldnames or [] if c and c not in known]
        if unknown:
            raise AnnotationError(
                f"{path}: columns {unknown} are not codes of codebook {version} "
                f"(codes: {codebook.code_names}) nor export columns; nothing was imported"
            )
        answers = []
        for line, raw in enumerate(reader, start=2):
            record = restore_record(raw)  # our export's formula escapes undone
            where = f"{path}, line {line}"
            if record["codebook_version"] != version:
                raise CodebookMixError(
                    f"{where}: codebook_version {record['codebook_version']!r} is not {version}; "
                    "import it with the codebook it was exported under"
                )
            if not parse_flag(record.get("done"), f"{where}, column done"):
                continue
            decisions = {}
            for name in codebook.code_names:
                present = parse_flag(record.get(name), f"{where}, column {name}")
                if present is None:
                    raise AnnotationError(
                        f"{where}, column {name}: expected 1 or 0 on a row marked done"
                    )
                decisions[name] = {
                    "present": present,
                    "side": record.get(f"{name}_side") or None,
                    "polarity": record.get(f"{name}_polarity") or None,
                }
            annotator = clean_name(record["annotator"], f"{where}, column annotator")
            if record["feedback_id"] not in feedback_ids:
                raise AnnotationError(
                    f"{where}: no feedback item with id {record['feedback_id']!r}"
                )
            answers.append(
                CsvAnswer(
                    annotator,
                    record["feedback_id"],
                    normalise_decisions(codebook, decisions, where),
                    record.get("note") or "",
                    line,
                    _row_id(record.get(SAVED_ROW_COLUMN), f"{where}, column {SAVED_ROW_COLUMN}"),
                )
            )
    return answers


def plan_import(
    answers: Sequence[CsvAnswer], latest: pd.DataFrame
) -> tuple[list[CsvAnswer], dict[str, Any]]:
    """Which answers to save, given each annotator's latest saved answers, and the counts
    (`saved` left at 0 for the caller to count). Unchanged answers add nothing; an answer never
    replaces one the annotator saved outside the spreadsheet after the row was exported (counted
    in `kept_newer`, its line listed in `kept_newer_lines`)."""
    previous = {(r["annotator"], r["feedback_id"]): r for r in latest.to_dict("records")}
    counts: dict[str, Any] = {
        "rows_done": len(answers),
        "saved": 0,
        "unchanged": 0,
        "kept_newer": 0,
        "kept_newer_lines": [],
    }
    to_save = []
    for answer in answers:
        stored = previous.get((answer.annotator, answer.feedback_id))
        if stored is not None and (stored["decisions"], stored["note"]) == (
            answer.decisions,
            answer.note,
        ):
            counts["unchanged"] += 1
            continue
        if (
            stored is not None
            and stored["source"] in OUTSIDE_CSV_SOURCES
            and int(stored["id"]) > (answer.exported_from or 0)
        ):  # saved in the dashboard after this row was exported: the newer answer stays
            counts["kept_newer"] += 1
            counts["kept_newer_lines"].append(str(answer.line))
            continue
        to_save.append(answer)
    return to_save, counts


def cell_text(value: Any) -> str:
    """A context cell's text ("" for a missing value)."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _row_id(value: Any, where: str) -> int | None:
    """The saved-annotation id an exported row carries (empty: none)."""
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise AnnotationError(f"{where}: expected the id of a saved annotation, got {text!r}")
    return int(text)
