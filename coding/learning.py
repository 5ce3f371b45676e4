"""Learning from annotators: a per-code classifier that replaces the zero-shot decision where it is better.

For each code, a class-weighted logistic regression on the text's embedding (the cached
MiniLM vector) plus the zero-shot coder's own features (`coding.features.FEATURES`),
standardised. Repeated stratified k-fold cross-validation gives out-of-fold predictions
for the learned model; the zero-shot decision is scored on the same items. The learned
decision replaces the zero-shot one for a code only when its cross-validated kappa is higher;
otherwise the code keeps zero-shot, and the report says why. Pure: no store access here
(`coding.persist` saves and loads `LearnedModel`s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from arenalens.store import Store
from coding.codebook import Codebook
from coding.errors import CodingError
from coding.evaluation import code_metrics
from coding.json_values import json_value
from coding.zeroshot import CalibratedCoder

if TYPE_CHECKING:
    from arenalens.embeddings import Embedder
    from coding.fewshot import FewShotExamples

MIN_LABELS = 20  # labelled items before anything is trained
MIN_CLASS = 5  # items with, and without, a code before that code is trained


class LearningError(CodingError):
    """Too few or unusable labels to learn from (nothing is written)."""


@dataclass
class LearnedModel:
    """A fitted per-code classifier, in plain numbers (stored as JSON, no pickles)."""

    code: str
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float = 0.5
    uncertain_floor: float = 0.2

    def probability(self, vectors: np.ndarray, zero_shot: np.ndarray) -> np.ndarray:
        x = np.hstack([np.asarray(vectors, float), np.asarray(zero_shot, float)])
        z = ((x - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        return 1.0 / (1.0 + np.exp(-(z + self.intercept)))


@dataclass
class CodeLearning:
    """What learning did for one code: the decision used, why, and both CV scores."""

    code: str
    decision: str  # learned | zero-shot
    reason: str
    labels: int
    positives: int
    learned: dict[str, float] = field(default_factory=dict)  # CV metrics of the classifier
    zero_shot: dict[str, float] = field(default_factory=dict)  # same items, zero-shot decision
    model: LearnedModel | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["model"] = asdict(self.model) if self.model else None
        return data


def _fit(x: np.ndarray, y: np.ndarray, code: str, c: float, seed: int) -> LearnedModel:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed)
    model.fit((x - mean) / scale, y)
    return LearnedModel(
        code=code,
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
        coef=[float(v) for v in model.coef_[0]],
        intercept=float(model.intercept_[0]),
    )


def learn_code(
    code: str,
    vectors: np.ndarray,
    zero_shot_features: np.ndarray,
    zero_shot_present: np.ndarray,
    labels: np.ndarray,
    *,
    folds: int = 5,
    repeats: int = 3,
    c: float = 0.1,
    seed: int = 0,
) -> CodeLearning:
    """Cross-validate a classifier for one code against the zero-shot decision; fit it on all labels."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels, int)
    positives, n = int(y.sum()), len(y)
    zs = code_metrics(y, np.asarray(zero_shot_present, int), seed=seed)
    if positives < MIN_CLASS or n - positives < MIN_CLASS:
        return CodeLearning(
            code,
            "zero-shot",
            f"too few labels: {positives} with and {n - positives} without the code, "
            f"need {MIN_CLASS} of each",
            n,
            positives,
            zero_shot=zs,
        )
    x = np.hstack([np.asarray(vectors, float), np.asarray(zero_shot_features, float)])
    k = min(folds, positives, n - positives)
    predictions = []
    for r in range(repeats):
        oof = np.zeros(n, int)
        for train, test in StratifiedKFold(k, shuffle=True, random_state=seed + r).split(x, y):
            model = _fit(x[train], y[train], code, c, seed)
            oof[test] = (
                model.probability(x[test, : vectors.shape[1]], x[test, vectors.shape[1] :]) >= 0.5
            )
        predictions.append(oof)
    # metrics of the pooled repeats: each item counted once per repeat
    learned = code_metrics(np.tile(y, repeats), np.concatenate(predictions), seed=seed)
    learned["n"] = n
    better = np.nan_to_num(learned["kappa"], nan=-1.0) > np.nan_to_num(zs["kappa"], nan=-1.0)
    decision = "learned" if better else "zero-shot"
    reason = (
        f"cross-validated kappa {learned['kappa']:.2f} vs zero-shot {zs['kappa']:.2f} "
        f"on the same {n} items"
    )
    model = _fit(x, y, code, c, seed) if better else None
    return CodeLearning(code, decision, reason, n, positives, learned, zs, model)


def learn_codes(
    code_names: Sequence[str],
    vectors: np.ndarray,
    zero_shot_features: Mapping[str, np.ndarray],
    zero_shot_present: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    *,
    seed: int = 0,
) -> list[CodeLearning]:
    """`learn_code` for every code; refuses (LearningError) with fewer than MIN_LABELS items."""
    n = len(vectors)
    if n < MIN_LABELS:
        raise LearningError(
            f"learning needs at least {MIN_LABELS} validated or adjudicated items, got {n}: "
            "annotate more (`arenalens annotate sample`) and retry"
        )
    missing = [c for c in code_names if c not in labels]
    if missing:
        raise LearningError(f"labels are missing for codes {missing}")
    return [
        learn_code(
            code,
            vectors,
            zero_shot_features[code],
            zero_shot_present[code],
            np.asarray(labels[code]),
            seed=seed,
        )
        for code in code_names
    ]


# -- orchestration (reads through the store, then the pure functions above) ----------------
def resolved_labels(human_labels: pd.DataFrame, code_names: Sequence[str]) -> pd.DataFrame:
    """Items whose every code has a resolved human label: one row per item, one 0/1 column per code."""
    if human_labels.empty:
        return pd.DataFrame(columns=["feedback_id", *code_names])
    done = human_labels[human_labels["status"] != "disagreement"].dropna(subset=["present"])
    wide = done.pivot_table(index="feedback_id", columns="code", values="present", aggfunc="last")
    wide = wide.reindex(columns=list(code_names)).dropna()
    return wide.astype(int).reset_index()


def human_resolved_labels(store: Store, codebook: Codebook) -> pd.DataFrame:
    """`resolved_labels` of the annotators' labels under `codebook`."""
    from coding.annotations import AnnotationQueue

    return resolved_labels(AnnotationQueue(store, codebook).human_labels(), codebook.code_names)


def with_texts(store: Store, labels: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The labelled items whose feedback is in the store, and their texts in the same order."""
    texts = store.feedback_frame().set_index("id")["text"].astype(str)
    labels = labels[labels["feedback_id"].isin(texts.index)]
    return labels, texts.loc[labels["feedback_id"]].tolist()


def human_examples(store: Store, embedder: Embedder, codebook: Codebook) -> FewShotExamples:
    """Resolved human labels (adjudicated, else consensus/single) with their texts, as few-shot
    examples for the LLM (`code --few-shot`)."""
    from coding.fewshot import FewShotExamples

    labels, texts = with_texts(store, human_resolved_labels(store, codebook))
    return FewShotExamples.build(
        embedder,
        texts,
        [[c for c in codebook.code_names if row[c]] for row in labels.to_dict("records")],
    )


@dataclass
class ZeroShotInputs:
    """What a learned classifier sees besides the labels, per text: its embedding, and per code
    the zero-shot features and whether the zero-shot decision is present."""

    vectors: np.ndarray
    features: dict[str, np.ndarray]
    present: dict[str, np.ndarray]


def zero_shot_inputs(coder: CalibratedCoder, texts: list[str]) -> ZeroShotInputs:
    """`ZeroShotInputs` of `texts` from the coder's calibration alone (its learned decisions,
    if any, left out: learning compares against the zero-shot decision)."""
    zero_shot = CalibratedCoder(coder.embedder, coder.codebook, coder.calibration)
    features = zero_shot.featurizer.transform(texts)
    scores = zero_shot.score_features(features)
    names = coder.codebook.code_names
    return ZeroShotInputs(
        zero_shot.featurizer.vectors(features),
        {c: zero_shot.featurizer.matrix(features, c) for c in names},
        {
            c: np.array(
                [any(s.code == c and s.decision == "present" for s in row) for row in scores]
            )
            for c in names
        },
    )


@dataclass
class LearningSummary:
    """What `arenalens code --learn` did: per code, the decision and both CV scores."""

    codebook_version: str
    labels: int
    codes: list[CodeLearning]
    run_id: int | None = None

    def table(self) -> pd.DataFrame:
        rows = []
        for r in self.codes:
            row = {"code": r.code, "decision": r.decision, "positives": r.positives}
            for prefix, metrics in (("learned", r.learned), ("zero_shot", r.zero_shot)):
                for key in ("f1", "f1_low", "f1_high", "kappa", "kappa_low", "kappa_high"):
                    row[f"{prefix}_{key}"] = metrics.get(key, float("nan"))
            row["reason"] = r.reason
            rows.append(row)
        return pd.DataFrame(rows)


def learn_from_annotations(
    store: Store, coder: CalibratedCoder, *, seed: int = 0
) -> LearningSummary:
    """Fit per-code classifiers on validated/adjudicated items and record which decision each code uses.

    Raises LearningError (nothing written) when there are too few labelled items.
    """
    from coding import persist

    codebook = coder.codebook
    names = codebook.code_names
    labels = human_resolved_labels(store, codebook)
    if len(labels) < MIN_LABELS:
        raise LearningError(
            f"learning needs at least {MIN_LABELS} validated or adjudicated items under "
            f"{codebook.version_key}, found {len(labels)}: annotate more and retry; nothing was written"
        )
    frame, item_texts = with_texts(store, labels)
    inputs = zero_shot_inputs(coder, item_texts)
    results = learn_codes(
        names,
        inputs.vectors,
        inputs.features,
        inputs.present,
        {c: frame[c].to_numpy() for c in names},
        seed=seed,
    )
    summary = LearningSummary(codebook.version_key, len(frame), results)
    config = {"codebook_version": codebook.version_key, "labels": len(frame), "seed": seed}
    with store.run(persist.STAGE, config, model=f"learn:{coder.name}") as run:
        summary.run_id = run.id
        rows = [
            {
                "code": r.code,
                "decision": r.decision,
                "labels": r.labels,
                "report": json_value({k: v for k, v in r.to_json().items() if k not in ("model",)}),
                "model": asdict(r.model) if r.model else None,
            }
            for r in results
        ]
        persist.register_codebook(store, codebook)
        run.on_publish(lambda conn: persist.save_learning(conn, codebook.version_key, rows, run.id))
        run.summary.update({"learning": json_value(summary.table().to_dict("records"))})
    return summary


def learned_overrides(store: Store, version: str) -> dict[str, LearnedModel]:
    """The learned classifiers the latest learning run chose for `version` (code -> model)."""
    from coding import persist

    frame = persist.learning_frame(store, version)
    if frame.empty:
        return {}
    return {
        row["code"]: LearnedModel(**row["model"])
        for row in frame.to_dict("records")
        if row["decision"] == "learned" and row["model"]
    }
