"""AnnotationQueue: what the dashboard (and CSV round-trips) use to validate machine codes."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arenalens.csv_safe import restore_record, write_rows
from arenalens.ingest.readers import csv_dict_rows, csv_import_errors
from arenalens.privacy import mask_pii
from arenalens.store import Store
from arenalens.store.store import utcnow
from coding import persist
from coding.codebook import POLARITIES, SIDES, Codebook
from coding.errors import AnnotationError, CodebookMixError
from coding.queue import coder_confidence, uncertain_first

MAX_NAME = 128
SOURCES = ("dashboard", "api", "csv", "demo")
TRUE_VALUES = {"1", "yes", "y", "true", "x"}
FALSE_VALUES = {"0", "no", "n", "false"}
# The id of the saved annotation an exported row starts from (empty: none); import compares it
# with what was saved since, so a newer save in the dashboard is never silently replaced.
SAVED_ROW_COLUMN = "saved_annotation"
# Saves made outside a spreadsheet: an older CSV row never replaces one of these unannounced.
OUTSIDE_CSV_SOURCES = frozenset({"dashboard", "api", "demo"})
CSV_CONTEXT_COLUMNS = ("vote", "query", "response_a", "response_b", "feedback", "machine_codes")


@dataclass(frozen=True)
class CodeDecision:
    """An annotator's judgement of one code: applies or not, and (optionally) side and polarity."""

    present: bool
    side: str | None = None
    polarity: str | None = None


@dataclass
class AnnotationItem:
    """One feedback item as an annotator sees it: text, context and the machine's codes."""

    feedback_id: str
    interaction_id: str
    feedback: str
    query: str | None
    response_a: str | None
    response_b: str | None
    model_a: str | None
    model_b: str | None
    winner: str | None
    codebook_version: str
    machine_codes: list[dict[str, Any]] = field(default_factory=list)
    sample: str | None = None
    position: int | None = None
    # the coder's probability and decision per code: [{code, probability, decision, source}]
    coder_confidence: list[dict[str, Any]] = field(default_factory=list)


def _clean_name(name: str, what: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise AnnotationError(
            f"{what} must be a non-empty name of at most {MAX_NAME} characters, got {name!r}"
        )
    return cleaned


def _parse_flag(value: Any, where: str) -> bool | None:
    text = str(value if value is not None else "").strip().lower()
    if text == "":
        return None
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise AnnotationError(f"{where}: expected 1/0 (or yes/no), got {value!r}")


MATRIX_COLUMNS = ["feedback_id", "annotator", "code", "present", "side", "polarity", "created_at"]
LABEL_COLUMNS = ["feedback_id", "code", "present", "status", "annotators", "values"]


def decisions_matrix(annotations: pd.DataFrame) -> pd.DataFrame:
    """Long frame of annotation rows' decisions: feedback_id, annotator, code, present (0/1),
    side, polarity, created_at."""
    rows = []
    for record in annotations.to_dict("records"):
        for code, decision in (record["decisions"] or {}).items():
            rows.append(
                {
                    "feedback_id": record["feedback_id"],
                    "annotator": record["annotator"],
                    "code": code,
                    "present": int(bool(decision.get("present"))),
                    "side": decision.get("side"),
                    "polarity": decision.get("polarity"),
                    "created_at": record["created_at"],
                }
            )
    return pd.DataFrame(rows, columns=MATRIX_COLUMNS)


def resolve_labels(matrix: pd.DataFrame, adjudications: pd.DataFrame) -> pd.DataFrame:
    """Resolved human label per (item, code): adjudicated, else consensus, else single;
    disagreements left open (present None)."""
    if matrix.empty:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    grouped = (
        matrix.groupby(["feedback_id", "code"])["present"].agg(list).reset_index(name="values")
    )
    verdict = (
        {(r.feedback_id, r.code): int(r.present) for r in adjudications.itertuples()}
        if len(adjudications)
        else {}
    )
    rows = []
    for record in grouped.itertuples(index=False):
        values = list(record.values)
        key = (record.feedback_id, record.code)
        if key in verdict:
            present, status = verdict[key], "adjudicated"
        elif len(set(values)) == 1:
            present, status = values[0], "single" if len(values) == 1 else "consensus"
        else:
            present, status = None, "disagreement"
        rows.append(
            {
                "feedback_id": record.feedback_id,
                "code": record.code,
                "present": present,
                "status": status,
                "annotators": len(values),
                "values": values,
            }
        )
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


class AnnotationQueue:
    """Next item / save / progress / adjudication / CSV for one codebook version (and optionally one sample)."""

    def __init__(self, store: Store, codebook: Codebook, sample: str | None = None):
        self.store = store
        self.codebook = codebook
        self.version = codebook.version_key  # registered on the first write, not here
        self.sample = sample
        self._feedback: pd.DataFrame | None = None
        self._registered = False

    def writing_to(self, store: Store) -> AnnotationQueue:
        """This queue saving through `store` (the feedback it already read is kept): the
        dashboard reads through a read-only store and saves through one opened for the save."""
        self._feedback_frame()  # read once here, so every copy shares it
        other = copy.copy(self)
        other.store = store
        return other

    def _register(self) -> None:
        if not self._registered:
            persist.register_codebook(self.store, self.codebook)
            self._registered = True

    # -- reading ---------------------------------------------------------------
    def assignments(self) -> pd.DataFrame:
        return persist.assignments_frame(self.store, self.version, self.sample)

    def annotators(self) -> list[str]:
        """Annotators with assignments (in this queue's sample, or any)."""
        frame = self.assignments()
        return sorted(frame["annotator"].unique()) if len(frame) else []

    def _feedback_frame(self) -> pd.DataFrame:
        if self._feedback is None:
            self._feedback = self.store.feedback_frame().set_index("id", drop=False)
        return self._feedback

    def item(self, feedback_id: str) -> AnnotationItem:
        """The feedback with its context and the machine's codes under this codebook."""
        frame = self._feedback_frame()
        if feedback_id not in frame.index:
            raise AnnotationError(f"no feedback item with id {feedback_id!r} in this workspace")
        row = frame.loc[feedback_id]
        codes = persist.codes_frame(self.store, self.version)
        mine = codes[codes["feedback_id"] == feedback_id] if len(codes) else codes
        fields = ["code", "side", "polarity", "evidence", "rationale", "confidence"]
        return AnnotationItem(
            feedback_id=feedback_id,
            interaction_id=str(row["interaction_id"]),
            feedback=str(row["text"]),
            query=_none(row["query"]),
            response_a=_none(row["response_a"]),
            response_b=_none(row["response_b"]),
            model_a=_none(row["model_a"]),
            model_b=_none(row["model_b"]),
            winner=_none(row["winner"]),
            codebook_version=self.version,
            machine_codes=mine[fields].to_dict("records") if len(mine) else [],
            coder_confidence=coder_confidence(self.store, self.version, [feedback_id])[
                ["code", "probability", "decision", "source"]
            ].to_dict("records"),
        )

    def pending(self, annotator: str) -> list[str]:
        """The annotator's assigned, not yet saved items, uncertain-first (`coding.queue`)."""
        annotator = _clean_name(annotator, "annotator")
        assigned = self.assignments()
        mine = assigned[assigned["annotator"] == annotator] if len(assigned) else assigned
        if mine.empty:
            return []
        done = self._annotated_ids(annotator)
        ids = [fid for fid in dict.fromkeys(mine["feedback_id"]) if fid not in done]
        return uncertain_first(ids, coder_confidence(self.store, self.version, ids))

    def next_item(self, annotator: str) -> AnnotationItem | None:
        """The annotator's next assigned item they have not yet saved (None when done).

        Items the coder was uncertain about come first; the rest in assignment order.
        """
        pending = self.pending(annotator)
        if not pending:
            return None
        assigned = self.assignments()
        row = assigned[
            (assigned["annotator"] == annotator.strip()) & (assigned["feedback_id"] == pending[0])
        ].iloc[0]
        item = self.item(pending[0])
        item.sample, item.position = row["sample"], int(row["position"])
        return item

    def _annotated_ids(self, annotator: str) -> set[str]:
        frame = persist.annotations_frame(self.store, self.version)
        return (
            set(frame.loc[frame["annotator"] == annotator, "feedback_id"]) if len(frame) else set()
        )

    # -- writing ---------------------------------------------------------------
    def normalise_decisions(
        self, decisions: Mapping[str, Any], where: str = "decisions"
    ) -> dict[str, dict[str, Any]]:
        """Validate decisions (bool, CodeDecision or mapping per code); codes not given are recorded absent."""
        unknown = [name for name in decisions if name not in self.codebook.code_names]
        if unknown:
            raise AnnotationError(
                f"{where}: unknown codes {unknown}; codebook {self.version} has {self.codebook.code_names}"
            )
        out: dict[str, dict[str, Any]] = {}
        for name in self.codebook.code_names:
            value = decisions.get(name, False)
            if isinstance(value, CodeDecision):
                value = {"present": value.present, "side": value.side, "polarity": value.polarity}
            elif not isinstance(value, Mapping):
                value = {"present": value}
            present = value.get("present")
            if not isinstance(present, bool):
                present = _parse_flag(present, f"{where}.{name}.present")
                if present is None:
                    raise AnnotationError(f"{where}.{name}: 'present' must be given as true/false")
            side, polarity = value.get("side") or None, value.get("polarity") or None
            if side is not None and side not in SIDES:
                raise AnnotationError(
                    f"{where}.{name}.side: expected one of {list(SIDES)}, got {side!r}"
                )
            if polarity is not None and polarity not in POLARITIES:
                raise AnnotationError(
                    f"{where}.{name}.polarity: expected one of {list(POLARITIES)}, got {polarity!r}"
                )
            out[name] = {
                "present": present,
                "side": side if present else None,
                "polarity": polarity if present else None,
            }
        return out

    def save(
        self,
        annotator: str,
        feedback_id: str,
        decisions: Mapping[str, Any],
        note: str = "",
        source: str = "dashboard",
    ) -> int:
        """Append one durable annotation row (annotator, time, codebook version, item); returns its id."""
        annotator = _clean_name(annotator, "annotator")
        if source not in SOURCES:
            raise AnnotationError(f"source must be one of {list(SOURCES)}, got {source!r}")
        if feedback_id not in self._feedback_frame().index:
            self._feedback = None  # maybe new feedback since the queue was opened
            if feedback_id not in self._feedback_frame().index:
                raise AnnotationError(f"no feedback item with id {feedback_id!r} in this workspace")
        row = {
            "codebook_version": self.version,
            "feedback_id": feedback_id,
            "annotator": annotator,
            "decisions": self.normalise_decisions(decisions),
            "note": str(note or ""),
            "source": source,
            "created_at": utcnow(),
        }
        self._register()
        return persist.insert_annotation(self.store, row)

    def accept_machine(
        self, annotator: str, feedback_id: str, note: str = "", source: str = "dashboard"
    ) -> int:
        """Save the machine's codes for the item as the annotator's judgement."""
        codes = self.item(feedback_id).machine_codes
        decisions = {c["code"]: CodeDecision(True, c["side"], c["polarity"]) for c in codes}
        return self.save(annotator, feedback_id, decisions, note=note, source=source)

    def adjudicate(
        self, feedback_id: str, code: str, present: bool, adjudicator: str, note: str = ""
    ) -> int:
        """Settle a human disagreement on one (item, code); the latest adjudication counts."""
        adjudicator = _clean_name(adjudicator, "adjudicator")
        self.codebook.code(code)
        if feedback_id not in self._feedback_frame().index:
            raise AnnotationError(f"no feedback item with id {feedback_id!r} in this workspace")
        row = {
            "codebook_version": self.version,
            "feedback_id": feedback_id,
            "code": code,
            "present": int(bool(present)),
            "adjudicator": adjudicator,
            "note": str(note or ""),
            "created_at": utcnow(),
        }
        self._register()
        return persist.insert_adjudication(self.store, row)

    # -- summaries -------------------------------------------------------------
    def annotation_matrix(self) -> pd.DataFrame:
        """Each annotator's latest decision per item and code (see `decisions_matrix`)."""
        return decisions_matrix(persist.annotations_frame(self.store, self.version))

    def human_labels(self) -> pd.DataFrame:
        """Resolved human label per (item, code) (see `resolve_labels`)."""
        return resolve_labels(
            self.annotation_matrix(), persist.adjudications_frame(self.store, self.version)
        )

    def disagreements(self) -> pd.DataFrame:
        """(item, code) pairs where annotators disagree and no adjudication exists yet."""
        labels = self.human_labels()
        open_ = labels[labels["status"] == "disagreement"] if len(labels) else labels
        if open_.empty:
            return pd.DataFrame(columns=["feedback_id", "code", "values", "feedback"])
        text = self._feedback_frame()["text"]
        open_ = open_.assign(feedback=open_["feedback_id"].map(text))
        return open_[["feedback_id", "code", "values", "feedback"]].reset_index(drop=True)

    def progress(self) -> pd.DataFrame:
        """Per annotator: items assigned, annotated, remaining, last save time."""
        assigned = self.assignments()
        frame = persist.annotations_frame(self.store, self.version)
        rows = []
        for annotator in sorted(set(assigned["annotator"]) if len(assigned) else set()):
            ids = set(assigned.loc[assigned["annotator"] == annotator, "feedback_id"])
            mine = frame[frame["annotator"] == annotator] if len(frame) else frame
            done = ids & set(mine["feedback_id"]) if len(mine) else set()
            rows.append(
                {
                    "annotator": annotator,
                    "assigned": len(ids),
                    "annotated": len(done),
                    "remaining": len(ids) - len(done),
                    "last_saved_at": mine["created_at"].max() if len(mine) else None,
                }
            )
        return pd.DataFrame(
            rows, columns=["annotator", "assigned", "annotated", "remaining", "last_saved_at"]
        )

    # -- CSV -------------------------------------------------------------------
    def csv_columns(self) -> list[str]:
        per_code = [
            c
            for name in self.codebook.code_names
            for c in (name, f"{name}_side", f"{name}_polarity")
        ]
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

    def export_csv(self, path: str | Path, annotator: str | None = None, mask: bool = True) -> int:
        """Write assigned items for annotators working in a spreadsheet: an item the annotator
        already saved (in the dashboard or an earlier import) carries that answer, marked done;
        the others are prefilled with the machine's codes. With `mask`, personal details in the
        texts are masked as on the dashboard."""
        shown = mask_pii if mask else _text
        assigned = self.assignments()
        if annotator is not None and len(assigned):
            assigned = assigned[assigned["annotator"] == annotator]
        saved = persist.annotations_frame(self.store, self.version)
        answers = {
            (r["annotator"], r["feedback_id"]): r for r in saved.to_dict("records")
        }  # each annotator's latest answer per item
        codes = persist.codes_frame(self.store, self.version)
        by_item = {fid: group for fid, group in codes.groupby("feedback_id")} if len(codes) else {}
        feedback = self._feedback_frame()

        def records() -> Iterator[dict[str, Any]]:
            for row in assigned.itertuples(index=False):
                context = feedback.loc[row.feedback_id]
                mine = by_item.get(row.feedback_id)
                machine = {r.code: r for r in mine.itertuples()} if mine is not None else {}
                record = {
                    "feedback_id": row.feedback_id,
                    "annotator": row.annotator,
                    "codebook_version": self.version,
                    "done": "",
                    "vote": _text(context["winner"]),
                    "query": shown(_text(context["query"])),
                    "response_a": shown(_text(context["response_a"])),
                    "response_b": shown(_text(context["response_b"])),
                    "feedback": shown(_text(context["text"])),
                    "machine_codes": shown(
                        "; ".join(f'{c}: "{m.evidence}"' for c, m in machine.items())
                    ),
                    "note": "",
                    SAVED_ROW_COLUMN: "",
                }
                for name in self.codebook.code_names:
                    hit = machine.get(name)
                    record[name] = "1" if hit is not None else "0"
                    record[f"{name}_side"] = hit.side if hit is not None else ""
                    record[f"{name}_polarity"] = hit.polarity if hit is not None else ""
                answer = answers.get((row.annotator, row.feedback_id))
                if answer is not None:  # their own saved answer, not the machine's
                    record.update(self._answer_cells(answer))
                yield record

        # every cell, the annotator's name included, escaped against spreadsheet formulas
        return write_rows(path, self.csv_columns(), records())

    def _answer_cells(self, answer: Mapping[str, Any]) -> dict[str, str]:
        """CSV cells of a saved annotation: its codes, side, polarity, note; marked done."""
        cells = {
            "done": "1",
            "note": answer["note"] or "",
            SAVED_ROW_COLUMN: str(int(answer["id"])),
        }
        for name in self.codebook.code_names:
            decision = (answer["decisions"] or {}).get(name) or {}
            present = bool(decision.get("present"))
            cells[name] = "1" if present else "0"
            cells[f"{name}_side"] = (decision.get("side") or "") if present else ""
            cells[f"{name}_polarity"] = (decision.get("polarity") or "") if present else ""
        return cells

    def import_csv(self, path: str | Path) -> dict[str, Any]:
        """Save rows marked done as annotations (one row each); unchanged re-imports add nothing.

        A row never replaces an answer the annotator saved outside the spreadsheet (in the
        dashboard) after the row was exported: such rows are counted in `kept_newer` and their
        lines listed in `kept_newer_lines`, and nothing is saved for them."""
        path = Path(path)
        with csv_import_errors(path, AnnotationError):
            reader = csv_dict_rows(path)  # ingest's decoding: UTF-8 (BOM or not), UTF-16/32
            missing = {
                "feedback_id",
                "annotator",
                "codebook_version",
                "done",
                *self.codebook.code_names,
            } - set(reader.fieldnames or [])
            if missing:
                raise AnnotationError(f"{path}: missing columns {sorted(missing)}")
            unknown = [c for c in reader.fieldnames or [] if c and c not in self.csv_columns()]
            if unknown:
                raise AnnotationError(
                    f"{path}: columns {unknown} are not codes of codebook {self.version} "
                    f"(codes: {self.codebook.code_names}) nor export columns; nothing was imported"
                )
            parsed = []
            for line, raw in enumerate(reader, start=2):
                record = restore_record(raw)  # our export's formula escapes undone
                where = f"{path}, line {line}"
                if record["codebook_version"] != self.version:
                    raise CodebookMixError(
                        f"{where}: codebook_version {record['codebook_version']!r} is not {self.version}; "
                        "import it with the codebook it was exported under"
                    )
                if not _parse_flag(record.get("done"), f"{where}, column done"):
                    continue
                decisions = {}
                for name in self.codebook.code_names:
                    present = _parse_flag(record.get(name), f"{where}, column {name}")
                    if present is None:
                        raise AnnotationError(
                            f"{where}, column {name}: expected 1 or 0 on a row marked done"
                        )
                    decisions[name] = {
                        "present": present,
                        "side": record.get(f"{name}_side") or None,
                        "polarity": record.get(f"{name}_polarity") or None,
                    }
                annotator = _clean_name(record["annotator"], f"{where}, column annotator")
                if record["feedback_id"] not in self._feedback_frame().index:
                    raise AnnotationError(
                        f"{where}: no feedback item with id {record['feedback_id']!r}"
                    )
                parsed.append(
                    (
                        annotator,
                        record["feedback_id"],
                        self.normalise_decisions(decisions, where),
                        record.get("note") or "",
                        where,
                        _row_id(
                            record.get(SAVED_ROW_COLUMN), f"{where}, column {SAVED_ROW_COLUMN}"
                        ),
                    )
                )
        latest = persist.annotations_frame(self.store, self.version)
        previous = {(r["annotator"], r["feedback_id"]): r for r in latest.to_dict("records")}
        counts: dict[str, Any] = {
            "rows_done": len(parsed),
            "saved": 0,
            "unchanged": 0,
            "kept_newer": 0,
            "kept_newer_lines": [],
        }
        for annotator, feedback_id, decisions, note, where, base in parsed:
            stored = previous.get((annotator, feedback_id))
            if stored is not None and (stored["decisions"], stored["note"]) == (decisions, note):
                counts["unchanged"] += 1
                continue
            if (
                stored is not None
                and stored["source"] in OUTSIDE_CSV_SOURCES
                and int(stored["id"]) > (base or 0)
            ):  # saved in the dashboard after this row was exported: the newer answer stays
                counts["kept_newer"] += 1
                counts["kept_newer_lines"].append(where.rsplit("line ", 1)[-1])
                continue
            self.save(annotator, feedback_id, decisions, note=note, source="csv")
            counts["saved"] += 1
        return counts


def _text(value: Any) -> str:
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


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
