"""Class-based TF-IDF (c-TF-IDF) keywords for a group of texts against contrasting texts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from arenalens.privacy import is_personal_data, text_for_keywords

# Sounds, fillers and contraction stubs of spoken queries ("I've" -> "ve"): never a keyword.
SPOKEN_FILLERS = frozenset(
    """um uh umm uhm hmm mm er erm oh yo hey hi hello okay ok alright lol haha hehe lmao tbh idk
    just really actually kinda gonna wanna thanks thank ve ll don doesn isn didn wasn aren
    couldn shouldn wouldn alexa olly siri cortana""".split()
)
# Besides, words a query uses to ask rather than to say what about.
FILLER_WORDS = SPOKEN_FILLERS | frozenset(
    "please like know tell want need can could would me my you your im dont".split()
)
STOP_WORDS = list(ENGLISH_STOP_WORDS | FILLER_WORDS)
# The keywords shown beside a cluster keep the asking words ("tell", "know"): only fillers go.
SPOKEN_STOP_WORDS = sorted(ENGLISH_STOP_WORDS | SPOKEN_FILLERS)


def ctfidf_keywords(
    in_group: Sequence[str], out_group: Sequence[str], *, top_n: int = 8
) -> list[str]:
    """The `top_n` terms of `ctfidf_scores`, without a phrase's words repeated as keywords."""
    return dedupe_terms([term for term, _ in ctfidf_scores(in_group, out_group)], top_n)


def dedupe_terms(terms: Sequence[str], top_n: int) -> list[str]:
    """Terms in order, skipping any whose words contain or are contained in a chosen term's."""
    chosen: list[str] = []
    for term in terms:
        if len(chosen) >= top_n:
            break
        words = set(term.split())
        if any(words <= set(other.split()) or set(other.split()) <= words for other in chosen):
            continue
        chosen.append(term)
    return chosen


def ctfidf_scores(in_group: Sequence[str], out_group: Sequence[str]) -> list[tuple[str, float]]:
    """Terms (words and two-word phrases) most distinctive of `in_group` versus `out_group`.

    Score = (term frequency within the group's concatenated text) * log(1 + A / f), where A is
    the average word count per class and f the term's frequency over both classes
    (Grootendorst's c-TF-IDF). A term must occur in at least two group texts (or in the only
    one, or fewer than three terms would qualify). Best first, scores > 0 only. Personal
    details and links are taken out of the texts first and no term is personal data
    (`arenalens.privacy`), so no keyword or name is built from them.
    """
    texts = [text_for_keywords(t) for t in (*in_group, *out_group)]
    vectorizer = CountVectorizer(
        ngram_range=(1, 2),
        stop_words=STOP_WORDS,
        token_pattern=r"(?u)\b[^\W\d_][\w'-]+\b",
        lowercase=True,
    )
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # every text is stop words only
        return []
    terms = vectorizer.get_feature_names_out()
    n_in = len(in_group)
    in_counts = np.asarray(counts[:n_in].sum(axis=0)).ravel()
    out_counts = (
        np.asarray(counts[n_in:].sum(axis=0)).ravel() if out_group else np.zeros_like(in_counts)
    )
    doc_freq = np.asarray((counts[:n_in] > 0).sum(axis=0)).ravel()
    class_totals = np.array([in_counts.sum(), out_counts.sum()], dtype=float)
    average_words = class_totals[class_totals > 0].mean()
    idf = np.log1p(average_words / np.maximum(in_counts + out_counts, 1))
    scores = in_counts / max(class_totals[0], 1) * idf
    if n_in >= 2 and ((doc_freq >= 2) & (scores > 0)).sum() >= 3:
        scores[doc_freq < 2] = 0.0
    order = [
        i
        for i in np.argsort(-scores, kind="stable")
        if scores[i] > 0 and not is_personal_data(terms[i])
    ]
    return [(str(terms[i]), float(scores[i])) for i in order]


def name_from_keywords(keywords: Sequence[str], max_terms: int = 2) -> str:
    """A short title from the leading keywords, e.g. "Weather Forecast / Umbrella"."""
    parts = [keyword[:1].upper() + keyword[1:] for keyword in keywords[:max_terms]]
    return " / ".join(parts)
