"""Top-level categories from a YAML file, and mapping clusters (and so queries) onto them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from arenalens.datafiles import read_yaml
from arenalens.labeler.base import LabelDefinition, Labeler
from arenalens.labeler.names import query_language
from taxonomy.errors import CategoriesError
from taxonomy.reduce import normalise_rows

DEFAULT_CATEGORIES_PATH = Path(__file__).resolve().parents[1] / "data" / "categories.yaml"
WORKSPACE_CATEGORIES_NAME = "categories.yaml"
WORKSPACE_USE_CASES_NAME = "use_cases.yaml"
MODALITIES = ("text_primary", "audio_primary")
NOVEL = "novel"
UNCERTAIN = "uncertain"  # a query whose best category is more likely wrong than right
Encoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Category:
    """One top-level category: name, definition, its natural modality and example queries."""

    name: str
    definition: str
    modality: str = "text_primary"
    examples: tuple[str, ...] = ()
    # a query gets this category only when it matches (e.g. paralinguistic: it mentions a voice,
    # a sound or hearing); None: no condition
    requires: re.Pattern[str] | None = field(default=None, compare=False)

    def as_label(self) -> LabelDefinition:
        return LabelDefinition(self.name, self.definition, positive_examples=self.examples)


@dataclass(frozen=True)
class CategorySet:
    """The categories plus the modality definitions (audio-primary cues and examples)."""

    categories: tuple[Category, ...]
    audio_definition: str = ""
    audio_cues: tuple[str, ...] = ()
    audio_examples: tuple[str, ...] = ()
    source: str = ""
    compiled_cues: tuple[re.Pattern[str], ...] = field(default=(), compare=False, repr=False)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.categories]

    def get(self, name: str) -> Category:
        for category in self.categories:
            if category.name == name:
                return category
        raise CategoriesError(
            f"{self.source}: no category named {name!r}; known: {', '.join(self.names)}"
        )

    def modality_of(self, name: str) -> str | None:
        """The category's natural modality (None for 'novel' or unknown names)."""
        return next((c.modality for c in self.categories if c.name == name), None)


def _strings(value: object, where: str, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CategoriesError(f"{where}: field {field_name!r} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def load_categories(path: str | Path | None = None) -> CategorySet:
    """Read and validate a categories YAML file (default: the shipped data/categories.yaml)."""
    path = Path(path) if path else DEFAULT_CATEGORIES_PATH
    data = read_yaml(path, CategoriesError, "categories file")
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("categories"), list)
        or not data["categories"]
    ):
        raise CategoriesError(f"{path}: expected a mapping with a non-empty list `categories`")
    categories: list[Category] = []
    for i, entry in enumerate(data["categories"], start=1):
        where = f"{path}: category #{i}"
        if not isinstance(entry, dict):
            raise CategoriesError(f"{where}: expected a mapping with name, definition, examples")
        name = entry.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
            raise CategoriesError(f"{where}: field 'name' must be lower_snake_case, got {name!r}")
        if name == NOVEL:
            raise CategoriesError(f"{where}: 'novel' is reserved for clusters that fit no category")
        definition = entry.get("definition")
        if not isinstance(definition, str) or not definition.strip():
            raise CategoriesError(
                f"{where} ({name}): field 'definition' must be a non-empty string"
            )
        modality = entry.get("modality", "text_primary")
        if modality not in MODALITIES:
            raise CategoriesError(
                f"{where} ({name}): field 'modality' must be one of {MODALITIES}, got {modality!r}"
            )
        examples = _strings(entry.get("examples"), f"{where} ({name})", "examples")
        if not examples:
            raise CategoriesError(
                f"{where} ({name}): field 'examples' needs at least one example query"
            )
        if name in {c.name for c in categories}:
            raise CategoriesError(f"{where}: duplicate category name {name!r}")
        requires = entry.get("requires")
        try:
            pattern = re.compile(requires, re.IGNORECASE) if requires else None
        except (re.error, TypeError) as exc:
            raise CategoriesError(
                f"{where} ({name}): `requires` is not a valid regex: {exc}"
            ) from exc
        categories.append(Category(name, " ".join(definition.split()), modality, examples, pattern))
    audio = (data.get("modalities") or {}).get("audio_primary") or {}
    if not isinstance(audio, dict):
        raise CategoriesError(f"{path}: `modalities.audio_primary` must be a mapping")
    cues = _strings(audio.get("cues"), f"{path}: modalities.audio_primary", "cues")
    compiled = []
    for cue in cues:
        try:
            compiled.append(re.compile(cue, re.IGNORECASE))
        except re.error as exc:
            raise CategoriesError(
                f"{path}: modalities.audio_primary cue {cue!r} is not a valid regex: {exc}"
            ) from exc
    audio_examples = _strings(
        audio.get("examples"), f"{path}: modalities.audio_primary", "examples"
    )
    return CategorySet(
        categories=tuple(categories),
        audio_definition=" ".join(str(audio.get("definition", "")).split()),
        audio_cues=cues,
        audio_examples=audio_examples,
        source=str(path),
        compiled_cues=tuple(compiled),
    )


def resolve_categories(
    path: str | Path | None = None, workspace: Path | None = None
) -> CategorySet:
    """An explicit file, else `<workspace>/categories.yaml`, else the shipped default."""
    if path:
        return load_categories(path)
    if workspace is not None and (Path(workspace) / WORKSPACE_CATEGORIES_NAME).is_file():
        return load_categories(Path(workspace) / WORKSPACE_CATEGORIES_NAME)
    return load_categories(None)


def resolve_use_cases(path: str | Path | None = None, workspace: Path | None = None) -> str | None:
    """An explicit use-case bank, else `<workspace>/use_cases.yaml`, else None (the shipped one)."""
    if path:
        if not Path(path).is_file():
            raise CategoriesError(f"{path}: use-case file not found")
        return str(path)
    if workspace is not None and (Path(workspace) / WORKSPACE_USE_CASES_NAME).is_file():
        return str(Path(workspace) / WORKSPACE_USE_CASES_NAME)
    return None


class PrototypeScorer(BaseEstimator):
    """Similarity of texts to each category: mean of the top-k cosine similarities to its examples.

    `score` compares after subtracting the mean of all examples (with `center`), which removes what
    every query shares ("a spoken request") and sharpens *which* category fits; `score_raw` keeps
    plain cosine, which says *whether* anything fits at all (the novelty check).
    """

    def __init__(self, top_k: int = 3, center: bool = True):
        self.top_k = top_k
        self.center = center

    def fit(self, example_embeddings: dict[str, np.ndarray]) -> PrototypeScorer:
        """`example_embeddings`: label -> (m, d) embeddings of its examples (and definition)."""
        self.labels_ = list(example_embeddings)
        self.raw_examples_ = {k: normalise_rows(v) for k, v in example_embeddings.items()}
        stacked = np.concatenate(list(self.raw_examples_.values()))
        self.center_ = (
            stacked.mean(axis=0) if self.center else np.zeros(stacked.shape[1], np.float32)
        )
        self.examples_ = {k: self._centred(v) for k, v in self.raw_examples_.items()}
        return self

    def _centred(self, embeddings: np.ndarray) -> np.ndarray:
        return normalise_rows(normalise_rows(embeddings) - self.center_)

    def _top_k_mean(self, x: np.ndarray, examples: dict[str, np.ndarray]) -> np.ndarray:
        out = np.empty((len(x), len(self.labels_)), dtype=np.float32)
        for j, label in enumerate(self.labels_):
            sims = x @ examples[label].T
            k = min(self.top_k, sims.shape[1])
            out[:, j] = (-np.sort(-sims, axis=1)[:, :k]).mean(axis=1)
        return out

    def score(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """(n, n_labels) centred scores: which category fits best (with `texts`, a label whose
        condition a text does not meet scores -inf for it; see `gates_`)."""
        return self._gate(self._top_k_mean(self._centred(embeddings), self.examples_), texts)

    def score_raw(self, embeddings: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """(n, n_labels) plain cosine scores: how well anything fits."""
        return self._gate(self._top_k_mean(normalise_rows(embeddings), self.raw_examples_), texts)

    def _gate(self, scores: np.ndarray, texts: Sequence[str] | None) -> np.ndarray:
        gates = getattr(self, "gates_", {})
        if texts is None or not gates:
            return scores
        for j, label in enumerate(self.labels_):
            if label in gates:
                unmet = np.array([not gates[label].search(str(t)) for t in texts], dtype=bool)
                scores[unmet, j] = -np.inf
        return scores


def category_scorer(
    categories: CategorySet,
    encode: Encoder,
    top_k: int = 3,
    extra_examples: dict[str, list[str]] | None = None,
    use_cases: str | Path | None = None,
) -> PrototypeScorer:
    """A PrototypeScorer over each category's examples plus its definition, plus any
    `extra_examples` filed under a category of the set (by default the use-case bank's:
    `use_cases`, else the shipped one)."""
    extra = extra_examples if extra_examples is not None else bank_examples(use_cases)
    scorer = PrototypeScorer(top_k).fit(
        {
            c.name: encode(list(dict.fromkeys([*c.examples, c.definition, *extra.get(c.name, [])])))
            for c in categories.categories
        }
    )
    scorer.gates_ = {c.name: c.requires for c in categories.categories if c.requires}
    return scorer


def bank_examples(path: str | Path | None = None) -> dict[str, list[str]]:
    """The shipped use-case bank's examples by category (data/use_cases.yaml)."""
    from arenalens.labeler.use_case_bank import examples_by_category, load_use_cases

    return examples_by_category(load_use_cases(path))


def calibrate_novel_threshold(scorer: PrototypeScorer, quantile: float = 0.05) -> float:
    """Raw score that (1 - quantile) of the category file's own examples reach, each left out in turn.

    A cluster whose central queries score below it fits the categories worse than nearly all of
    the file's own examples do, so it is flagged novel.
    """
    best: list[float] = []
    for label in scorer.labels_:
        own = scorer.raw_examples_[label]
        for i in range(len(own)):
            held_out = PrototypeScorer(scorer.top_k, center=False).fit(
                {**scorer.raw_examples_, label: np.delete(own, i, axis=0)}
            )
            best.append(float(held_out.score_raw(own[i : i + 1]).max()))
    return float(np.quantile(best, quantile)) if best else 0.0


@dataclass
class CategoryDecision:
    """A cluster's category, its confidence, and whether nothing fitted (novel)."""

    category: str
    suggested: str
    confidence: float
    novel: bool
    method: str


class CategoryMapper(BaseEstimator):
    """Map clusters to categories; a cluster that fits none above the threshold is 'novel'.

    method="embedding": the cluster's category is the one its queries most likely have (the
    largest entry of its prior: the mean calibrated probability of its queries, see
    `taxonomy.query_category`), with that probability as its confidence; it is novel when its
    central queries' best plain similarity to any category's examples averages below
    `novel_threshold` (nothing fits), and uncertain when they are mostly in another language.
    method="labeler": one `assign_labels` call per cluster on a summary text (name, description,
    central queries); novel when no label reaches `min_confidence`.
    """

    def __init__(
        self,
        categories: CategorySet,
        method: str = "embedding",
        labeler: Labeler | None = None,
        novel_threshold: float = 0.35,
        min_confidence: float = 0.5,
    ):
        self.categories = categories
        self.method = method
        self.labeler = labeler
        self.novel_threshold = novel_threshold
        self.min_confidence = min_confidence

    def fit(
        self,
        central_embeddings: dict[int, np.ndarray],
        scorer: PrototypeScorer | None = None,
        summaries: dict[int, str] | None = None,
        central_texts: dict[int, list[str]] | None = None,
        priors: dict[int, np.ndarray] | None = None,
    ) -> CategoryMapper:
        """Learned: decisions_ (cluster id -> CategoryDecision). The embedding method needs the
        scorer (novelty) and each cluster's prior over `categories.names`."""
        if self.method == "labeler":
            if self.labeler is None or summaries is None:
                raise ValueError("method='labeler' needs a labeler and cluster summaries")
            self.decisions_ = self._fit_labeler(summaries)
        elif self.method == "embedding":
            if scorer is None or priors is None:
                raise ValueError("method='embedding' needs a fitted PrototypeScorer and priors")
            texts = central_texts or {}
            self.decisions_ = {
                k: self._decide(scorer, e, priors[k], texts.get(k))
                for k, e in central_embeddings.items()
            }
        else:
            raise ValueError(
                f"category method must be 'embedding' or 'labeler', got {self.method!r}"
            )
        return self

    def _decide(
        self,
        scorer: PrototypeScorer,
        embeddings: np.ndarray,
        prior: np.ndarray,
        texts: Sequence[str] | None = None,
    ) -> CategoryDecision:
        winner = int(np.argmax(prior))
        name = self.categories.names[winner]
        if texts and query_language(texts):  # the examples are English: nothing to read it by
            return CategoryDecision(UNCERTAIN, name, float(prior[winner]), False, "embedding")
        raw = scorer.score_raw(embeddings, texts)
        best = np.where(np.isfinite(raw), raw, -1.0).max(axis=1)
        novel = float(best.mean()) < self.novel_threshold if len(best) else True
        return CategoryDecision(
            NOVEL if novel else name, name, float(prior[winner]), novel, "embedding"
        )

    def _fit_labeler(self, summaries: dict[int, str]) -> dict[int, CategoryDecision]:
        ids = list(summaries)
        label_set = [c.as_label() for c in self.categories.categories]
        results = self.labeler.assign_labels(  # type: ignore[union-attr]
            [summaries[k] for k in ids],
            label_set,
            instructions=(
                "Each text summarises a cluster of spoken user queries. Choose the one category "
                "that fits most of its queries; choose none if no category fits."
            ),
        )
        decisions = {}
        for k, result in zip(ids, results, strict=True):
            best = max(result.labels, key=lambda a: a.confidence, default=None)
            if best is None or best.label not in self.categories.names:
                decisions[k] = CategoryDecision(NOVEL, "", 0.0, True, "labeler")
                continue
            novel = best.confidence < self.min_confidence
            decisions[k] = CategoryDecision(
                NOVEL if novel else best.label, best.label, float(best.confidence), novel, "labeler"
            )
        return decisions


def cluster_summary(name: str, description: str, central_texts: Sequence[str]) -> str:
    """The text a labeler sees for one cluster: name, description and its central queries."""
    lines = [f"Cluster: {name}.", description, "Queries:"] + [f"- {t}" for t in central_texts]
    return "\n".join(line for line in lines if line)
