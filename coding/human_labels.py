"""Human labels from annotation rows: each annotator's decisions as a long frame, and the
resolved label per (item, code) that agreement, prevalence and learning use.

Pure functions over the frames `coding.persist` reads (annotations, adjudications).
"""

from __future__ import annotations

import pandas as pd

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
