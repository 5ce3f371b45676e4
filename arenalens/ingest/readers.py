"""Streaming readers: each yields (location, record) so errors can name the line or row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from arenalens.errors import IngestError

FORMATS = ("jsonl", "csv", "parquet", "talkarena")
Located = tuple[str, dict[str, Any]]


def detect_format(path: Path) -> str:
    """Guess the format from the file name; `--format` overrides."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".json":
        with path.open("rb") as handle:
            head = handle.read(64).lstrip()
        if head.startswith(b'{"_default"'):
            return "talkarena"
        raise IngestError(
            f"{path}: a .json file that is not a Talk Arena (TinyDB) vote file; use JSONL"
        )
    raise IngestError(
        f"{path}: cannot tell the format from '{suffix}'; pass --format {'|'.join(FORMATS)}"
    )


def read_jsonl(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(
                    f"{path} line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
                ) from exc
            yield f"{path} line {number}", record


def read_csv(path: Path, chunk_rows: int = 5000) -> Iterator[Located]:
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        chunks = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, chunksize=chunk_rows)
        row_number = 1
        for chunk in chunks:
            for record in chunk.to_dict("records"):
                row_number += 1
                yield f"{path} row {row_number}", {k: v for k, v in record.items() if v != ""}
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: not a readable CSV file: {exc}") from exc


def read_parquet(path: Path, batch_rows: int = 5000) -> Iterator[Located]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise IngestError(f"{path}: not a readable Parquet file: {exc}") from exc
    row_number = 0
    for batch in parquet.iter_batches(batch_size=batch_rows):
        for record in batch.to_pylist():
            row_number += 1
            yield f"{path} row {row_number}", {k: v for k, v in record.items() if v is not None}


TALKARENA_OUTCOMES = {0: "model_a", 0.5: "tie", 1: "model_b"}  # 0.0 == 0 and 1.0 == 1 as keys


def read_talkarena(path: Path) -> Iterator[Located]:
    """Talk Arena's TinyDB vote file: outcome 0 = model_a better, 0.5 = tie, 1 = model_b better."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    table = document.get("_default") if isinstance(document, dict) else None
    if not isinstance(table, dict):
        raise IngestError(f'{path}: expected a TinyDB document {{"_default": {{id: vote}}}}')
    for key, vote in table.items():
        where = f"{path} vote {key}"
        if not isinstance(vote, dict):
            raise IngestError(f"{where}: expected an object")
        outcome = vote.get("outcome")
        if outcome not in TALKARENA_OUTCOMES or isinstance(outcome, bool):
            raise IngestError(f"{where}: field 'outcome': expected 0, 0.5 or 1, got {outcome!r}")
        record: dict[str, Any] = {
            "id": str(key),
            "model_a": vote.get("model_a"),
            "model_b": vote.get("model_b"),
            "winner": TALKARENA_OUTCOMES[outcome],
            "feedback": vote.get("why"),
        }
        if vote.get("audio_hash") is not None:
            record["audio_hash"] = vote["audio_hash"]
        for side in ("a", "b"):
            latency = vote.get(f"model_{side}_latency") or {}
            for name in ("time_to_first_token", "total_time", "response_length"):
                if latency.get(name) is not None:
                    record[f"{name}_{side}"] = latency[name]
        for name, value in vote.items():
            if name not in (
                "outcome",
                "model_a",
                "model_b",
                "why",
                "audio_hash",
                "model_a_latency",
                "model_b_latency",
            ):
                record[name] = value
        yield where, record


READERS = {
    "jsonl": read_jsonl,
    "csv": read_csv,
    "parquet": read_parquet,
    "talkarena": read_talkarena,
}


def read_records(path: Path, fmt: str | None = None) -> Iterator[Located]:
    """Records of `path` in the given (or detected) format."""
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise IngestError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return READERS[fmt](path)
