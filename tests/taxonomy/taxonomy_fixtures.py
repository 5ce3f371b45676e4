"""Helpers shared by the taxonomy tests (imported by name; conftest holds the fixtures)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from arenalens.embeddings import Embedder
from arenalens.labeler.base import AssignmentResult, GroupName, LabelDefinition, Labeler
from arenalens.store import Store
from arenalens.store import tables as t

# SLURP scenario -> top-level category (written for these tests; see the issue).
SCENARIO_TO_CATEGORY = {
    "qa": "knowledge",
    "weather": "knowledge",
    "news": "knowledge",
    "datetime": "knowledge",
    "cooking": "advice",  # mostly "how do I make ..." (instructions sought)
    "recommendation": "advice",
    "general": "chit_chat",  # jokes, quirky questions, greetings
    "alarm": "task_execution",
    "audio": "task_execution",
    "calendar": "task_execution",
    "email": "task_execution",
    "iot": "task_execution",
    "lists": "task_execution",
    "music": "task_execution",
    "play": "task_execution",
    "social": "task_execution",
    "takeaway": "task_execution",
    "transport": "task_execution",
}


class KeywordLabeler(Labeler):
    """A deterministic stand-in labeler that records its calls (names from frequent words)."""

    name = "keywords (test)"

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], list[str]]] = []

    def name_group(
        self, in_group: Sequence[str], out_group: Sequence[str], *, instructions: str = ""
    ) -> GroupName:
        self.calls.append((list(in_group), list(out_group)))
        words = Counter(w for text in in_group for w in text.lower().split() if len(w) > 3)
        name = " ".join(w for w, _ in words.most_common(2)) or "group"
        return GroupName(name, f"queries about {name}", labeler=self.name)

    def assign_labels(
        self, texts: Sequence[str], label_set: Sequence[LabelDefinition], **_: object
    ) -> list[AssignmentResult]:
        return [AssignmentResult([]) for _ in texts]


def ingest_rows(store: Store, rows: list[dict]) -> int:
    """Write SLURP rows as queries-only interactions (id, query_text, extra with gold labels)."""
    records = [
        {
            "id": f"slurp-{row['slurp_id']}",
            "query_text": row["sentence"],
            "user_id": f"user-{i % 97}",
            "extra": {"intent": row["intent"], "scenario": row["scenario"]},
            "content_hash": f"{row['slurp_id']}",
        }
        for i, row in enumerate(rows)
    ]
    return store.insert_ignore(t.interactions, records)


class MemoryCachedEmbedder(Embedder):
    """An Embedder that never encodes a text twice in one test session (no store needed)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.memory: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str], show_progress: bool | None = None) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self.memory]
        if missing:
            vectors = super().encode(missing, show_progress=False)
            self.memory.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.memory[text] for text in texts])
