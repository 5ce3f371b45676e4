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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from arenalens.embeddings import Embedder
from arenalens.labeler.base import (
    AssignmentResult,
    GroupName,
    LabelAssignment,
    LabelDefinition,
    Labeler,
    LabelerError,
)
from coding.calibration import (
    DEFAULT_CALIBRATION_PATH,
    UNCERTAIN_PROBABILITY,
    Calibration,
    CodeCalibration,
    best_kappa_threshold,
    code_fingerprint,
    fit_calibration,
    fit_code_calibration,
)
from coding.codebook import Codebook
from coding.features import (
    FEATURES,
    TextFeatures,
    ZeroShotFeaturizer,
    cue_pattern,
    find_cues,
)

# the coder lives here; its features and calibration in their own modules, importable from here too
__all__ = [
    "DECISIONS",
    "DEFAULT_CALIBRATION_PATH",
    "FEATURES",
    "UNCERTAIN_PROBABILITY",
    "CalibratedCoder",
    "Calibration",
    "CodeCalibration",
    "CodeScore",
    "TextFeatures",
    "ZeroShotFeaturizer",
    "best_kappa_threshold",
    "code_fingerprint",
    "cue_pattern",
    "find_cues",
    "fit_calibration",
    "fit_code_calibration",
]

DECISIONS = ("present", "uncertain", "absent")


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
        return self.score_features(self.featurizer.transform(list(texts)))

    def score_features(self, features: Sequence[TextFeatures]) -> list[list[CodeScore]]:
        """`score` of texts whose features `self.featurizer` already computed."""
        vectors = self.featurizer.vectors(features) if self.overrides else None
        out: list[list[CodeScore]] = [[] for _ in features]
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
