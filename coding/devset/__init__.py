"""The hand-coded HALIE development set: which ids are in it, which part each is in, its codes.

The texts stay in `../shared/data/halie/survey_feedback.jsonl`; only ids and codes live here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

CODES_PATH = Path(__file__).resolve().parent / "halie_codes.csv"
SALT = "arenalens-devset:"
DEV_CUT = 0.235  # u < DEV_CUT: dev part (tune and look freely)
HELD_OUT_CUT = 0.40  # DEV_CUT <= u < HELD_OUT_CUT: held-out part (evaluation only)


def unit_hash(item_id: str) -> float:
    """A fixed, uniform number in [0, 1) for an id: sha256 of salt + id, first 32 bits."""
    digest = hashlib.sha256(f"{SALT}{item_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 2**32


def split_of(item_id: str) -> str | None:
    """'dev', 'held_out', or None when the id is not in the development set."""
    u = unit_hash(item_id)
    if u < DEV_CUT:
        return "dev"
    if u < HELD_OUT_CUT:
        return "held_out"
    return None


def load_codes(path: str | Path = CODES_PATH) -> pd.DataFrame:
    """The hand codes: one row per id with `split` and one 0/1 column per code."""
    frame = pd.read_csv(path, dtype={"id": str, "split": str})
    wrong = [i for i, s in zip(frame["id"], frame["split"], strict=True) if split_of(i) != s]
    if wrong:
        raise ValueError(f"{path}: split column disagrees with the hash rule for {wrong[:5]}")
    return frame


def load_texts(path: str | Path) -> pd.DataFrame:
    """The HALIE file's `id`, `task` and `why` columns (read from ../shared, never copied)."""
    frame = pd.read_json(path, lines=True, dtype={"id": str})
    return frame[["id", "task", "why"]].rename(columns={"why": "text"})
