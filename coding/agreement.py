"""Agreement between the machine's codes and human annotators, and among humans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from arenalens.stats import bootstrap_interval
from arenalens.store import Store
from coding import persist
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.human_labels import decisions_matrix, resolve_labels
from coding.json_values import json_records


# -- pure functions ------------------------------------------------------------
def percent_agreement(a: Sequence, b: Sequence) -> float:
    """Share of items on which two raters give the same label."""
    a, b = np.asarray(a), np.asarray(b)
    return float(np.mean(a == b)) if len(a) else float("nan")


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters' nominal labels (NaN when chance agreement is 1)."""
    a, b = np.asarray(a), np.asarray(b)
    if len(a) == 0:
        return float("nan")
    labels = np.union1d(a, b)
    p_o = float(np.mean(a == b))
    p_e = float(sum(np.mean(a == lab) * np.mean(b == lab) for lab in labels))
    if p_e >= 1.0:
        return float("nan")
    return (p_o - p_e) / (1.0 - p_e)


def bootstrap_kappa_ci(
    a: Sequence, b: Sequence, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of Cohen's kappa over items (NaN resamples dropped)."""
    return bootstrap_interval(cohen_kappa, a, b, n_boot=n_boot, level=level, seed=seed)


def precision_recall(predicted: Sequence, truth: Sequence) -> tuple[float, float]:
    """Precision and recall of binary predictions against binary truth (NaN when undefined)."""
    p, t = np.asarray(predicted).astype(bool), np.asarray(truth).astype(bool)
    tp = int(np.sum(p & t))
    precision = tp / int(p.sum()) if p.sum() else float("nan")
    recall = tp / int(t.sum()) if t.sum() else float("nan")
    return precision, recall


def krippendorff_alpha_nominal(units: Sequence[Sequence]) -> float:
    """Krippendorff's alpha (nominal) from units of values (one value per coder who coded it)."""
    pairable = [list(u) for u in units if len(u) >= 2]
    if not pairable:
        return float("nan")
    labels = sorted({v for u in pairable for v in u}, key=str)
    index = {lab: i for i, lab in enumerate(labels)}
    o = np.zeros((len(labels), len(labels)))
    for unit in pairable:
        m = len(unit)
        for i, x in enumerate(unit):
            for j, y in enumerate(unit):
                if i != j:
                    o[index[x], index[y]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_observed = o.sum() - np.trace(o)
    expected = np.outer(n_c, n_c)
    disagree_expected = expected.sum() - np.trace(expected)
    if disagree_expected == 0:
        return float("nan")
    return float(1.0 - (n - 1) * disagree_observed / disagree_expected)


def confusion_counts(machine: Sequence, human: Sequence) -> dict[str, int]:
    """2x2 counts of binary machine vs human labels."""
    m, h = np.asarray(machine).astype(bool), np.asarray(human).astype(bool)
    return {
        "both": int(np.sum(m & h)),
        "machine_only": int(np.sum(m & ~h)),
        "human_only": int(np.sum(~m & h)),
        "neither": int(np.sum(~m & ~h)),
    }


# -- the report ----------------------------------------------------------------
@dataclass
class AgreementReport:
    """Per-code agreement (machine vs resolved human, humans among themselves) and confusion counts."""

    codebook_version: str
    per_code: pd.DataFrame
    confusion: pd.DataFrame
    items_annotated: int
    unresolved: int

    def to_json(self) -> dict:
        return {
            "codebook_version": self.codebook_version,
            "items_annotated": self.items_annotated,
            "unresolved_disagreements": self.unresolved,
            "per_code": json_records(self.per_code),
            "confusion": json_records(self.confusion),
        }


PER_CODE_COLUMNS = [
    "code",
    "n",
    "kappa",
    "kappa_low",
    "kappa_high",
    "percent_agreement",
    "precision",
    "recall",
    "machine_rate",
    "human_rate",
    "human_alpha",
    "human_percent_agreement",
    "n_double_coded",
    "side_agreement",
    "polarity_agreement",
]


def attribute_agreement(
    machine_codes: pd.DataFrame, matrix: pd.DataFrame, code: str
) -> tuple[float, float]:
    """Share of human decisions (code present, side/polarity given) matching the machine's side and polarity."""
    if machine_codes.empty or matrix.empty:
        return float("nan"), float("nan")
    human = matrix[(matrix["code"] == code) & (matrix["present"] == 1)]
    machine = machine_codes[machine_codes["code"] == code][["feedback_id", "side", "polarity"]]
    both = human.merge(machine, on="feedback_id", suffixes=("_human", "_machine"))
    sides = both[both["side_human"].notna()]
    polarities = both[both["polarity_human"].notna()]
    side = (
        float((sides["side_human"] == sides["side_machine"]).mean()) if len(sides) else float("nan")
    )
    polarity = (
        float((polarities["polarity_human"] == polarities["polarity_machine"]).mean())
        if len(polarities)
        else float("nan")
    )
    return side, polarity


def agreement_report(
    store: Store, codebook: Codebook, *, n_boot: int = 1000, seed: int = 0
) -> AgreementReport:
    """Agreement of the machine with the resolved human labels, and of humans with each other,
    per code, from one read of the coding stage's labels."""
    snapshot = persist.read_coding_snapshot(
        store, codebook.version_key, codebook.code_names, with_codes=True
    )
    return agreement_from(snapshot, codebook.code_names, n_boot=n_boot, seed=seed)


def agreement_from(
    snapshot: persist.CodingSnapshot,
    code_names: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> AgreementReport:
    """`agreement_report` computed from a snapshot read with its machine codes (no store)."""
    matrix = decisions_matrix(snapshot.annotations)
    labels = resolve_labels(matrix, snapshot.adjudications)
    items = snapshot.items.set_index("feedback_id")
    training_only = persist.training_only(snapshot.assignments)
    if training_only and len(labels):  # chosen for being hard: they would bias kappa down
        labels = labels[~labels["feedback_id"].isin(training_only)]
    rows, confusion = [], []
    machine_codes = snapshot.codes
    for name in code_names:
        resolved = (
            labels[(labels["code"] == name) & labels["present"].notna()] if len(labels) else labels
        )
        resolved = (
            resolved[resolved["feedback_id"].isin(items.index)] if len(resolved) else resolved
        )
        human = (
            resolved["present"].astype(int).to_numpy() if len(resolved) else np.array([], dtype=int)
        )
        machine = (
            items.loc[resolved["feedback_id"], name].to_numpy()
            if len(resolved)
            else np.array([], dtype=int)
        )
        low, high = bootstrap_kappa_ci(machine, human, n_boot=n_boot, seed=seed)
        precision, recall = precision_recall(machine, human)
        per_item = (
            matrix[matrix["code"] == name].groupby("feedback_id")["present"].agg(list)
            if len(matrix)
            else pd.Series(dtype=object)
        )
        units = [v for v in per_item if len(v) >= 2]
        side_agreement, polarity_agreement = attribute_agreement(machine_codes, matrix, name)
        rows.append(
            {
                "code": name,
                "n": int(len(human)),
                "kappa": cohen_kappa(machine, human),
                "kappa_low": low,
                "kappa_high": high,
                "percent_agreement": percent_agreement(machine, human),
                "precision": precision,
                "recall": recall,
                "machine_rate": float(np.mean(machine)) if len(machine) else float("nan"),
                "human_rate": float(np.mean(human)) if len(human) else float("nan"),
                "human_alpha": krippendorff_alpha_nominal(units),
                "human_percent_agreement": float(np.mean([len(set(u)) == 1 for u in units]))
                if units
                else float("nan"),
                "n_double_coded": len(units),
                "side_agreement": side_agreement,
                "polarity_agreement": polarity_agreement,
            }
        )
        for key, count in confusion_counts(machine, human).items():
            confusion.append(
                {
                    "code": name,
                    "cell": key,
                    "machine": int(key in ("both", "machine_only")),
                    "human": int(key in ("both", "human_only")),
                    "count": count,
                }
            )
    annotated = int(labels["feedback_id"].nunique()) if len(labels) else 0
    unresolved = int((labels["status"] == "disagreement").sum()) if len(labels) else 0
    return AgreementReport(
        snapshot.version,
        pd.DataFrame(rows, columns=PER_CODE_COLUMNS),
        pd.DataFrame(confusion),
        annotated,
        unresolved,
    )


# -- two labelers on the same items ------------------------------------------------------
LABELER_AGREEMENT_COLUMNS = [
    "code",
    "n",
    "kappa",
    "kappa_low",
    "kappa_high",
    "percent_agreement",
    "rate_stored",
    "rate_other",
]


def labeler_agreement(
    stored: pd.DataFrame,
    other: pd.DataFrame,
    code_names: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per code: Cohen's kappa (bootstrap CI) between two labelers' 0/1 codes on the same items.

    `stored` and `other` have a `feedback_id` column and one 0/1 column per code; only items in
    both count.
    """
    both = stored.merge(other, on="feedback_id", suffixes=("_stored", "_other"))
    rows = []
    for code in code_names:
        a = both[f"{code}_stored"].astype(int).to_numpy()
        b = both[f"{code}_other"].astype(int).to_numpy()
        low, high = bootstrap_kappa_ci(a, b, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "code": code,
                "n": len(a),
                "kappa": cohen_kappa(a, b),
                "kappa_low": low,
                "kappa_high": high,
                "percent_agreement": percent_agreement(a, b),
                "rate_stored": float(a.mean()) if len(a) else float("nan"),
                "rate_other": float(b.mean()) if len(b) else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=LABELER_AGREEMENT_COLUMNS)


def code_with_labeler(
    labeler, codebook: Codebook, items: pd.DataFrame, batch_size: int = 16
) -> pd.DataFrame:
    """Code `items` (feedback_id, text) with `labeler` in memory (nothing stored): 0/1 per code."""
    from coding.coder import build_item

    definitions = codebook.label_definitions()
    rows = []
    texts = items["text"].astype(str).tolist()
    ids = items["feedback_id"].astype(str).tolist()
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        results = labeler.assign_labels(batch, definitions)
        for fid, text, result in zip(ids[start:], batch, results, strict=False):
            item = build_item(fid, text, None, [result])
            present = {c.code for c in item.codes}
            rows.append({"feedback_id": fid, **{c: int(c in present) for c in codebook.code_names}})
    return pd.DataFrame(rows, columns=["feedback_id", *codebook.code_names])


CONFUSION_CELLS = ["both", "machine_only", "human_only", "neither"]


def confusion_table(confusion: pd.DataFrame) -> pd.DataFrame:
    """The confusion counts wide, one row per code: both say present, machine only, people
    only, both say absent (the Agreement page and `arenalens agreement`)."""
    if confusion.empty:
        return pd.DataFrame(columns=["code", *CONFUSION_CELLS])
    wide = (
        confusion.pivot(index="code", columns="cell", values="count")
        .reindex(columns=CONFUSION_CELLS)
        .reset_index()
    )
    wide.columns.name = None
    return wide


@dataclass
class LabelerComparison:
    """The stored machine codes of some items against another labeler's codes of them, per code."""

    codebook_version: str
    stored: str  # the labeler(s) that made the stored codes
    other: str
    items: int
    per_code: pd.DataFrame  # LABELER_AGREEMENT_COLUMNS


def coded_items_sample(store: Store, codebook: Codebook, n_items: int, seed: int) -> pd.DataFrame:
    """A random `n_items` of the items coded under `codebook` (all, when fewer), with their
    stored codes and texts (`persist.machine_items_frame`)."""
    items = persist.coded_items_frame(store, codebook)
    if n_items < 2:
        raise CodingError(f"--items must be at least 2, got {n_items}")
    return items.sample(min(n_items, len(items)), random_state=seed)


def compare_with_labeler(
    items: pd.DataFrame, codebook: Codebook, other, *, n_boot: int = 1000, seed: int = 0
) -> LabelerComparison:
    """Code `items` with `other` in memory and give its kappa with their stored codes per code."""
    names = codebook.code_names
    stored = ", ".join(sorted(set(items["labeler"].astype(str))))
    table = labeler_agreement(
        items[["feedback_id", *names]],
        code_with_labeler(other, codebook, items[["feedback_id", "text"]]),
        names,
        n_boot=n_boot,
        seed=seed,
    )
    return LabelerComparison(codebook.version_key, stored, other.name, len(items), table)
