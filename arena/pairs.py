"""Blind pairs for a replay campaign: read `infer pair` files, plant attention pairs (pure)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from arena.errors import ArenaError
from arenalens.paths import UnsafePathError, confine_audio

PAIR_COLUMNS = [
    "pair_id",
    "interaction_id",
    "query_text",
    "query_audio",
    "audio_root",
    "model_a",
    "model_b",
    "response_a",
    "response_b",
    "response_audio_a",
    "response_audio_b",
    "earlier_turns",
    "attention",
    "bad_side",
]
# A truncated attention answer keeps this share of the good answer's words (at least one).
TRUNCATED_SHARE = 0.2


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ArenaError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ArenaError(f"{path}: not UTF-8 text; expected JSONL") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ArenaError(f"{path} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise ArenaError(f"{path} line {number}: expected an object with named fields")
        records.append((number, value))
    return records


def _text(value: Any, where: str, name: str, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ArenaError(f"{where}: field '{name}': required")
        return None
    if not isinstance(value, str):
        raise ArenaError(f"{where}: field '{name}': expected text, got {type(value).__name__}")
    return value


def _audio(record: dict[str, Any], name: str, where: str, root: Path, base: Path) -> str | None:
    """Field `name` of a blind record as an audio file confined to `root` (relative paths from
    `base`, the blind file's folder), or None when the record has none."""
    value = _text(record.get(name), where, name, False)
    if value is None:
        return None
    try:
        return str(confine_audio(value, root, base))
    except UnsafePathError as exc:
        raise ArenaError(f"{where}: field '{name}': {exc}") from None


def _earlier_turns(value: Any, where: str) -> list[dict[str, Any]] | None:
    """A blind record's `earlier_turns` as text (turn, query, response_a, response_b), shown
    above the pair; None when it has none. Their audio is not played."""
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ArenaError(f"{where}: field 'earlier_turns': expected a list of turns")
    turns = []
    for number, item in enumerate(value, start=1):
        at = f"{where}: earlier turn {number}"
        turns.append(
            {
                "turn": number,
                "query": _text(item.get("query_text"), at, "query_text", False),
                "response_a": _text(item.get("response_a"), at, "response_a", False),
                "response_b": _text(item.get("response_b"), at, "response_b", False),
            }
        )
    return turns


def read_pair_files(blind: Path, key: Path, audio_root: Path | None = None) -> pd.DataFrame:
    """The pairs of an `infer pair --out BLIND --key KEY` run, with the key joined on and
    query audio and spoken answers confined to `audio_root` (default: the blind file's folder)."""
    root = (audio_root or blind.parent).resolve()
    keys: dict[str, dict[str, Any]] = {}
    for number, record in _read_jsonl(key):
        where = f"{key} line {number}"
        pid = _text(record.get("id"), where, "id")
        keys[pid] = {
            "interaction_id": _text(record.get("interaction_id"), where, "interaction_id", False),
            "model_a": _text(record.get("model_a"), where, "model_a"),
            "model_b": _text(record.get("model_b"), where, "model_b"),
        }
    rows = []
    for number, record in _read_jsonl(blind):
        where = f"{blind} line {number}"
        pid = _text(record.get("id"), where, "id")
        if pid not in keys:
            raise ArenaError(f"{where}: pair {pid!r} is not in the key file {key}")
        audio, answer_a, answer_b = (
            _audio(record, name, where, root, blind.parent)
            for name in ("query_audio", "response_audio_a", "response_audio_b")
        )
        query = _text(record.get("query_text"), where, "query_text", False)
        if query is None and audio is None:
            raise ArenaError(f"{where}: expected a query (query_text or query_audio)")
        has_audio = audio is not None or answer_a is not None
        rows.append(
            {
                "pair_id": pid,
                **keys[pid],
                "query_text": query,
                "query_audio": audio,
                "audio_root": str(root) if has_audio else None,
                "response_a": _text(record.get("response_a"), where, "response_a"),
                "response_b": _text(record.get("response_b"), where, "response_b"),
                "response_audio_a": answer_a,
                "response_audio_b": answer_b,
                "earlier_turns": _earlier_turns(record.get("earlier_turns"), where),
                "attention": False,
                "bad_side": None,
            }
        )
    if not rows:
        raise ArenaError(f"{blind}: no pairs found")
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def truncated(answer: str) -> str:
    """The first fifth of an answer's words: a reply cut off before it says anything."""
    words = answer.split()
    keep = max(1, math.floor(len(words) * TRUNCATED_SHARE))
    return " ".join(words[:keep]) + ("" if keep >= len(words) else " …")


def attention_pairs(pairs: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """About `rate` x len(pairs) extra pairs with one known-bad side: the answer to a different
    query where there is one, else a truncated answer. Sides and sources are drawn from `rng`."""
    real = pairs[~pairs["attention"].astype(bool)].reset_index(drop=True)
    count = int(round(rate * len(real)))
    if count == 0 or real.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    chosen = rng.choice(len(real), size=min(count, len(real)), replace=False)
    rows = []
    for index in chosen:
        row = real.iloc[int(index)].to_dict()
        bad_side = "a" if rng.random() < 0.5 else "b"
        good = row["response_b" if bad_side == "a" else "response_a"]
        others = real[real["query_text"].fillna("") != (row["query_text"] or "")]
        if len(others):
            other = others.iloc[int(rng.integers(len(others)))]
            bad = other["response_a"] if rng.random() < 0.5 else other["response_b"]
        else:
            bad = truncated(good)
        row.update(
            pair_id=f"attn_{row['pair_id']}"[:64],
            attention=True,
            bad_side=bad_side,
            response_a=bad if bad_side == "a" else good,
            response_b=good if bad_side == "a" else bad,
            response_audio_a=None,  # a planted answer is read: its text no longer fits the audio
            response_audio_b=None,
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
