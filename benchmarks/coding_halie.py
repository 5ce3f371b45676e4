"""Coding quality on real feedback: the hand-coded HALIE set (coding/devset), per code.

    python benchmarks/coding_halie.py --fit                      # refit data/coder_calibration.json on dev
    python benchmarks/coding_halie.py --part held_out            # calibrated zero-shot coder
    python benchmarks/coding_halie.py --part held_out --baseline # the previous embedding labeler
    python benchmarks/coding_halie.py --learning-curve           # learned decisions after n labels

Texts are read from ../shared/data/halie/survey_feedback.jsonl (never copied into the repo).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from arenalens.embeddings import Embedder
from coding.codebook import load_codebook
from coding.devset import load_codes, load_texts
from coding.evaluation import code_metrics
from coding.zeroshot import (
    DEFAULT_CALIBRATION_PATH,
    CalibratedCoder,
    ZeroShotFeaturizer,
    fit_calibration,
)

ROOT = Path(__file__).resolve().parents[1]
HALIE = Path(os.environ.get("ARENALENS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "halie"
MAIN_CODES = ("helpfulness", "detail", "accuracy", "language")
REPORTED = (*MAIN_CODES, "other")


def labelled(part: str) -> pd.DataFrame:
    codes = load_codes()
    if part != "all":
        codes = codes[codes["split"] == part]
    return codes.merge(load_texts(HALIE / "survey_feedback.jsonl"), on="id", how="left")


def metrics_table(frame: pd.DataFrame, predicted: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = []
    for code in REPORTED:
        rows.append({"code": code, **code_metrics(frame[code].to_numpy(), predicted[code])})
    table = pd.DataFrame(rows)
    return table


def macro(table: pd.DataFrame) -> float:
    return float(table.set_index("code").loc[list(MAIN_CODES), "f1"].mean())


def zero_shot(frame: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    coder = CalibratedCoder(Embedder(), load_codebook())
    scores = coder.score(frame["text"].tolist())
    present = {
        c: np.array([any(s.code == c and s.decision == "present" for s in row) for row in scores])
        for c in REPORTED
    }
    uncertain = {
        c: np.array([any(s.code == c and s.decision == "uncertain" for s in row) for row in scores])
        for c in REPORTED
    }
    return present, uncertain


def baseline(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    from arenalens.labeler.embedding import EmbeddingLabeler

    codebook = load_codebook()
    results = EmbeddingLabeler(Embedder()).assign_labels(
        frame["text"].tolist(), codebook.label_definitions()
    )
    return {c: np.array([any(a.label == c for a in r.labels) for r in results]) for c in REPORTED}


def fit_on_dev() -> None:
    """Fit the shipped calibration on the dev part only (the held-out part is never used)."""
    frame = labelled("dev")
    codebook = load_codebook()
    calibration, skipped = fit_calibration(
        ZeroShotFeaturizer(Embedder(), codebook),
        frame["text"].tolist(),
        {c: frame[c].tolist() for c in codebook.code_names},
        f"HALIE dev part of coding/devset ({len(frame)} items, hand-coded)",
    )
    calibration.save(DEFAULT_CALIBRATION_PATH)
    print(f"wrote {DEFAULT_CALIBRATION_PATH}; not calibrated (too few dev positives): {skipped}")


def show(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}: macro F1 over {', '.join(MAIN_CODES)} = {macro(table):.2f}")
    cols = [
        "code",
        "n",
        "positives",
        "predicted",
        "f1",
        "f1_low",
        "f1_high",
        "kappa",
        "kappa_low",
        "kappa_high",
    ]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.2f}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="held_out", choices=["dev", "held_out", "all"])
    parser.add_argument("--baseline", action="store_true", help="the previous embedding labeler")
    parser.add_argument("--fit", action="store_true", help="refit the shipped calibration on dev")
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args()
    if args.fit:
        fit_on_dev()
        return
    frame = labelled(args.part)
    if args.baseline:
        table = metrics_table(frame, baseline(frame))
        show(f"previous embedding labeler on {args.part} ({len(frame)} items)", table)
    else:
        present, uncertain = zero_shot(frame)
        table = metrics_table(frame, present)
        table["uncertain"] = [int(uncertain[c].sum()) for c in REPORTED]
        show(f"calibrated zero-shot coder on {args.part} ({len(frame)} items)", table)
        print(
            "uncertain (not counted as present):",
            dict(zip(REPORTED, table["uncertain"], strict=True)),
        )
    if args.as_json:
        print(json.dumps({"macro_f1": macro(table), "codes": table.to_dict("records")}))


if __name__ == "__main__":
    main()
