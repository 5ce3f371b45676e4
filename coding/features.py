"""The zero-shot coder's raw features of a text for each code, from the codebook alone.

`FEATURES`, per code: `prototype_max` (highest cosine between a clause of the text and one of the
code's prototypes: definition, include rules, positive examples), `prototype_top3` (highest mean
cosine of a clause to its three nearest prototypes), `contrast` (`prototype_max` minus how much
closer the clause is to a counter-example than to a prototype), `centroid` (cosine of the whole
text to the prototypes' mean) and `cues` (how many of the code's cue words occur). The
calibration (`coding.calibration`) turns them into probabilities.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from arenalens.embeddings import Embedder
from arenalens.labeler.text import Span, clause_spans
from coding.codebook import Codebook

FEATURES = ("prototype_max", "prototype_top3", "contrast", "centroid", "cues")


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
