"""Per-label Cohen's kappa of the offline embedding labeler on hand-written feedback.

    python benchmarks/embedding_labeler_kappa.py [--codebook data/codebook.yaml]
        [--items tests/labeler/feedback_eval.yaml]

The items (40 feedback texts with gold loss reasons) were written independently of the
codebook's examples and of the sample arena's generator.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.metrics import cohen_kappa_score

from arenalens.embeddings import Embedder
from arenalens.labeler.base import LabelDefinition
from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.store import Store

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--codebook", type=Path, default=ROOT / "data" / "codebook.yaml")
    parser.add_argument(
        "--items", type=Path, default=ROOT / "tests" / "labeler" / "feedback_eval.yaml"
    )
    args = parser.parse_args()
    codes = yaml.safe_load(args.codebook.read_text())["codes"]
    labels = [
        LabelDefinition(
            c["name"],
            c["definition"],
            tuple(c.get("include") or ()),
            tuple(c.get("exclude") or ()),
            tuple(c.get("positive_examples") or ()),
            tuple(c.get("negative_examples") or ()),
        )
        for c in codes
    ]
    items = yaml.safe_load(args.items.read_text())
    store = Store.open(f"sqlite:///{Path(tempfile.mkdtemp()) / 'kappa.sqlite'}")
    labeler = EmbeddingLabeler(Embedder("default", store))
    start = time.perf_counter()
    results = labeler.assign_labels([item["text"] for item in items], labels)
    seconds = time.perf_counter() - start
    names = [label.name for label in labels]
    truth = np.array([[n in item["codes"] for n in names] for item in items])
    predicted = np.array([[any(a.label == n for a in r.labels) for n in names] for r in results])
    thresholds = {c.name: c.threshold for c in labeler.calibrate(labels)}
    kappas = []
    for j, name in enumerate(names):
        kappa = cohen_kappa_score(truth[:, j], predicted[:, j])
        kappas.append(kappa)
        print(f"{name:15s} kappa {kappa:5.2f}  threshold {thresholds[name]:.3f}")
    exact = (truth == predicted).all(axis=1).mean()
    print(
        f"mean kappa {np.mean(kappas):.3f}; exact label-set match {exact:.0%}; {len(items)} items"
    )
    print(f"time incl. model load and embedding: {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
