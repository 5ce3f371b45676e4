"""AnnotationQueue: what the dashboard (and CSV round-trips) use to validate machine codes.

The queue reads and writes through the store; what it validates and computes lives beside it:
decisions in `coding.decisions`, human labels in `coding.human_labels`, CSV rows in
`coding.annotation_csv`, the order of items in `coding.queue`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arenalens.csv_safe import write_rows
from arenalens.privacy import mask_pii
from arenalens.store import Store
from arenalens.store.store import utcnow
from coding import persist
from coding.annotation_csv import (
    cell_text,
    csv_columns,
    export_records,
    plan_import,
    read_answers,
)
from coding.codebook import Codebook
from coding.decisions import CodeDecision, clean_name, normalise_decisions
from coding.errors import AnnotationError
from coding.human_labels import decisions_matrix, resolve_labels
from coding.queue import coder_confidence, uncertain_first

__all__ = ["SOURCES", "AnnotationItem", "AnnotationQueue", "CodeDecision"]

SOURCES = ("dashboard", "api", "csv", "demo")


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

    def _require_feedback(self, feedback_id: str, reread: bool = False) -> None:
        """An AnnotationError unless the workspace has this feedback item (with `reread`, the
        feedback is read again first when the item is not among what was read)."""
        if feedback_id in self._feedback_frame().index:
            return
        if reread:  # maybe new feedback since the queue was opened
            self._feedback = None
            if feedback_id in self._feedback_frame().index:
                return
        raise AnnotationError(f"no feedback item with id {feedback_id!r} in this workspace")

    def item(self, feedback_id: str) -> AnnotationItem:
        """The feedback with its context and the machine's codes under this codebook."""
        self._require_feedback(feedback_id)
        row = self._feedback_frame().loc[feedback_id]
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
        annotator = clean_name(annotator, "annotator")
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
        return normalise_decisions(self.codebook, decisions, where)

    def save(
        self,
        annotator: str,
        feedback_id: str,
        decisions: Mapping[str, Any],
        note: str = "",
        source: str = "dashboard",
    ) -> int:
        """Append one durable annotation row (annotator, time, codebook version, item); returns its id."""
        annotator = clean_name(annotator, "annotator")
        if source not in SOURCES:
            raise AnnotationError(f"source must be one of {list(SOURCES)}, got {source!r}")
        self._require_feedback(feedback_id, reread=True)
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
        adjudicator = clean_name(adjudicator, "adjudicator")
        self.codebook.code(code)
        self._require_feedback(feedback_id)
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

    # -- CSV (`coding.annotation_csv`) -------------------------------------------
    def csv_columns(self) -> list[str]:
        return csv_columns(self.codebook.code_names)

    def export_csv(self, path: str | Path, annotator: str | None = None, mask: bool = True) -> int:
        """Write assigned items for annotators working in a spreadsheet: an item the annotator
        already saved (in the dashboard or an earlier import) carries that answer, marked done;
        the others are prefilled with the machine's codes. With `mask`, personal details in the
        texts are masked as on the dashboard."""
        assigned = self.assignments()
        if annotator is not None and len(assigned):
            assigned = assigned[assigned["annotator"] == annotator]
        records = export_records(
            self.codebook,
            assigned,
            persist.annotations_frame(self.store, self.version),
            persist.codes_frame(self.store, self.version),
            self._feedback_frame(),
            mask_pii if mask else cell_text,
        )
        # every cell, the annotator's name included, escaped against spreadsheet formulas
        return write_rows(path, self.csv_columns(), records)

    def import_csv(self, path: str | Path) -> dict[str, Any]:
        """Save rows marked done as annotations (one row each); unchanged re-imports add nothing.

        A row never replaces an answer the annotator saved outside the spreadsheet (in the
        dashboard) after the row was exported: such rows are counted in `kept_newer` and their
        lines listed in `kept_newer_lines`, and nothing is saved for them."""
        answers = read_answers(Path(path), self.codebook, self._feedback_frame().index)
        to_save, counts = plan_import(answers, persist.annotations_frame(self.store, self.version))
        for answer in to_save:
            self.save(
                answer.annotator,
                answer.feedback_id,
                answer.decisions,
                note=answer.note,
                source="csv",
            )
            counts["saved"] += 1
        return counts


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
