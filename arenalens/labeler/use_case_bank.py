"""The use-case bank: general use-case labels shipped as data (data/use_cases.yaml: name, theme,
description, category, examples) and the fit of a group of texts to each.

A group's fit to a use case is the mean, over the group's texts, of the mean of each text's
top-2 cosine similarities to the use case's examples (`UseCaseBank.fit`). A use case fits a
group when that reaches `min_fit`, or, below it, when it still reaches `lead_fit` and leads every
other use case's by `min_lead` (a group of questions about named people fits "Facts about
people" at 0.39, far ahead of the next use case at 0.28: the names make the absolute fit low,
not the theme unclear). Beside the embedding's fit, a classifier of meaning and words trained on
the same examples (`arenalens.labeler.text_classes`) votes: when it gives most of a group's
texts to one use case, that use case fits the group and no other does (`group_fit`): "who
directed Titanic" is about films whatever the embedding says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from arenalens.datafiles import read_yaml
from arenalens.embeddings import normalise_rows
from arenalens.labeler.base import LabelerError
from arenalens.labeler.names import query_language
from arenalens.labeler.text_classes import (
    TextFeatures,
    class_scores,
    fit_classes,
    softmax,
    spoken_variant,
)

DEFAULT_USE_CASES_PATH = Path(__file__).resolve().parents[2] / "data" / "use_cases.yaml"
# Bump when the naming rules change what names a bank gives: a rebuild then renames continuing
# clusters instead of keeping names the old rules made.
NAMING_RULES_VERSION = 13
Encoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class UseCase:
    """One general use-case label: a plain name, its broader theme, a sentence and examples."""

    name: str
    theme: str
    description: str
    examples: tuple[str, ...]
    category: str = ""  # the top-level category its queries belong to (extra category examples)


def load_use_cases(path: str | Path | None = None) -> list[UseCase]:
    """Read and validate a use-case bank YAML file (default: the shipped data/use_cases.yaml)."""
    path = Path(path) if path else DEFAULT_USE_CASES_PATH
    data = read_yaml(path, LabelerError, "use-case file")
    entries = data.get("use_cases") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise LabelerError(f"{path}: expected a mapping with a non-empty list `use_cases`")
    out: list[UseCase] = []
    for i, entry in enumerate(entries, start=1):
        where = f"{path}: use case #{i}"
        if not isinstance(entry, dict):
            raise LabelerError(
                f"{where}: expected a mapping with name, theme, description, examples"
            )
        fields = {k: entry.get(k) for k in ("name", "theme", "description")}
        for key, value in fields.items():
            if not isinstance(value, str) or not value.strip():
                raise LabelerError(f"{where}: field {key!r} must be a non-empty string")
        examples = entry.get("examples")
        if (
            not isinstance(examples, list)
            or not examples
            or not all(isinstance(x, str) and x.strip() for x in examples)
        ):
            raise LabelerError(f"{where} ({fields['name']}): `examples` must list example queries")
        if not 1 <= len(str(fields["name"]).split()) <= 6:
            raise LabelerError(f"{where}: a name has 1 to 6 words, got {fields['name']!r}")
        out.append(
            UseCase(
                str(fields["name"]).strip(),
                str(fields["theme"]).strip(),
                " ".join(str(fields["description"]).split()),
                tuple(x.strip() for x in examples),
                str(entry.get("category") or "").strip(),
            )
        )
    names = [u.name.lower() for u in out]
    if len(set(names)) != len(names):
        raise LabelerError(f"{path}: use-case names must be unique")
    return out


def examples_by_category(use_cases: Sequence[UseCase]) -> dict[str, list[str]]:
    """Category name -> the examples of every use case filed under it."""
    out: dict[str, list[str]] = {}
    for use_case in use_cases:
        if use_case.category:
            out.setdefault(use_case.category, []).extend(use_case.examples)
    return out


class UseCaseBank:
    """The use cases' example embeddings and the fit of a group of texts to each use case."""

    def __init__(
        self,
        use_cases: Sequence[UseCase],
        encode: Encoder,
        *,
        min_fit: float = 0.45,
        min_contrast: float = 0.0,
        theme_fit: float = 0.38,
        top_k: int = 2,
        lead_fit: float = 0.33,
        min_lead: float = 0.07,
        vote_share: float = 0.75,
        vote_proba: float = 0.25,
        vote_floor: float = 0.25,
        vote_min_use_cases: int = 10,
    ):
        self.use_cases = list(use_cases)
        self.vote_share = vote_share
        self.vote_proba = vote_proba
        self.vote_floor = vote_floor
        self.vote_min_use_cases = vote_min_use_cases
        self.min_fit = min_fit
        self.lead_fit = lead_fit
        self.min_lead = min_lead
        self.min_contrast = min_contrast
        self.theme_fit = theme_fit
        self.top_k = top_k
        self.example_texts = [x for u in self.use_cases for x in u.examples]
        self.owner = np.repeat(
            np.arange(len(self.use_cases)), [len(u.examples) for u in self.use_cases]
        )
        self.examples = normalise_rows(encode(self.example_texts))
        self.encode = encode
        self._classifier: tuple[TextFeatures, LogisticRegression] | None = None

    @property
    def version(self) -> str:
        """A short digest of the use cases and the naming rules: names carry over from one build
        to the next only when the bank that made them is the same."""
        content = repr(
            (NAMING_RULES_VERSION, [(u.name, u.theme, u.examples) for u in self.use_cases])
        )
        return hashlib.sha256(content.encode()).hexdigest()[:8]

    def _classes(self) -> tuple[TextFeatures, LogisticRegression]:
        """The use cases as classes of a classifier of embedding and words (fitted on first use)."""
        if self._classifier is None:
            spoken = [spoken_variant(x) for x in self.example_texts]
            texts = self.example_texts + spoken
            vectors = np.concatenate([self.examples, normalise_rows(self.encode(spoken))])
            features = TextFeatures(texts)
            owner = [str(j) for j in self.owner] * 2
            self._classifier = features, fit_classes(features.transform(vectors, texts), owner)
        return self._classifier

    def _use_case_proba(
        self, vectors: np.ndarray, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(use case index per column, (n, columns) probabilities) from the classifier; None for
        no texts or a bank of fewer than `vote_min_use_cases` use cases, where a classifier that
        must pick one of a few says little."""
        if len(self.use_cases) < max(self.vote_min_use_cases, 2) or len(texts) == 0:
            return None
        features, model = self._classes()
        proba = softmax(class_scores(model, features.transform(vectors, texts)))
        return np.array([int(c) for c in model.classes_]), proba

    def vote(self, vectors: np.ndarray, texts: Sequence[str]) -> tuple[int, float, float]:
        """(use case index, its mean probability over the texts, the share of texts it is the
        most probable use case for): the classifier's leading use case for a group; (-1, 0, 0)
        for a bank of fewer than `vote_min_use_cases` use cases, where a classifier that must
        pick one of a few says little."""
        scored = self._use_case_proba(vectors, texts)
        if scored is None:
            return -1, 0.0, 0.0
        columns, proba = scored
        mean = proba.mean(axis=0)
        lead = int(np.argmax(mean))
        share = float(np.mean(proba.argmax(axis=1) == lead))
        return int(columns[lead]), float(mean[lead]), share

    def theme_proba(
        self, vectors: np.ndarray, texts: Sequence[str]
    ) -> tuple[list[str], np.ndarray]:
        """(themes, (n, n_themes) probabilities): each text's use-case probabilities summed per
        theme (a use case without a theme is a theme of its own); no themes for a bank of fewer
        than `vote_min_use_cases` use cases."""
        scored = self._use_case_proba(vectors, texts)
        if scored is None:
            return [], np.zeros((len(texts), 0))
        columns, proba = scored
        themes = sorted({u.theme or u.name for u in self.use_cases})
        to_theme = np.zeros((len(columns), len(themes)))
        for row, j in enumerate(columns.tolist()):
            use_case = self.use_cases[j]
            to_theme[row, themes.index(use_case.theme or use_case.name)] = 1.0
        return themes, proba @ to_theme

    def group_fit(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """`fit`, with the classifier's clear choice lifted to the top: when the use case that
        words and meaning together give most of the group's texts (`vote_share`, mean
        probability `vote_proba`) fits at least `vote_floor`, it fits at `min_fit` or above
        every other, and no other use case fits. Embeddings let named things dominate ("who
        directed Titanic" fits films at 0.41, people nearly as well); the words "directed" and
        "film" do not. Groups in another language are left to the plain fit."""
        fits = self.fit(vectors)
        if query_language(texts):
            return fits
        j, proba, share = self.vote(vectors, texts)
        if (
            j >= 0
            and share >= self.vote_share
            and proba >= self.vote_proba
            and fits[j] >= self.vote_floor
        ):
            others = np.arange(len(fits)) != j
            fits[j] = max(float(fits[j]), self.min_fit, float(fits[others].max()) + 1e-3)
            # and no other use case fits: a sibling holding j makes this group "j: qualifier",
            # not a use case the words speak against ("Volume and sound settings" for a group
            # asking how their voice sounds)
            fits[others] = np.minimum(fits[others], min(self.min_fit, self.lead_fit) - 1e-3)
        return fits

    def fit(self, vectors: np.ndarray) -> np.ndarray:
        """(n_use_cases,) mean over texts of each text's top-k example similarity per use case."""
        if len(vectors) == 0:
            return np.zeros(len(self.use_cases), dtype=np.float32)
        sims = normalise_rows(vectors) @ self.examples.T
        out = np.empty(len(self.use_cases), dtype=np.float32)
        for j in range(len(self.use_cases)):
            own = sims[:, self.owner == j]
            k = min(self.top_k, own.shape[1])
            out[j] = (-np.sort(-own, axis=1)[:, :k]).mean(axis=1).mean()
        return out

    def _fits(self, fit_in: np.ndarray) -> np.ndarray:
        """Which use cases fit: `min_fit` reached, or the clear leader at `lead_fit` or more."""
        fits = fit_in >= self.min_fit
        if len(fit_in) > 1:
            first, second = np.sort(fit_in)[::-1][:2]
            j = int(np.argmax(fit_in))
            fits[j] |= bool(first >= self.lead_fit and first - second >= self.min_lead)
        return fits

    def best(self, fit_in: np.ndarray) -> tuple[str, float, str] | None:
        """(name, fit, description) of the best-fitting use case when it fits (`_fits`),
        whatever its contrast with neighbours; else None. `fit_in`: the group's `fit`."""
        j = int(np.argmax(fit_in)) if len(fit_in) else -1
        if j < 0 or not self._fits(fit_in)[j]:
            return None
        return self.use_cases[j].name, float(fit_in[j]), self.use_cases[j].description

    def choose(
        self, fit_in: np.ndarray, fit_out: np.ndarray
    ) -> tuple[list[tuple[str, float, str]], str]:
        """(fitting use cases as (name, fit, description), best first; the group's theme or ''),
        from the `fit` of the group's texts and of its contrasting texts."""
        order = np.argsort(-fit_in, kind="stable")
        fits = self._fits(fit_in)
        fitting = [
            (self.use_cases[j].name, float(fit_in[j]), self.use_cases[j].description)
            for j in order
            if fits[j] and fit_in[j] - fit_out[j] >= self.min_contrast
        ]
        best = int(order[0])
        theme = self.use_cases[best].theme if fit_in[best] >= self.theme_fit else ""
        return fitting, theme
