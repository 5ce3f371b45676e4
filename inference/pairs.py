"""Blind A/B pairs from two systems' outputs on the same queries, for a team's own preference study,
and the blind file raters get: answers' text and audio, and the conversation before a turn."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from inference.errors import InferenceError

PAIR_COLUMNS = [  # what `make_blind_pairs` returns
    "pair_id",
    "interaction_id",
    "query",
    "system_a",
    "system_b",
    "response_a",
    "response_b",
    "audio_a",
    "audio_b",
]


def pair_id(interaction_id: str, system_a: str, system_b: str) -> str:
    """Stable id of the pair of two systems on one query, whatever order they are named in."""
    first, second = sorted([system_a, system_b])
    return hashlib.sha256(f"{interaction_id}\x1f{first}\x1f{second}".encode()).hexdigest()[:24]


def make_blind_pairs(
    outputs: pd.DataFrame, system_a: str, system_b: str, queries: dict[str, str], seed: int = 0
) -> pd.DataFrame:
    """One row per query both systems answered without error; sides shuffled reproducibly.

    Returns pair_id, interaction_id, query, system_a, system_b (the hidden key), response_a,
    response_b, and audio_a, audio_b (each side's spoken answer, None for a text answer)."""
    if system_a == system_b:
        raise InferenceError(f"a pair needs two different systems, got {system_a!r} twice")
    ok = outputs[outputs["error"].isna() & outputs["output_text"].notna()]
    ok = ok[ok["output_text"].astype(str).str.strip() != ""]
    left = ok[ok["system"] == system_a].set_index("interaction_id")["output_text"]
    right = ok[ok["system"] == system_b].set_index("interaction_id")["output_text"]
    spoken = _spoken_answers(ok)
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
                "audio_a": spoken.get((interaction_id, first)),
                "audio_b": spoken.get((interaction_id, second)),
            }
        )
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def _spoken_answers(outputs: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(interaction id, system) -> the spoken answer's file, for outputs that have one."""
    if "output_audio" not in outputs:
        return {}
    spoken = outputs[outputs["output_audio"].notna()]
    return {
        (r.interaction_id, r.system): str(r.output_audio)
        for r in spoken[["interaction_id", "system", "output_audio"]].itertuples()
    }


@dataclass
class PairContext:
    """What a blind file shows beside each pair's two answers: the query's audio and, for a
    turn of a conversation, the turns before it with each side's own earlier answers.

    `query_audio`: interaction id -> audio file; `turns`: id, conversation_id, turn, query of
    every turn of the pairs' conversations; `answers`: (interaction id, system) -> (text, audio
    file or None). Every file is one already checked to lie where it may be read from."""

    query_audio: dict[str, str] = field(default_factory=dict)
    turns: pd.DataFrame | None = None
    answers: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)


def audio_folder(path: str | Path) -> Path:
    """Where a blind file's audio goes: `<name>-audio/` beside it (one folder per pair), so
    its paths are relative to the file's folder, the root `arena load-pairs` reads them from."""
    path = Path(path)
    return path.parent / f"{path.stem}-audio"


def _place_audio(source: object, target: Path, out_dir: Path) -> str | None:
    """A copy (a hard link where the file system allows) of `source` at `target`, named by the
    pair and side only (the file names tell nothing of the systems); its path from `out_dir`."""
    if not isinstance(source, str):  # no spoken answer (None, or NaN from a frame)
        return None
    if not os.path.isfile(source):
        raise InferenceError(f"audio file {source} is missing; rerun the stage that made it")
    target = target.with_suffix(Path(source).suffix.lower() or ".wav")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target.relative_to(out_dir).as_posix()


def _earlier_turns(
    row: Any, context: PairContext, place: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The conversation fields of a pair's record (conversation_id, turn) and its earlier turns,
    each side's answers from the same system as the pair's side."""
    turns = context.turns
    if turns is None or turns.empty or row.interaction_id not in set(turns["id"]):
        return {}, []
    mine = turns[turns["id"] == row.interaction_id].iloc[0]
    conversation = turns[turns["conversation_id"] == mine["conversation_id"]]
    earlier = []
    for turn in conversation[conversation["turn"] < mine["turn"]].sort_values("turn").itertuples():
        number = int(turn.turn)
        item: dict[str, Any] = {
            "turn": number,
            "query_text": turn.query,
            "query_audio": place(context.query_audio.get(turn.id), f"t{number}-query"),
        }
        for side, system in (("a", row.system_a), ("b", row.system_b)):
            text, audio = context.answers.get((turn.id, system), (None, None))
            item[f"response_{side}"] = text
            item[f"response_audio_{side}"] = place(audio, f"t{number}-{side}")
        earlier.append(item)
    fields = {"conversation_id": mine["conversation_id"], "turn": int(mine["turn"])}
    return fields, earlier


def write_blind_file(
    pairs: pd.DataFrame, path: str | Path, context: PairContext | None = None
) -> int:
    """JSONL for raters (no system names): id, query_text, query_audio, response_a, response_b,
    response_audio_a, response_audio_b, and for a turn of a conversation conversation_id, turn
    and earlier_turns (each with the same fields, sides as in this pair); empty winner and
    feedback. Audio is copied into `audio_folder(path)`, its paths relative to the file's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    context = context or PairContext()
    folder, out_dir = audio_folder(path), path.parent
    with path.open("w", encoding="utf-8") as handle:
        for row in pairs.itertuples():

            def place(source: str | None, name: str, pid: str = row.pair_id) -> str | None:
                return _place_audio(source, folder / pid / name, out_dir)

            conversation, earlier = _earlier_turns(row, context, place)
            record = {
                "id": row.pair_id,
                "query_text": row.query,
                "query_audio": place(context.query_audio.get(row.interaction_id), "query"),
                "response_a": row.response_a,
                "response_b": row.response_b,
                "response_audio_a": place(getattr(row, "audio_a", None), "a"),
                "response_audio_b": place(getattr(row, "audio_b", None), "b"),
                **conversation,
                **({"earlier_turns": earlier} if conversation else {}),
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
