"""Reasons the codebook lacks: cluster feedback left uncoded or coded `other`, name each cluster.

`discover_reasons` embeds those texts, groups them by average-linkage clustering on cosine
distance, keeps groups with at least `min_support` items, and names each with the labeler's
`name_group` (an LLM when configured; offline, c-TF-IDF keywords and central texts).
`draft_codebook` adds the candidates as new codes to a copy of the codebook, marked draft;
`accept_draft` strips the marker and bumps the version, so codes made under the old and the
new codebook never mix (every row carries its codebook's content hash).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from arenalens.embeddings import Embedder
from arenalens.labeler.base import Labeler
from arenalens.privacy import mask_pii
from arenalens.store import Store
from coding import persist
from coding.codebook import Codebook, codebook_from_dict
from coding.errors import CodebookError, CodingError

DRAFT_SUFFIX = "-draft"


@dataclass(frozen=True)
class Candidate:
    """A candidate new reason: its proposed code name, description, support and example texts."""

    code: str
    name: str
    description: str
    support: int
    share: float  # of the texts that were clustered
    examples: tuple[str, ...]
    keywords: tuple[str, ...]
    labeler: str


def cluster_texts(vectors: np.ndarray, distance_threshold: float = 0.55) -> np.ndarray:
    """Average-linkage clusters on cosine distance (a cluster id per row; one row -> [0])."""
    if len(vectors) < 2:
        return np.zeros(len(vectors), int)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None,
        distance_threshold=distance_threshold,
        metric="cosine",
        linkage="average",
    )
    return model.fit_predict(np.asarray(vectors, float))


def code_name(name: str, taken: Sequence[str]) -> str:
    """An identifier for a candidate name, unique among `taken`."""
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:40] or "candidate"
    base = base if not base[0].isdigit() else f"reason_{base}"
    out, i = base, 2
    while out in taken:
        out, i = f"{base}_{i}", i + 1
    return out


def uncoded_texts(store: Store, codebook: Codebook) -> pd.DataFrame:
    """Feedback coded under `codebook` with no code, or only `other` (id, text)."""
    items = persist.coded_items_frame(store, codebook)
    named = [c for c in codebook.code_names if c != "other"]
    left = items[items[named].sum(axis=1) == 0] if named else items
    left = left[left["text"].astype(str).str.strip() != ""]
    return left[["feedback_id", "text"]].reset_index(drop=True)


def discover_reasons(
    store: Store,
    codebook: Codebook,
    embedder: Embedder,
    labeler: Labeler,
    *,
    min_support: int = 3,
    max_candidates: int = 8,
    distance_threshold: float = 0.55,
    examples: int = 3,
) -> tuple[list[Candidate], int]:
    """Candidate new reasons (largest first) and how many texts were clustered."""
    if min_support < 2:
        raise CodingError(f"min support must be at least 2, got {min_support}")
    frame = uncoded_texts(store, codebook)
    texts = frame["text"].astype(str).tolist()
    if len(texts) < min_support:
        return [], len(texts)
    vectors = embedder.encode(texts, show_progress=False)
    labels = cluster_texts(vectors, distance_threshold)
    groups = [
        (int(label), np.flatnonzero(labels == label))
        for label in np.unique(labels)
        if (labels == label).sum() >= min_support
    ]
    groups.sort(key=lambda g: -len(g[1]))
    taken = list(codebook.code_names)
    candidates = []
    for _, members in groups[:max_candidates]:
        inside = [texts[i] for i in members]
        outside = [texts[i] for i in range(len(texts)) if labels[i] not in set(labels[members])]
        centroid = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centroid), kind="stable")]
        # names, keywords and examples pass the privacy rule for text derived from user text
        named = labeler.name_group(inside, outside[:200]).private()
        code = code_name(named.name, taken)
        taken.append(code)
        candidates.append(
            Candidate(
                code=code,
                name=named.name,
                description=named.description,
                support=len(members),
                share=len(members) / len(texts),
                examples=tuple(dict.fromkeys(mask_pii(texts[i]) for i in order))[:examples],
                keywords=tuple(named.keywords),
                labeler=named.labeler or getattr(labeler, "name", ""),
            )
        )
    return candidates, len(texts)


def draft_codebook(codebook: Codebook, candidates: Sequence[Candidate]) -> dict[str, Any]:
    """The codebook plus one new code per candidate, version marked draft (not yet usable as is)."""
    if not candidates:
        raise CodingError("no candidate reasons to add: nothing to draft")
    data = codebook.to_dict()
    data["version"] = f"{codebook.version}{DRAFT_SUFFIX}"
    for c in candidates:
        data["codes"].insert(
            len(data["codes"]) - (1 if data["codes"][-1]["name"] == "other" else 0),
            {
                "name": c.code,
                "definition": f"Candidate reason (review before accepting): {c.description}",
                "positive_examples": list(c.examples),
                "cues": [k for k in c.keywords if k.strip()][:8],
            },
        )
    codebook_from_dict(data, source="draft")  # a draft must itself be a valid codebook
    return data


def write_draft(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    header = (
        "# DRAFT codebook from `arenalens codebook discover`: edit the candidate codes, delete\n"
        "# the ones you do not want, then `arenalens codebook accept` this file.\n"
    )
    path.write_text(
        header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return path


def bump_version(version: str) -> str:
    """`1.2` -> `1.3`; a version without a trailing number gets `.1` appended."""
    match = re.match(r"^(.*?)(\d+)$", version)
    return f"{match.group(1)}{int(match.group(2)) + 1}" if match else f"{version}.1"


def accept_draft(draft: str | Path, destination: str | Path) -> Codebook:
    """Validate a draft, strip its draft marker, bump its version and write it to `destination`."""
    draft = Path(draft)
    try:
        data = yaml.safe_load(draft.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CodebookError(f"{draft}: cannot read the draft codebook: {exc}") from exc
    if not isinstance(data, dict) or not str(data.get("version", "")).endswith(DRAFT_SUFFIX):
        raise CodebookError(
            f"{draft}: not a draft (its version should end with {DRAFT_SUFFIX!r}); "
            "write one with `arenalens codebook discover`"
        )
    data["version"] = bump_version(str(data["version"])[: -len(DRAFT_SUFFIX)])
    codebook = codebook_from_dict(data, source=str(draft))
    destination = Path(destination)
    destination.write_text(
        yaml.safe_dump(codebook.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return codebook


def candidates_frame(candidates: Sequence[Candidate]) -> pd.DataFrame:
    """Candidates as a table (examples joined) for the CLI and the dashboard."""
    rows = [
        {
            **{k: v for k, v in asdict(c).items() if k not in ("examples", "keywords")},
            "keywords": ", ".join(c.keywords),
            "examples": " | ".join(c.examples),
        }
        for c in candidates
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "code",
            "name",
            "description",
            "support",
            "share",
            "labeler",
            "keywords",
            "examples",
        ],
    )
