"""Describe clusters: c-TF-IDF keywords, central texts, and contrastive names from a Labeler."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import CountVectorizer
from tqdm.auto import tqdm

from arenalens.labeler.base import Labeler, NamingRequest
from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.labeler.keywords import SPOKEN_STOP_WORDS, dedupe_terms
from arenalens.labeler.names import (
    LANGUAGE_THEME,
    language_name,
    phrase_name,
    qualified_name,
    query_language,
    safe_term,
)
from arenalens.labeler.use_case_bank import UseCaseBank, load_use_cases
from arenalens.privacy import is_personal_data, text_for_keywords
from taxonomy.cluster import UNCLUSTERED, cluster_centroids
from taxonomy.reduce import normalise_rows

NAMING_INSTRUCTIONS = (
    "These are transcribed spoken queries that users put to voice assistants. Name the use case "
    "the in-group shares in 2-6 plain words that say what people ask, as a reader who sees only "
    "the name could guess (e.g. 'Setting alarms', 'Smart-home lighting', 'Geography facts', "
    "'Jokes and small talk'); never two keywords joined by a slash. The name must tell the "
    "in-group apart from the out-group. Describe the use case in one sentence."
)


@dataclass
class ClusterDescription:
    """What an analyst reads about one cluster."""

    cluster: int
    size: int
    name: str
    description: str
    keywords: list[str] = field(default_factory=list)
    central_texts: list[str] = field(default_factory=list)
    labeler: str = ""
    theme: str = ""  # the broader theme of its use case (offline naming), for parents


def class_tfidf_keywords(
    texts: Sequence[str], labels: np.ndarray, top_n: int = 8, ngram_range: tuple[int, int] = (1, 2)
) -> dict[int, list[str]]:
    """Top c-TF-IDF terms per cluster (BERTopic's class-based TF-IDF); outliers are ignored.
    Personal details and links never become terms (`arenalens.privacy`)."""
    labels = np.asarray(labels)
    ids = sorted(set(labels.tolist()) - {UNCLUSTERED})
    if not ids:
        return {}
    # each distinct query once: a query asked again (or duplicated in an export) is no more
    # what the cluster is about than one asked once
    members = {
        k: list(dict.fromkeys(text_for_keywords(texts[i]) for i in np.flatnonzero(labels == k)))
        for k in ids
    }
    documents = [" ".join(members[k]) for k in ids]
    vectorizer = CountVectorizer(stop_words=SPOKEN_STOP_WORDS, ngram_range=ngram_range, min_df=1)
    try:
        counts = vectorizer.fit_transform(documents)
    except ValueError:  # only stop words
        return {k: [] for k in ids}
    counts = counts.astype(np.float64)
    tf = counts.multiply(1.0 / np.maximum(counts.sum(axis=1), 1)).tocsr()
    term_freq = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / len(ids)
    idf = np.log(1.0 + avg_words / np.maximum(term_freq, 1))
    scores = tf.multiply(idf).tocsr()
    vocab = vectorizer.get_feature_names_out()
    analyse = vectorizer.build_analyzer()
    keywords: dict[int, list[str]] = {}
    for row, k in enumerate(ids):
        data = scores.getrow(row).toarray().ravel()
        order = [
            j
            for j in np.argsort(-data)[: top_n * 3]
            if data[j] > 0 and not is_personal_data(str(vocab[j]))
        ]
        # a term of one query only ("what time is it in dooa") says little of a cluster: terms
        # of two queries or more, where at least three are
        said_by = Counter(term for text in members[k] for term in set(analyse(text)))
        shared = [j for j in order if said_by[str(vocab[j])] >= 2]
        if len(members[k]) >= 2 and len(shared) >= 3:
            order = shared
        # skip a unigram already inside a chosen bigram and vice versa
        keywords[k] = dedupe_terms([str(vocab[j]) for j in order], top_n)
    return keywords


def central_indices(embeddings: np.ndarray, labels: np.ndarray, n: int) -> dict[int, np.ndarray]:
    """For each cluster, indices of its `n` members closest to the centroid (most central first)."""
    x = normalise_rows(embeddings)
    ids, centroids = cluster_centroids(x, labels)
    out: dict[int, np.ndarray] = {}
    for k, c in zip(ids.tolist(), centroids, strict=True):
        members = np.flatnonzero(labels == k)
        order = np.argsort(-(x[members] @ c), kind="stable")
        out[k] = members[order[:n]]
    return out


def boundary_texts(
    texts: Sequence[str], embeddings: np.ndarray, labels: np.ndarray, n: int
) -> dict[int, list[str]]:
    """For each cluster, up to `n` distinct member texts least similar to its centroid (its
    edges), least similar first."""
    x = normalise_rows(embeddings)
    ids, centroids = cluster_centroids(x, labels)
    out: dict[int, list[str]] = {}
    for k, c in zip(ids.tolist(), centroids, strict=True):
        members = np.flatnonzero(np.asarray(labels) == k)
        order = members[np.argsort(x[members] @ c, kind="stable")]
        out[k] = unique_texts([texts[i] for i in order], n)
    return out


def unique_texts(texts: Sequence[str], limit: int) -> list[str]:
    """First `limit` distinct texts (case-insensitive), order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        key = str(text).strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(str(text))
        if len(out) >= limit:
            break
    return out


def name_groups_contrastively(
    labeler: Labeler,
    group_texts: dict[int, list[str]],
    centroids: dict[int, np.ndarray],
    *,
    boundary_texts: dict[int, list[str]] | None = None,
    keywords: dict[int, list[str]] | None = None,
    n_contrast_groups: int = 3,
    n_contrast_texts: int = 3,
    n_sibling_names: int = 8,
    instructions: str = NAMING_INSTRUCTIONS,
    progress: str = "naming clusters",
) -> dict[int, tuple[str, str, str]]:
    """(name, description, labeler) per group, in the order given (largest first, by callers).

    Each request carries the group's central and boundary texts, the central texts of its
    `n_contrast_groups` nearest groups as contrast, and the names its `n_sibling_names` nearest
    groups were already given, to differ from: groups are named in rounds of the labeler's
    concurrency, so every round sees the names of the rounds before it."""
    ids = list(group_texts)
    if not ids:
        return {}
    near = nearest_groups(centroids, max(n_contrast_groups, n_sibling_names))
    boundary_texts = boundary_texts or {}
    keywords = keywords or {}
    names: dict[int, tuple[str, str, str]] = {}
    step = max(1, int(getattr(labeler, "concurrency", 1) or 1))
    rounds = range(0, len(ids), step)
    for start in tqdm(rounds, desc=progress, disable=len(ids) < 20):
        chunk = ids[start : start + step]
        requests = [
            NamingRequest(
                central=group_texts[k],
                boundary=boundary_texts.get(k, []),
                contrast=[
                    t for other in near[k][:n_contrast_groups]
                    for t in group_texts[other][:n_contrast_texts]
                ],
                sibling_names=[names[o][0] for o in near[k][:n_sibling_names] if o in names],
                keywords=keywords.get(k, []),
            )
            for k in chunk
        ]  # fmt: skip
        for k, result in zip(chunk, labeler.name_clusters(requests, instructions=instructions),
                             strict=True):  # fmt: skip
            names[k] = (
                result.name.strip() or f"cluster {k}",
                result.description.strip(),
                result.labeler or labeler.name,
            )
    return dedupe_names(names, group_texts)


def nearest_groups(centroids: dict[int, np.ndarray], n: int) -> dict[int, list[int]]:
    """For each group, the `n` other groups whose centroids are most cosine-similar."""
    ids = list(centroids)
    if not ids:
        return {}
    matrix = normalise_rows(np.stack([centroids[k] for k in ids]))
    sims = matrix @ matrix.T
    return {
        k: [ids[j] for j in np.argsort(-sims[row], kind="stable") if ids[j] != k][:n]
        for row, k in enumerate(ids)
    }


def name_groups_offline(
    bank: UseCaseBank,
    encode,
    group_texts: dict[int, list[str]],
    centroids: dict[int, np.ndarray],
    keywords: dict[int, list[str]],
    *,
    n_contrast_groups: int = 3,
    name_slack: float = 0.12,
    labeler_name: str = "use-case bank and phrases (not an LLM)",
    languages: dict[int, str] | None = None,
) -> tuple[dict[int, tuple[str, str, str]], dict[int, str]]:
    """(name, description, labeler) and theme per group, siblings' names distinct.

    Every group lists the use cases that fit it (contrasted with its nearest groups); the best
    (group, use case) fits are granted first, each use-case name once, but a group never takes a
    use case that fits it `name_slack` worse than its best one (a cluster of meeting reminders
    is not "Notes" because a sibling holds "Calendar and meetings"): it takes its best one,
    qualified by what sets it apart. A group left without one is named from its own
    distinctive terms (`phrase_name`), trying further terms on a clash. A group mostly in another
    language takes no use case: it is named after the language and takes the theme "Queries in
    other languages". `languages`: each group's language(s) over all its queries (default: of its
    texts here, the central ones).
    """
    ids = list(group_texts)
    vectors = {k: np.asarray(encode(group_texts[k])) for k in ids}
    near = nearest_groups(centroids, n_contrast_groups)
    # a group mostly in another language is named after it: the bank's examples are English,
    # and what they fit in another language is chance ("Pronunciation checks" for Chinese)
    language_of = {
        k: languages[k] if languages and k in languages else query_language(group_texts[k])
        for k in ids
    }
    foreign = {k for k in ids if language_of[k]}
    fit_in = {
        k: np.zeros(len(bank.use_cases))
        if k in foreign
        else bank.group_fit(vectors[k], group_texts[k])
        for k in ids
    }
    fitting: dict[int, list[tuple[str, float, str]]] = {}
    themes: dict[int, str] = {}
    for k in ids:
        out = [vectors[o] for o in near[k]]
        fit_out = bank.fit(np.concatenate(out)) if out else np.zeros_like(fit_in[k])
        fitting[k], themes[k] = bank.choose(fit_in[k], fit_out)
    taken: set[str] = set()
    chosen: dict[int, tuple[str, str]] = {}
    use_case_of: dict[int, str] = {}  # the use case a group is named after
    offers = sorted(
        ((fit, k, name, desc) for k in ids for name, fit, desc in fitting[k]),
        key=lambda o: (-o[0], o[1]),
    )
    best_fit = {k: float(fit_in[k].max(initial=0.0)) for k in ids}
    for fit, k, name, desc in offers:
        if k not in chosen and name.lower() not in taken and fit >= best_fit[k] - name_slack:
            chosen[k] = (name, desc)
            use_case_of[k] = name
            taken.add(name.lower())
    holder = {name.lower(): k for k, (name, _) in chosen.items()}
    for k in ids:
        found = None if k in chosen else bank.best(fit_in[k])
        if found is None or found[0].lower() not in holder:
            continue
        # its best use case went to a sibling: that name, qualified by what sets it apart
        best, _fit, desc = found
        other = holder.get(best.lower())
        name = qualified_name(
            best, keywords.get(k, []), keywords.get(other, []) if other is not None else [],
            group_texts[k], taken,
        )  # fmt: skip
        if name and name.lower() not in taken:
            chosen[k] = (name, desc)
            use_case_of[k] = best
            taken.add(name.lower())
    for k in ids:
        if k in chosen:
            continue
        terms = keywords.get(k, [])
        if k in foreign:  # named by its language(s): one parent for languages
            chosen[k] = language_name(language_of[k])
            themes[k] = LANGUAGE_THEME
            if chosen[k][0].lower() in taken:  # a second group in that language: its own words
                chosen[k] = language_qualified(chosen[k], terms, taken)
            taken.add(chosen[k][0].lower())
            continue
        for start in range(max(len(terms), 1)):
            name, desc = phrase_name(terms[start:], group_texts[k])
            if name and name.lower() not in taken:
                break
        if not name:
            name, desc = "Varied queries", "Queries with no shared distinctive words."
        chosen[k] = (name, desc)
        taken.add(name.lower())
    # a group named after a use case (qualified or not) belongs to that use case's theme
    theme_of = {u.name: u.theme for u in bank.use_cases}
    for k, use_case in use_case_of.items():
        if theme_of[use_case]:
            themes[k] = theme_of[use_case]
    names = {
        k: (
            chosen[k][0],
            chosen[k][1] + (f" Most typical: “{group_texts[k][0]}”." if group_texts[k] else ""),
            labeler_name,
        )
        for k in ids
    }
    return dedupe_names(names, group_texts), themes


def language_qualified(
    named: tuple[str, str], terms: Sequence[str], taken: set[str]
) -> tuple[str, str]:
    """'Queries in Chinese: 你今天好吗' for a further group in a language a sibling is named
    after: its first distinctive term (three words or 12 characters at most) not yet taken."""
    name, description = named
    for term in terms:
        if not safe_term(term):
            continue
        first = term.split()[0]  # a sentence in a script without spaces is one "word"
        short = first if len(first) >= 6 else " ".join(term.split()[:3])
        short = short if len(short) <= 12 else short[:12] + "…"
        if f"{name}: {short}".lower() not in taken:
            return f"{name}: {short}", description
    return named


def dedupe_names(
    names: dict[int, tuple[str, str, str]], group_texts: dict[int, list[str]]
) -> dict[int, tuple[str, str, str]]:
    """Make names unique: a repeated name gets a numeric suffix in order of appearance."""
    counts: dict[str, int] = {}
    out: dict[int, tuple[str, str, str]] = {}
    for k, (name, description, labeler) in names.items():
        key = name.lower()
        counts[key] = counts.get(key, 0) + 1
        out[k] = (name if counts[key] == 1 else f"{name} ({counts[key]})", description, labeler)
    return out


class ClusterDescriber(BaseEstimator):
    """Size, c-TF-IDF keywords, central texts and a contrastive Labeler name for each cluster."""

    def __init__(
        self,
        labeler: Labeler,
        n_keywords: int = 8,
        n_central: int = 8,
        n_contrast_clusters: int = 3,
        n_contrast_texts: int = 3,
        instructions: str = NAMING_INSTRUCTIONS,
        use_cases: str | None = None,
        n_boundary: int = 3,
    ):
        self.labeler = labeler
        self.n_keywords = n_keywords
        self.n_central = n_central
        self.n_contrast_clusters = n_contrast_clusters
        self.n_contrast_texts = n_contrast_texts
        self.instructions = instructions
        self.use_cases = use_cases
        self.n_boundary = n_boundary

    def fit(
        self, texts: Sequence[str], embeddings: np.ndarray, labels: np.ndarray
    ) -> ClusterDescriber:
        """Learned: descriptions_ (cluster id -> ClusterDescription); one labeler call per cluster."""
        labels = np.asarray(labels)
        texts = [str(t) for t in texts]
        keywords = class_tfidf_keywords(texts, labels, top_n=self.n_keywords)
        central = central_indices(embeddings, labels, self.n_central * 3)
        ids, centroids = cluster_centroids(embeddings, labels)
        group_texts = {
            k: unique_texts([texts[i] for i in central[k]], self.n_central) for k in ids.tolist()
        }
        centroid_of = dict(zip(ids.tolist(), centroids, strict=True))
        themes: dict[int, str] = {}
        if isinstance(self.labeler, EmbeddingLabeler):  # offline: use-case bank, then phrases
            encode = self.labeler.embedder.encode
            bank = UseCaseBank(load_use_cases(self.use_cases), encode)
            names, themes = name_groups_offline(
                bank, encode, group_texts, centroid_of, keywords,
                n_contrast_groups=self.n_contrast_clusters,
                labeler_name=f"use-case bank (version {bank.version}) and phrases, "
                f"{self.labeler.name}",
                languages={k: query_language([texts[i] for i in np.flatnonzero(labels == k)])
                           for k in ids.tolist()},
            )  # fmt: skip
        else:
            sizes = {k: int(np.sum(labels == k)) for k in ids.tolist()}
            largest_first = sorted(group_texts, key=lambda k: (-sizes[k], k))
            names = name_groups_contrastively(
                self.labeler,
                {k: group_texts[k] for k in largest_first},
                centroid_of,
                boundary_texts={
                    k: [t for t in edge if t not in group_texts[k]][: self.n_boundary]
                    for k, edge in boundary_texts(
                        texts, embeddings, labels, self.n_boundary * 2
                    ).items()
                },
                keywords=keywords,
                n_contrast_groups=self.n_contrast_clusters,
                n_contrast_texts=self.n_contrast_texts,
                instructions=self.instructions,
            )
        self.descriptions_ = {
            k: ClusterDescription(
                cluster=k,
                size=int(np.sum(labels == k)),
                name=names[k][0],
                description=names[k][1],
                keywords=keywords.get(k, []),
                central_texts=group_texts[k],
                labeler=names[k][2],
                theme=themes.get(k, ""),
            )
            for k in ids.tolist()
        }
        return self
