"""Machine codes against a known truth (the sample arena's `gold_codes`), per code."""

from __future__ import annotations

import numpy as np
import pandas as pd

from arenalens.store import Store
from coding import persist
from coding.agreement import cohen_kappa, percent_agreement, precision_recall
from coding.codebook import Codebook

GOLD_COLUMNS = [
    "code",
    "n",
    "kappa",
    "percent_agreement",
    "precision",
    "recall",
    "machine_rate",
    "gold_rate",
    "side_accuracy",
    "polarity_accuracy",
]


def gold_agreement(store: Store, codebook: Codebook, gold_key: str = "gold_codes") -> pd.DataFrame:
    """Per code: kappa, agreement, precision/recall vs `extra[gold_key]`; side/polarity matching any intended target."""
    version = codebook.version_key
    items = persist.coded_items_frame(store, codebook)
    has_gold = items["extra"].map(
        lambda e: isinstance(e, dict) and isinstance(e.get(gold_key), list)
    )
    items = items[has_gold]
    codes = persist.codes_frame(store, version).set_index(["feedback_id", "code"])
    rows = []
    for name in codebook.code_names:
        gold = items["extra"].map(lambda e, n=name: int(n in e[gold_key])).to_numpy()
        machine = items[name].to_numpy()
        precision, recall = precision_recall(machine, gold)
        side_hits, polarity_hits = [], []
        for record in items[(items[name] == 1) & (gold == 1)].to_dict("records"):
            targets = _gold_targets(record["extra"], name)
            if not targets:
                continue
            row = codes.loc[(record["feedback_id"], name)]
            side_hits.append(row["side"] in {t.get("about") for t in targets})
            polarity_hits.append(row["polarity"] in {t.get("polarity") for t in targets})
        rows.append(
            {
                "code": name,
                "n": int(len(gold)),
                "kappa": cohen_kappa(machine, gold),
                "percent_agreement": percent_agreement(machine, gold),
                "precision": precision,
                "recall": recall,
                "machine_rate": float(machine.mean()) if len(machine) else float("nan"),
                "gold_rate": float(gold.mean()) if len(gold) else float("nan"),
                "side_accuracy": float(np.mean(side_hits)) if side_hits else float("nan"),
                "polarity_accuracy": float(np.mean(polarity_hits))
                if polarity_hits
                else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=GOLD_COLUMNS)


def _gold_targets(extra: dict, code: str) -> list[dict]:
    """The generator's intended (about, polarity) targets of one code; a code may have two."""
    return [
        t
        for t in extra.get("gold_code_targets") or []
        if isinstance(t, dict) and t.get("code") == code
    ]


def f1_score(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of binary predictions (NaN when there are neither true nor predicted positives)."""
    t, p = np.asarray(truth).astype(bool), np.asarray(predicted).astype(bool)
    denominator = int(t.sum() + p.sum())
    return 2 * int((t & p).sum()) / denominator if denominator else float("nan")


def _binary_scores(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 and Cohen's kappa of binary (..., n) arrays along the last axis (NaN where undefined)."""
    n = t.shape[-1]
    tp = (t & p).sum(-1).astype(float)
    pos_t, pos_p = t.sum(-1).astype(float), p.sum(-1).astype(float)
    tn = n - pos_t - pos_p + tp
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(pos_t + pos_p > 0, 2 * tp / (pos_t + pos_p), np.nan)
        p_o = (tp + tn) / n
        p_e = (pos_t * pos_p + (n - pos_t) * (n - pos_p)) / n**2
        kappa = np.where(p_e < 1.0, (p_o - p_e) / (1.0 - p_e), np.nan)
    return f1, kappa


def code_metrics(
    truth: np.ndarray, predicted: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, float]:
    """F1 and Cohen's kappa of one code with 95% percentile-bootstrap CIs over items."""
    t, p = np.asarray(truth).astype(bool), np.asarray(predicted).astype(bool)
    precision, recall = precision_recall(p, t)
    f1, kappa = (float(v) for v in _binary_scores(t, p))
    rng = np.random.default_rng(seed)
    if len(t) >= 2:
        idx = rng.integers(0, len(t), size=(n_boot, len(t)))
        f1s, kappas = _binary_scores(t[idx], p[idx])
    else:
        f1s = kappas = np.full(n_boot, np.nan)

    def ci(values: np.ndarray) -> tuple[float, float]:
        values = values[~np.isnan(values)]
        if len(values) < max(1, n_boot // 2):
            return float("nan"), float("nan")
        return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))

    (f1_low, f1_high), (kappa_low, kappa_high) = ci(f1s), ci(kappas)
    return {
        "n": len(t),
        "positives": int(t.sum()),
        "predicted": int(p.sum()),
        "f1": f1,
        "f1_low": f1_low,
        "f1_high": f1_high,
        "kappa": kappa,
        "kappa_low": kappa_low,
        "kappa_high": kappa_high,
        "precision": precision,
        "recall": recall,
    }
