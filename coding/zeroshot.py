"""The default offline coder: per-code calibrated probabilities that abstain when unsure.

Each code gets five raw features for a text (`FEATURES`), from the codebook alone:

- `prototype_max`: highest cosine between a clause of the text and one of the code's
  prototypes (definition, include rules, positive examples), embedded with the shipped MiniLM;
- `prototype_top3`: highest mean cosine of a clause to its three nearest prototypes;
- `contrast`: `prototype_max` minus how much closer the clause is to a counter-example
  (negative examples) than to a prototype;
- `centroid`: cosine of the whole text to the mean of the prototypes;
- `cues`: how many of the code's `cues` (words and phrases real feedback uses for it) occur
  in the text, case-insensitive, at word boundaries, apostrophes optional.

A per-code logistic model turns them into a probability (Platt-style calibration fitted on
hand-coded feedback: the shipped `data/coder_calibration.json` was fitted on the dev part of
the HALIE set, `coding/devset/`). A code is **present** when its probability reaches the code's
threshold (the kappa-maximising cut of out-of-fold probabilities), **uncertain** when it lies in
`[min(0.2, threshold), threshold)` (at least a one-in-five chance
by the calibration, yet under the cut), else absent; uncertain codes are not positives, they send the
item to the front of the annotation queue. `other` is scored like any code (from its own
prototypes and cues: speed, ease of use, phrasing...), never given as a fallback.

A code the calibration does not know (a user's own codebook, or a code whose prototypes or
cues changed) uses the mean coefficients of the calibrated codes and the mean threshold, and is
reported as uncalibrated.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arenalens.datafiles import read_json
from arenalens.embeddings import Embedder
from arenalens.labeler.base import (
    AssignmentResult,
    GroupName,
    LabelAssignment,
    LabelDefinition,
    Labeler,
    LabelerError,
)
from arenalens.labeler.text import Span, clause_spans
from coding.codebook import Code, Codebook
from coding.errors import CodingError

FEATURES = ("prototype_max", "prototype_top3", "contrast", "centroid", "cues")
DECISIONS = ("present", "uncertain", "absent")
DEFAULT_CALIBRATION_PATH = Path(__file__).resolve().parents[1] / "data" / "coder_calibration.json"
UNCERTAIN_PROBABILITY = 0.2  # below its threshold, a code at least this likely is "uncertain"


def code_fingerprint(code: Code) -> str:
    """Hash of what the features of a code depend on (its prototypes, counter-examples, cues)."""
    payload = json.dumps(
        [
            code.definition,
            list(code.include),
            list(code.positive_examples),
            list(code.negative_examples),
            list(code.cues),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    """One regex matching any cue at word boundaries, case-insensitive, apostrophes optional."""
    parts = []
    for cue in sorted({c.strip().lower() for c in cues if c.strip()}, key=len, reverse=True):
        words = [re.escape(w) for w in re.split(r"\s+", cue.replace("'", "").replace("’", ""))]
        parts.append(r"[\s\-]+".join(w.replace(r"\-", r"[\s\-]?") for w in words))
    if not parts:
        return None
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


def _fold_apostrophes(text: str) -> tuple[str, list[int]]:
    """The text without apostrophes, and for each kept character its index in the original."""
    kept = [(i, ch) for i, ch in enumerate(text) if ch not in "'’"]
    return "".join(ch for _, ch in kept), [i for i, _ in kept]


def find_cues(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    """(start, end) in `text` of each cue match."""
    if pattern is None or not text:
        return []
    folded, index = _fold_apostrophes(text)
    return [(index[m.start()], index[m.end() - 1] + 1) for m in pattern.finditer(folded)]


@dataclass(frozen=True)
class TextFeatures:
    """Raw features of one text for every code, and the evidence span each code would quote."""

    values: dict[str, np.ndarray]  # code -> (len(FEATURES),)
    evidence: dict[str, str]  # code -> verbatim clause
    vector: np.ndarray | None = None  # the whole text's embedding (None for an empty text)


class ZeroShotFeaturizer:
    """Computes `FEATURES` for texts against a codebook (prototypes embedded once)."""

    def __init__(self, embedder: Embedder, codebook: Codebook):
        self.embedder = embedder
        self.codebook = codebook
        self._prototypes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._patterns = {c.name: cue_pattern(c.cues) for c in codebook.codes}

    def _code_vectors(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self._prototypes:
            return self._prototypes
        texts: list[str] = []
        for code in self.codebook.codes:
            texts += [code.definition, *code.include, *code.positive_examples]
            texts += list(code.negative_examples)
        unique = list(dict.fromkeys(t.strip() for t in texts if t.strip()))
        vectors = self.embedder.encode(unique, show_progress=False)
        row = {t: i for i, t in enumerate(unique)}
        dim = vectors.shape[1]
        for code in self.codebook.codes:
            positives = [
                t.strip() for t in (code.definition, *code.include, *code.positive_examples)
            ]
            negatives = [t.strip() for t in code.negative_examples]
            prototypes = vectors[[row[t] for t in positives if t]]
            counter = (
                vectors[[row[t] for t in negatives if t]]
                if negatives
                else np.zeros((0, dim), np.float32)
            )
            centroid = prototypes.mean(axis=0)
            centroid = centroid / (np.linalg.norm(centroid) or 1.0)
            self._prototypes[code.name] = (prototypes, counter, centroid)
        return self._prototypes

    def transform(self, texts: Sequence[str]) -> list[TextFeatures]:
        """Features and evidence per text (empty texts get zeros and no evidence)."""
        codes = self._code_vectors()
        spans = [clause_spans(t) if t and t.strip() else [] for t in texts]
        unique = list(dict.fromkeys([s.text for ss in spans for s in ss] + list(texts)))
        unique = [u for u in unique if u and u.strip()]
        vectors = self.embedder.encode(unique, show_progress=False) if unique else np.zeros((0, 1))
        row = {t: i for i, t in enumerate(unique)}
        out = []
        for text, text_spans in zip(texts, spans, strict=True):
            values: dict[str, np.ndarray] = {}
            evidence: dict[str, str] = {}
            if not text_spans:
                for code in self.codebook.codes:
                    values[code.name] = np.zeros(len(FEATURES))
                out.append(TextFeatures(values, evidence, None))
                continue
            span_vectors = vectors[[row[s.text] for s in text_spans]]
            text_vector = vectors[row[text]]
            for code in self.codebook.codes:
                prototypes, counter, centroid = codes[code.name]
                sims = span_vectors @ prototypes.T  # (spans, prototypes)
                best = sims.max(axis=1)
                k = min(3, sims.shape[1])
                top = np.sort(sims, axis=1)[:, -k:].mean(axis=1)
                against = (
                    (span_vectors @ counter.T).max(axis=1)
                    if len(counter)
                    else np.full(len(best), -1.0)
                )
                contrast = best - np.maximum(0.0, against - best)
                cues = find_cues(text, self._patterns[code.name])
                values[code.name] = np.array(
                    [
                        float(best.max()),
                        float(top.max()),
                        float(contrast.max()),
                        float(text_vector @ centroid),
                        float(len(cues)),
                    ]
                )
                evidence[code.name] = _evidence(text, text_spans, cues, contrast)
            out.append(TextFeatures(values, evidence, text_vector))
        return out

    def vectors(self, features: Sequence[TextFeatures]) -> np.ndarray:
        """(n, dim) text embeddings (zeros for empty texts)."""
        dim = next((f.vector.shape[0] for f in features if f.vector is not None), 1)
        return (
            np.stack([f.vector if f.vector is not None else np.zeros(dim) for f in features])
            if features
            else np.zeros((0, dim))
        )

    def matrix(self, features: Sequence[TextFeatures], code: str) -> np.ndarray:
        """(n, len(FEATURES)) feature matrix of one code."""
        if not features:
            return np.zeros((0, len(FEATURES)))
        return np.stack([f.values[code] for f in features])


def _evidence(
    text: str, spans: Sequence[Span], cues: Sequence[tuple[int, int]], scores: np.ndarray
) -> str:
    """The shortest clause containing the first cue, else the clause nearest the code."""
    if cues:
        start, end = cues[0]
        holding = [s for s in spans if s.start <= start and end <= s.end]
        if holding:
            return min(holding, key=lambda s: s.end - s.start).text
        return text[start:end]
    return spans[int(np.argmax(scores))].text


@dataclass
class CodeCalibration:
    """Logistic calibration of one code's features to a probability, and its decision cuts."""

    code: str
    fingerprint: str
    coef: list[float]
    intercept: float
    threshold: float
    uncertain_floor: float
    n: int = 0
    positives: int = 0

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, float) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Calibration:
    """Per-code calibrations for one embedding model, with what they were fitted on."""

    model_id: str
    fitted_on: str
    codes: dict[str, CodeCalibration] = field(default_factory=dict)
    features: tuple[str, ...] = FEATURES

    def to_json(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "fitted_on": self.fitted_on,
            "features": list(self.features),
            "codes": {k: asdict(v) for k, v in self.codes.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "<calibration>") -> Calibration:
        try:
            if list(data["features"]) != list(FEATURES):
                raise CodingError(
                    f"{source}: calibrated for features {data['features']}, expected {list(FEATURES)}"
                )
            codes = {k: CodeCalibration(**v) for k, v in data["codes"].items()}
            return cls(str(data["model_id"]), str(data["fitted_on"]), codes)
        except (KeyError, TypeError) as exc:
            raise CodingError(f"{source}: not a coder calibration file ({exc})") from exc

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_CALIBRATION_PATH) -> Calibration:
        data = read_json(path, CodingError, "coder calibration file")
        return cls.from_json(data, str(path))

    def for_code(self, code: Code) -> tuple[CodeCalibration, bool]:
        """The code's calibration and whether it was fitted for exactly this code."""
        own = self.codes.get(code.name)
        if own is not None and own.fingerprint == code_fingerprint(code):
            return own, True
        fitted = list(self.codes.values())
        if not fitted:
            raise CodingError("the coder calibration has no calibrated codes")
        threshold = float(np.mean([c.threshold for c in fitted]))
        return (
            CodeCalibration(
                code=code.name,
                fingerprint=code_fingerprint(code),
                coef=list(np.mean([c.coef for c in fitted], axis=0)),
                intercept=float(np.mean([c.intercept for c in fitted])),
                threshold=threshold,
                uncertain_floor=min(UNCERTAIN_PROBABILITY, threshold),
            ),
            False,
        )


def best_kappa_threshold(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """The cut on probabilities that maximises Cohen's kappa (mid-way between neighbouring scores).

    Kappa rather than F1: for a code most texts have (helpfulness on HALIE), the F1-best cut
    gives the code to every text, which is right on F1 and useless to an analyst (kappa 0).
    """
    from coding.agreement import cohen_kappa

    p, y = np.asarray(probabilities, float), np.asarray(truth, int)
    if y.sum() == 0 or y.sum() == len(y):
        return 0.5
    best, cut = -2.0, 0.5
    values = np.unique(p)
    for i, value in enumerate(values):
        kappa = cohen_kappa(y, (p >= value).astype(int))
        if not np.isnan(kappa) and kappa > best + 1e-12:
            lower = values[i - 1] if i else value
            best, cut = kappa, float((value + lower) / 2)
    return cut


def fit_code_calibration(
    x: np.ndarray,
    y: np.ndarray,
    code: Code,
    *,
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
) -> CodeCalibration:
    """Fit one code's logistic calibration; its threshold from out-of-fold probabilities."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = np.asarray(y, int)
    positives = int(y.sum())
    if positives < 2 or positives > len(y) - 2:
        raise CodingError(
            f"code {code.name!r}: calibration needs at least 2 items with and 2 without it, "
            f"got {positives} of {len(y)}"
        )
    model = LogisticRegression(C=1.0, max_iter=1000)
    k = min(folds, positives, len(y) - positives)
    cuts = []
    for r in range(repeats):
        cv = StratifiedKFold(k, shuffle=True, random_state=seed + r)
        oof = cross_val_predict(model, x, y, cv=cv, method="predict_proba")[:, 1]
        cuts.append(best_kappa_threshold(oof, y))
    model.fit(x, y)
    threshold = float(np.median(cuts))
    return CodeCalibration(
        code=code.name,
        fingerprint=code_fingerprint(code),
        coef=[float(c) for c in model.coef_[0]],
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        uncertain_floor=min(UNCERTAIN_PROBABILITY, threshold),
        n=len(y),
        positives=positives,
    )


@dataclass(frozen=True)
class CodeScore:
    """One code's calibrated probability for one text and the decision it leads to."""

    code: str
    probability: float
    decision: str  # present | uncertain | absent
    evidence: str
    source: str = "zero-shot"


class CalibratedCoder(Labeler):
    """Calibrated zero-shot coder (the offline default): present / uncertain / absent per code."""

    def __init__(
        self,
        embedder: Embedder,
        codebook: Codebook,
        calibration: Calibration | None = None,
    ):
        self.embedder = embedder
        self.codebook = codebook
        self.calibration = calibration or Calibration.load()
        self.featurizer = ZeroShotFeaturizer(embedder, codebook)
        self.name = f"calibrated:{embedder.model_id} (not an LLM)"
        self.code_calibrations: dict[str, CodeCalibration] = {}
        self.uncalibrated: list[str] = []
        for code in codebook.codes:
            calibration_, fitted = self.calibration.for_code(code)
            self.code_calibrations[code.name] = calibration_
            if not fitted:
                self.uncalibrated.append(code.name)
        # learned per-code decisions (`coding.learning`) replace zero-shot ones where set
        self.overrides: dict[str, Any] = {}

    def score(self, texts: Sequence[str]) -> list[list[CodeScore]]:
        """Every code's probability and decision for every text."""
        features = self.featurizer.transform(list(texts))
        vectors = self.featurizer.vectors(features) if self.overrides else None
        out: list[list[CodeScore]] = [[] for _ in texts]
        for code in self.codebook.codes:
            x = self.featurizer.matrix(features, code.name)
            override = self.overrides.get(code.name)
            if override is not None:
                probabilities = override.probability(vectors, x)
                cal, source = override, "learned"
            else:
                cal = self.code_calibrations[code.name]
                probabilities = cal.probability(x) if len(x) else np.zeros(0)
                source = "zero-shot"
            for i, p in enumerate(probabilities):
                empty = not features[i].evidence
                decision = (
                    "absent"
                    if empty
                    else "present"
                    if p >= cal.threshold
                    else "uncertain"
                    if p >= cal.uncertain_floor
                    else "absent"
                )
                out[i].append(
                    CodeScore(
                        code.name,
                        round(float(p), 4),
                        decision,
                        features[i].evidence.get(code.name, ""),
                        source,
                    )
                )
        return out

    def assign_labels(
        self,
        texts: Sequence[str],
        label_set: Sequence[LabelDefinition],
        *,
        context: Sequence[str] | None = None,
        instructions: str = "",
        attribute_choices: dict[str, Sequence[str]] | None = None,
    ) -> list[AssignmentResult]:
        """Present codes with their clause as evidence and the calibrated probability as confidence."""
        wanted = {label.name for label in label_set}
        unknown = wanted - set(self.codebook.code_names)
        if unknown:
            raise LabelerError(
                f"calibrated coder was built for codebook {self.codebook.version_key}; "
                f"labels {sorted(unknown)} are not in it"
            )
        return self.results_from_scores(self.score(texts), wanted)

    def results_from_scores(
        self, scored: Sequence[Sequence[CodeScore]], wanted: set[str] | None = None
    ) -> list[AssignmentResult]:
        """The present codes of scored texts as labeler results."""
        wanted = set(self.codebook.code_names) if wanted is None else wanted
        results = []
        for scores in scored:
            labels = tuple(
                LabelAssignment(
                    label=s.code,
                    evidence=s.evidence,
                    confidence=s.probability,
                    rationale=f"calibrated probability {s.probability:.2f} ({s.source})",
                )
                for s in scores
                if s.decision == "present" and s.code in wanted
            )
            results.append(AssignmentResult(labels=labels, labeler=self.name))
        return results

    def decision_sources(self) -> dict[str, str]:
        """Which decision each code uses: learned, zero-shot, or zero-shot (uncalibrated)."""
        return {
            code: "learned"
            if code in self.overrides
            else "zero-shot (uncalibrated)"
            if code in self.uncalibrated
            else "zero-shot"
            for code in self.codebook.code_names
        }

    def name_group(
        self, in_group: Sequence[str], out_group: Sequence[str], *, instructions: str = ""
    ) -> GroupName:
        """Names come from the offline embedding labeler (c-TF-IDF terms and central texts)."""
        from arenalens.labeler.embedding import EmbeddingLabeler

        return EmbeddingLabeler(self.embedder).name_group(
            in_group, out_group, instructions=instructions
        )


def fit_calibration(
    featurizer: ZeroShotFeaturizer,
    texts: Sequence[str],
    labels: Mapping[str, Sequence[int]],
    fitted_on: str,
    *,
    seed: int = 0,
) -> tuple[Calibration, list[str]]:
    """Calibrate every code that has enough positives and negatives; returns the codes skipped."""
    features = featurizer.transform(list(texts))
    calibration = Calibration(featurizer.embedder.model_id, fitted_on)
    skipped = []
    for code in featurizer.codebook.codes:
        if code.name not in labels:
            skipped.append(code.name)
            continue
        y = np.asarray(labels[code.name], int)
        if y.sum() < 2 or y.sum() > len(y) - 2:
            skipped.append(code.name)
            continue
        calibration.codes[code.name] = fit_code_calibration(
            featurizer.matrix(features, code.name), y, code, seed=seed
        )
    return calibration, skipped
