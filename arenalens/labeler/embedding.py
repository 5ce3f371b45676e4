"""The offline `embedding` labeler: nearest-definition labels and c-TF-IDF group names. Not an LLM.

Labels. Each label becomes a set of *prototypes*: its definition, its `include` rules and its
positive examples, embedded. Its *counter-prototypes* are its negative examples and its
`exclude` rules (without "(use x)" hints). A text is cut into sentences and clauses
(verbatim spans); a span's score for a label is

    score = 0.5 * max cosine to a prototype + 0.5 * cosine to the prototypes' mean
            - max(0, max cosine to a counter-prototype - max cosine to a prototype)

Each span votes for its nearest label (highest score, ties within `tie_margin`). Votes
are taken in order of their margin over the label's threshold; a vote counts when the
margin is non-negative, the label is not yet chosen and the span does not overlap the
evidence of a label already chosen (one reason per clause; several clauses can carry
several reasons; a sentence's vote moves to its own clause voting the same way, freeing
the sentence's other clauses). The text's strongest vote always counts if it is within `slack` of its
threshold, since feedback nearly always states some reason. The evidence is the voting
span, verbatim; confidence = sigmoid((score - threshold) / `temperature`).

Thresholds are calibrated on the label set itself: every positive example is scored
leave-one-out against its own label (the positive scores), and the other labels' positive
examples and the label's negative examples against it (the negative scores). The threshold
is the cut between the two that maximises Youden's J (true-positive rate minus false-positive
rate), placed mid-way between the nearest scores on each side, then clipped into
[`min_threshold`, `max_threshold`]. A label with no examples gets `default_threshold`.

The set's `fallback_label` (default "other") is also given when no label is chosen
(confidence at most 0.5, first sentence as evidence). It competes like any label otherwise
(it is a stated reason, e.g. audio glitches); `exclusive_fallback=True` drops it whenever
another label is chosen (better when it is only a residual: 0.80 vs 0.76 mean kappa on the
hand-written set, 0.59 vs 0.60 on the sample arena, where "other" co-occurs with reasons).

Names. c-TF-IDF over two classes (the group vs the contrasting texts) ranks words and
two-word phrases; the top `candidate_terms` are re-ranked by the mean of their normalised
c-TF-IDF score and their embedding's cosine to the group centroid (as BERTopic's
KeyBERT-inspired representation). The name joins the top two non-overlapping terms; the
description lists keywords and quotes the texts nearest the centroid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

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
from arenalens.labeler.keywords import ctfidf_scores, dedupe_terms, name_from_keywords
from arenalens.labeler.text import MAX_LABELLED_CHARS, clause_spans
from arenalens.privacy import mask_pii

_USE_HINT = re.compile(r"\s*\(use [^)]*\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CalibratedLabel:
    """A label's prototype matrices and its calibrated threshold."""

    name: str
    prototypes: np.ndarray  # (p, d)
    centroid: np.ndarray  # (d,)
    counter: np.ndarray  # (q, d), possibly q = 0
    threshold: float
    prototype_texts: tuple[str, ...]


class EmbeddingLabeler(Labeler):
    """Zero-shot labels from embedded definitions and examples; names from c-TF-IDF (not an LLM)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        fallback_label: str | None = "other",
        default_threshold: float = 0.35,
        min_threshold: float = 0.2,
        max_threshold: float = 0.6,
        tie_margin: float = 0.03,
        temperature: float = 0.05,
        central_texts: int = 3,
        with_sentences: bool = True,
        candidate_terms: int = 20,
        slack: float = 0.1,
        exclusive_fallback: bool = False,
    ):
        self.embedder = embedder
        self.fallback_label = fallback_label
        self.default_threshold = default_threshold
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold
        self.tie_margin = tie_margin
        self.temperature = temperature
        self.central_texts = central_texts
        self.with_sentences = with_sentences
        self.candidate_terms = candidate_terms
        self.slack = slack
        self.exclusive_fallback = exclusive_fallback
        self.name = f"embedding:{embedder.model_id} (not an LLM)"
        self._calibrated: dict[str, list[CalibratedLabel]] = {}

    # -- calibration ----------------------------------------------------------
    def _prototype_texts(self, label: LabelDefinition) -> tuple[list[str], list[str]]:
        positives = [label.definition, *label.include, *label.positive_examples]
        negatives = [*label.negative_examples, *(_USE_HINT.sub("", x) for x in label.exclude)]
        return _clean(positives), _clean(negatives)

    def calibrate(self, label_set: Sequence[LabelDefinition]) -> list[CalibratedLabel]:
        """Embed every label's prototypes and fit each label's threshold (see module docstring)."""
        if not label_set:
            raise LabelerError("assign_labels needs a non-empty label set")
        names = [label.name for label in label_set]
        if len(set(names)) != len(names):
            raise LabelerError(f"label names must be unique, got {names}")
        texts = [self._prototype_texts(label) for label in label_set]
        flat = [x for pos, neg in texts for x in pos + neg]
        flat_examples = [x for label in label_set for x in label.positive_examples]
        vectors = self.embedder.encode(
            list(dict.fromkeys(flat + flat_examples)), show_progress=False
        )
        index = {text: i for i, text in enumerate(dict.fromkeys(flat + flat_examples))}

        def embed(xs: Sequence[str]) -> np.ndarray:
            if not xs:
                return np.zeros((0, vectors.shape[1]), np.float32)
            return vectors[[index[x] for x in xs]]

        provisional = []
        for label, (positives, negatives) in zip(label_set, texts, strict=True):
            if not positives:
                raise LabelerError(f"label {label.name!r} has no definition or examples to embed")
            prototypes = embed(positives)
            provisional.append((label, positives, prototypes, embed(negatives)))

        calibrated = []
        for label, positives, prototypes, counter in provisional:
            pos_scores = []
            for example in label.positive_examples:
                keep = [i for i, p in enumerate(positives) if p != example.strip()]
                if not keep:
                    continue
                pos_scores.append(_score(embed([example.strip()]), prototypes[keep], counter)[0])
            others = [
                x.strip()
                for other in label_set
                if other.name != label.name
                for x in other.positive_examples
            ]
            neg_texts = others + [x.strip() for x in label.negative_examples]
            neg_scores = list(_score(embed(neg_texts), prototypes, counter)) if neg_texts else []
            threshold = self._fit_threshold(pos_scores, neg_scores)
            centroid = prototypes.mean(axis=0)
            calibrated.append(
                CalibratedLabel(
                    name=label.name,
                    prototypes=prototypes,
                    centroid=centroid / (np.linalg.norm(centroid) or 1.0),
                    counter=counter,
                    threshold=threshold,
                    prototype_texts=tuple(positives),
                )
            )
        return calibrated

    def _fit_threshold(self, pos: Sequence[float], neg: Sequence[float]) -> float:
        if not pos or not neg:
            return self.default_threshold
        pos_arr, neg_arr = np.asarray(pos), np.asarray(neg)
        candidates = np.unique(np.concatenate([pos_arr, neg_arr]))
        best_j, best_cut = -2.0, self.default_threshold
        for value in candidates:
            j = float((pos_arr >= value).mean() - (neg_arr >= value).mean())
            if j > best_j:
                below = neg_arr[neg_arr < value]
                best_j, best_cut = j, (value + below.max()) / 2 if below.size else value
        return float(np.clip(best_cut, self.min_threshold, self.max_threshold))

    # -- assignment -----------------------------------------------------------
    def assign_labels(
        self,
        texts: Sequence[str],
        label_set: Sequence[LabelDefinition],
        *,
        context: Sequence[str] | None = None,
        instructions: str = "",
        attribute_choices: dict[str, Sequence[str]] | None = None,
    ) -> list[AssignmentResult]:
        """Labels per text with the best clause as verbatim evidence; no attributes (callers derive them).

        `context` and `instructions` are accepted for interface compatibility and not used:
        only the text itself is compared with the label definitions.
        """
        key = repr(
            [
                (
                    x.name,
                    x.definition,
                    tuple(x.include),
                    tuple(x.exclude),
                    tuple(x.positive_examples),
                    tuple(x.negative_examples),
                )
                for x in label_set
            ]
        )
        if key not in self._calibrated:
            self._calibrated = {key: self.calibrate(label_set)}  # keep only the latest label set
        labels = self._calibrated[key]
        spans_per_text = [
            clause_spans(text[:MAX_LABELLED_CHARS], with_sentences=self.with_sentences)
            for text in texts
        ]
        all_spans = list(dict.fromkeys(span.text for spans in spans_per_text for span in spans))
        span_vectors = (
            self.embedder.encode(all_spans) if all_spans else np.zeros((0, 1), np.float32)
        )
        row = {text: i for i, text in enumerate(all_spans)}
        thresholds = np.array([label.threshold for label in labels])
        names = [label.name for label in labels]
        fallback = names.index(self.fallback_label) if self.fallback_label in names else None

        results = []
        for spans in spans_per_text:
            if not spans:
                results.append(AssignmentResult(labels=(), labeler=self.name))
                continue
            vectors = span_vectors[[row[span.text] for span in spans]]
            scores = np.stack(
                [
                    _score(vectors, label.prototypes, label.counter, label.centroid)
                    for label in labels
                ],
                axis=1,
            )
            relative = scores - thresholds  # (spans, labels)
            is_best = scores >= scores.max(axis=1, keepdims=True) - self.tie_margin
            candidates = sorted(
                ((float(relative[i, j]), i, j) for i, j in zip(*np.nonzero(is_best), strict=True)),
                reverse=True,
            )
            taken: list[tuple[int, int]] = []
            picked: dict[int, int] = {}  # label index -> span index
            for rank, (margin, i, j) in enumerate(candidates):
                # the text's best label counts even a little under its threshold
                first = rank == 0 and margin >= -self.slack
                if (margin < 0 and not first) or j in picked:
                    continue
                if any(spans[i].start < end and start < spans[i].end for start, end in taken):
                    continue  # one reason per clause: this span overlaps an evidence span
                # a sentence's vote is carried by its own clause voting the same way, when
                # there is one, so the sentence's other clauses stay free for other reasons
                inner = [
                    k
                    for k in range(len(spans))
                    if k != i
                    and spans[i].start <= spans[k].start
                    and spans[k].end <= spans[i].end
                    and is_best[k, j]
                    and relative[k, j] >= min(margin, 0.0)
                ]
                if inner:
                    i = max(inner, key=lambda k: scores[k, j])
                picked[j] = i
                taken.append((spans[i].start, spans[i].end))
            if fallback is not None and len(picked) > 1 and self.exclusive_fallback:
                picked.pop(fallback, None)
            chosen = [
                self._assignment(labels[j], spans[i].text, float(scores[i, j]))
                for j, i in picked.items()
            ]
            if not chosen and fallback is not None:
                i = int(np.argmax(scores[:, fallback]))
                chosen.append(
                    self._assignment(
                        labels[fallback], spans[0].text, float(scores[i, fallback]), fell_back=True
                    )
                )
            chosen.sort(key=lambda a: -a.confidence)
            results.append(AssignmentResult(labels=tuple(chosen), labeler=self.name))
        return results

    def _assignment(
        self, label: CalibratedLabel, evidence: str, score: float, *, fell_back: bool = False
    ) -> LabelAssignment:
        confidence = 1.0 / (1.0 + math.exp(-(score - label.threshold) / self.temperature))
        if fell_back:
            rationale = (
                f"no label passed its threshold; fallback label (best similarity {score:.2f})"
            )
            confidence = min(confidence, 0.5)
        else:
            rationale = f"similarity {score:.2f} to the definition/examples (threshold {label.threshold:.2f})"
        return LabelAssignment(
            label=label.name,
            evidence=evidence,
            confidence=round(confidence, 4),
            rationale=rationale,
        )

    # -- naming ---------------------------------------------------------------
    def name_group(
        self, in_group: Sequence[str], out_group: Sequence[str], *, instructions: str = ""
    ) -> GroupName:
        """A name from distinctive c-TF-IDF terms and central texts (`instructions` unused offline)."""
        texts = [x for x in in_group if x and x.strip()]
        if not texts:
            raise LabelerError("name_group needs at least one non-empty text in the group")
        vectors = self.embedder.encode(texts, show_progress=False)
        centroid = vectors.mean(axis=0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        candidates = ctfidf_scores(texts, [x for x in out_group if x and x.strip()])[
            : self.candidate_terms
        ]
        keywords: list[str] = []
        if candidates:
            terms = [term for term, _ in candidates]
            distinct = np.array([score for _, score in candidates]) / candidates[0][1]
            relevance = self.embedder.encode(terms, show_progress=False) @ centroid
            order = np.argsort(-(0.5 * distinct + 0.5 * relevance), kind="stable")
            keywords = dedupe_terms([terms[i] for i in order], 8)
        order = np.argsort(-(vectors @ centroid), kind="stable")
        # quoted and named from with personal details masked, like every derived text
        central = list(dict.fromkeys(mask_pii(texts[i].strip()) for i in order))[
            : self.central_texts
        ]
        name = name_from_keywords(keywords) or _clip_words(central[0], 5).capitalize()
        examples = "; ".join(f"“{_clip_words(x, 14)}”" for x in central)
        about = ", ".join(keywords[:5]) if keywords else "no distinctive words"
        description = f"{len(texts)} text{'s' if len(texts) != 1 else ''} marked by: {about}. Typical: {examples}. (Named by embeddings and c-TF-IDF, not an LLM.)"
        return GroupName(
            name=name, description=description, keywords=tuple(keywords), labeler=self.name
        ).private()


def _score(
    vectors: np.ndarray,
    prototypes: np.ndarray,
    counter: np.ndarray,
    centroid: np.ndarray | None = None,
) -> np.ndarray:
    """Per-row score of `vectors` against one label (see the module docstring)."""
    if centroid is None:
        mean = prototypes.mean(axis=0)
        centroid = mean / (np.linalg.norm(mean) or 1.0)
    nearest = (vectors @ prototypes.T).max(axis=1)
    score = 0.5 * nearest + 0.5 * (vectors @ centroid)
    if counter.shape[0]:
        score = score - np.maximum(0.0, (vectors @ counter.T).max(axis=1) - nearest)
    return score


def _clean(texts: Sequence[str]) -> list[str]:
    return [x.strip() for x in texts if x and x.strip()]


def _clip_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")
