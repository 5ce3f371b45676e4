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


def featurise(frame: pd.DataFrame):
    """Zero-shot features, present decisions and text vectors of the frame's texts."""
    coder = CalibratedCoder(Embedder(), load_codebook())
    features = coder.featurizer.transform(frame["text"].tolist())
    scores = coder.score(frame["text"].tolist())
    names = coder.codebook.code_names
    x = {c: coder.featurizer.matrix(features, c) for c in names}
    present = {
        c: np.array([any(s.code == c and s.decision == "present" for s in row) for row in scores])
        for c in names
    }
    return names, coder.featurizer.vectors(features), x, present


def predict(result, vectors, x, present) -> np.ndarray:
    if result.decision == "learned":
        return result.model.probability(vectors, x) >= result.model.threshold
    return present


def learning_curve(sizes: tuple[int, ...] = (50, 100, 139), draws: int = 5) -> None:
    """Train on n dev labels, evaluate on held-out; 200 labels by 6-fold CV over dev + held-out."""
    from coding.learning import learn_codes

    frame = labelled("all")
    names, vectors, x, present = featurise(frame)
    dev = np.flatnonzero(frame["split"].to_numpy() == "dev")
    held = np.flatnonzero(frame["split"].to_numpy() == "held_out")
    truth = {c: frame[c].to_numpy() for c in names}

    def sub(idx):
        return vectors[idx], {c: x[c][idx] for c in names}, {c: present[c][idx] for c in names}

    zs = metrics_table(frame.iloc[held], {c: present[c][held] for c in REPORTED})
    show(f"zero-shot on held-out ({len(held)} items)", zs)
    for n in sizes:
        macros, first = [], None
        for draw in range(draws):
            rng = np.random.default_rng(draw)
            train = rng.choice(dev, size=min(n, len(dev)), replace=False)
            v, xs, ps = sub(train)
            results = {
                r.code: r
                for r in learn_codes(
                    names, v, xs, ps, {c: truth[c][train] for c in names}, seed=draw
                )
            }
            hv, hx, hp = sub(held)
            predicted = {c: predict(results[c], hv, hx[c], hp[c]) for c in REPORTED}
            table = metrics_table(frame.iloc[held], predicted)
            table["decision"] = [results[c].decision for c in REPORTED]
            macros.append(macro(table))
            first = first if first is not None else table
            if n == len(dev):
                break  # all dev labels: one draw is all draws
        show(f"after {n} dev labels, evaluated on held-out (draw 0 of {len(macros)})", first)
        print("decisions:", dict(zip(first["code"], first["decision"], strict=True)))
        print(
            f"macro F1 over {len(macros)} draws: mean {np.mean(macros):.2f} (min {min(macros):.2f}, max {max(macros):.2f})"
        )
    # ~200 labels: 6-fold cross-validation over dev + held-out (held-out items train other folds)
    from sklearn.model_selection import KFold

    predicted = {c: np.zeros(len(frame), bool) for c in REPORTED}
    used = {c: [] for c in REPORTED}
    for fold, (train, test) in enumerate(KFold(6, shuffle=True, random_state=0).split(frame)):
        v, xs, ps = sub(train)
        results = {
            r.code: r
            for r in learn_codes(names, v, xs, ps, {c: truth[c][train] for c in names}, seed=fold)
        }
        tv, tx, tp = sub(test)
        for c in REPORTED:
            predicted[c][test] = predict(results[c], tv, tx[c], tp[c])
            used[c].append(results[c].decision)
    table = metrics_table(frame, predicted)
    show(
        f"after ~{len(frame) * 5 // 6} labels: 6-fold CV over dev + held-out ({len(frame)} items; not a held-out figure)",
        table,
    )
    print("learned in folds:", {c: sum(d == "learned" for d in used[c]) for c in REPORTED})


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
    parser.add_argument(
        "--learning-curve", action="store_true", help="learned decisions after n labels"
    )
    parser.add_argument("--fit", action="store_true", help="refit the shipped calibration on dev")
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args()
    if args.fit:
        fit_on_dev()
        return
    if args.learning_curve:
        learning_curve()
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
