"""Benchmark scores (long CSV) and model-name aliases (YAML)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from arenalens.datafiles import read_yaml
from arenalens.errors import IngestError
from arenalens.store import Store
from arenalens.store import tables as t

if TYPE_CHECKING:  # pandas loads only when a benchmark file is read (`ingest` stays light)
    import pandas as pd

BENCHMARK_COLUMNS = ("model", "dataset", "task", "metric", "score")
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f"}


def read_benchmark_scores(path: Path | str) -> pd.DataFrame:
    """Validate a long CSV `model, dataset, task, metric, score[, higher_is_better]`."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise IngestError(f"{path}: not a readable CSV file: {exc}") from exc
    missing = [c for c in BENCHMARK_COLUMNS if c not in frame.columns]
    if missing:
        raise IngestError(
            f"{path}: missing columns {missing}; expected {', '.join(BENCHMARK_COLUMNS)}[, higher_is_better]"
        )
    rows = []
    for index, record in enumerate(frame.to_dict("records")):
        where = f"{path} row {index + 2}"
        for column in ("model", "dataset", "metric"):
            if not record[column].strip():
                raise IngestError(f"{where}: field '{column}': expected a non-empty value")
        try:
            score = float(record["score"])
        except ValueError as exc:
            raise IngestError(
                f"{where}: field 'score': expected a number, got {record['score']!r}"
            ) from exc
        if not math.isfinite(score):
            raise IngestError(
                f"{where}: field 'score': expected a finite number, got {record['score']!r}"
            )
        flag = str(record.get("higher_is_better", "") or "true").strip().lower()
        if flag not in TRUE_WORDS | FALSE_WORDS:
            raise IngestError(
                f"{where}: field 'higher_is_better': expected true or false, got {flag!r}"
            )
        rows.append(
            {
                "model": record["model"].strip(),
                "dataset": record["dataset"].strip(),
                "task": record["task"].strip(),
                "metric": record["metric"].strip(),
                "score": score,
                "higher_is_better": int(flag in TRUE_WORDS),
                "source": str(path),
            }
        )
    if not rows:
        raise IngestError(f"{path}: no rows")
    scores = pd.DataFrame(rows)
    duplicated = scores.duplicated(["model", "dataset", "task", "metric"], keep=False)
    if duplicated.any():
        first = scores[duplicated].iloc[0]
        raise IngestError(
            f"{path}: model {first['model']!r} has more than one score for "
            f"{first['dataset']}/{first['task']}/{first['metric']}"
        )
    return scores


def ingest_benchmark_scores(store: Store, path: Path | str) -> int:
    """Store validated scores (replacing earlier values of the same key); returns rows read."""
    scores = read_benchmark_scores(path)
    with store.transaction() as conn:
        store.upsert(
            t.benchmark_scores,
            scores.to_dict("records"),
            ["model", "dataset", "task", "metric"],
            conn=conn,
        )
    return len(scores)


def read_aliases(path: Path | str) -> dict[str, str]:
    """Read `alias: canonical` pairs (optionally under a top-level `aliases:` key)."""
    path = Path(path)
    document = read_yaml(path, IngestError) or {}
    if isinstance(document, dict) and isinstance(document.get("aliases"), dict):
        document = document["aliases"]
    if not isinstance(document, dict):
        raise IngestError(f"{path}: expected a mapping of alias names to canonical model names")
    aliases: dict[str, str] = {}
    for alias, canonical in document.items():
        if (
            not isinstance(canonical, str | int | float)
            or isinstance(canonical, bool)
            or not str(canonical).strip()
        ):
            raise IngestError(
                f"{path}: alias {alias!r}: expected a canonical model name, got {canonical!r}"
            )
        aliases[str(alias).strip()] = str(canonical).strip()
    return aliases


def validate_aliases(aliases: dict[str, str]) -> None:
    """Refuse chains (a -> b -> c) and cycles: every alias must point to a canonical name."""
    for alias, canonical in aliases.items():
        if alias == canonical:
            continue
        if canonical in aliases and aliases[canonical] != canonical:
            raise IngestError(
                f"alias {alias!r} -> {canonical!r}, but {canonical!r} is itself an alias of {aliases[canonical]!r}"
            )


def ingest_aliases(store: Store, aliases: dict[str, str]) -> int:
    validate_aliases({**store.aliases(), **aliases})
    return store.set_aliases(aliases)
