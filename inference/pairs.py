"""Blind A/B pairs from two systems' outputs on the same queries, for a team's own preference study."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference.errors import InferenceError


def pair_id(interaction_id: str, system_a: str, system_b: str) -> str:
    """Stable id of the pair of two systems on one query, whatever order they are named in."""
    first, second = sorted([system_a, system_b])
    return hashlib.sha256(f"{interaction_id}\x1f{first}\x1f{second}".encode()).hexdigest()[:24]


def make_blind_pairs(
    outputs: pd.DataFrame, system_a: str, system_b: str, queries: dict[str, str], seed: int = 0
) -> pd.DataFrame:
    """One row per query both systems answered without error; sides shuffled reproducibly.

    Returns pair_id, interaction_id, query, system_a, system_b (the hidden key), response_a, response_b."""
    if system_a == system_b:
        raise InferenceError(f"a pair needs two different systems, got {system_a!r} twice")
    ok = outputs[outputs["error"].isna() & outputs["output_text"].notna()]
    ok = ok[ok["output_text"].astype(str).str.strip() != ""]
    left = ok[ok["system"] == system_a].set_index("interaction_id")["output_text"]
    right = ok[ok["system"] == system_b].set_index("interaction_id")["output_text"]
    for name, answers in ((system_a, left), (system_b, right)):
        if answers.empty:
            raise InferenceError(
                f"system {name!r} has no successful outputs; run `arenalens infer run --system {name}` first"
            )
    common = sorted(set(left.index) & set(right.index))
    rows: list[dict[str, Any]] = []
    for interaction_id in common:
        pid = pair_id(interaction_id, system_a, system_b)
        # The side assignment is a pure function of (seed, pair): reruns and other machines agree.
        swap = np.random.default_rng([seed, int(pid[:12], 16)]).random() < 0.5
        first, second = (system_b, system_a) if swap else (system_a, system_b)
        answers = {system_a: left[interaction_id], system_b: right[interaction_id]}
        rows.append(
            {
                "pair_id": pid,
                "interaction_id": interaction_id,
                "query": queries.get(interaction_id),
                "system_a": first,
                "system_b": second,
                "response_a": answers[first],
                "response_b": answers[second],
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "pair_id",
            "interaction_id",
            "query",
            "system_a",
            "system_b",
            "response_a",
            "response_b",
        ],
    )


def write_blind_file(
    pairs: pd.DataFrame, path: str | Path, audio: dict[str, str] | None = None
) -> int:
    """JSONL for raters: id, query, audio path, response_a, response_b and empty winner/feedback (no system names)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = audio or {}
    with path.open("w", encoding="utf-8") as handle:
        for row in pairs.itertuples():
            record = {
                "id": row.pair_id,
                "query_text": row.query,
                "query_audio": audio.get(row.interaction_id),
                "response_a": row.response_a,
                "response_b": row.response_b,
                "winner": None,
                "feedback": None,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(pairs)


def write_key_file(pairs: pd.DataFrame, path: str | Path) -> int:
    """JSONL key for unblinding: pair id -> interaction id, model_a, model_b (canonical ingest fields)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in pairs.itertuples():
            record = {
                "id": row.pair_id,
                "interaction_id": row.interaction_id,
                "model_a": row.system_a,
                "model_b": row.system_b,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(pairs)
