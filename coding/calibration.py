"""Calibration of the zero-shot features: a per-code logistic model and its decision cuts.

Fitted on hand-coded feedback (the shipped `data/coder_calibration.json` on the dev part of the
HALIE set, `coding/devset/`); a code's threshold is the kappa-maximising cut of out-of-fold
probabilities. A code the calibration does not know (or whose prototypes or cues changed, see
`code_fingerprint`) gets the mean of the calibrated codes and is reported as uncalibrated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from arenalens.datafiles import read_json
from coding.codebook import Code
from coding.errors import CodingError
from coding.features import FEATURES, ZeroShotFeaturizer

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
