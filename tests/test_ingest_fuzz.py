"""Property-based fuzzing of the readers: any file is either stored or refused with one line.

Any bytes, any JSON value in any field, any CSV shape -> either a stored set (that a re-ingest
leaves unchanged) or one IngestError line naming the file (and the line or row where there is
one), never another exception and never a partial write, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arenalens.errors import IngestError
from arenalens.ingest import ingest_interactions
from arenalens.ingest.records import CANONICAL_FIELDS, WINNERS
from arenalens.store import Store
from arenalens.store import tables as t

FUZZ = settings(
    max_examples=int(os.environ.get("ARENALENS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # the same examples every run (a failure is reproducible); ARENALENS_FUZZ_RANDOM=1 explores
    derandomize=not os.environ.get("ARENALENS_FUZZ_RANDOM"),
    database=None,
)
COUNTED = (t.interactions, t.feedback, t.query_audio, t.ingested_files)
LOCATED = re.compile(r"(?: (?:line|row) \d+| vote .+)?: \S")
_names = itertools.count()

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
any_text = st.text(max_size=40)  # unpaired surrogates too (JSON escapes them)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8,
)
good_models = st.sampled_from(["A", "B", " A", "B\t", "C"])
models = good_models | good_models | st.sampled_from(["", "C" * 257]) | json_values
winners = st.sampled_from(WINNERS) | st.sampled_from(WINNERS) | json_values
votes = st.fixed_dictionaries(
    {"model_a": models, "model_b": models, "winner": winners},
    optional={
        "id": st.sampled_from(["v1", "v2", "v3", "x" * 129]) | json_values,
        "query_text": any_text,
        "feedback": any_text,
        "timestamp": st.sampled_from(["2025-01-31T12:00:00Z", "1735689600", "yesterday"])
        | json_values,
        "language": st.sampled_from(["en", "th"]) | json_values,
        "wer": json_values,
    },
)
valid_votes = st.fixed_dictionaries(
    {"model_a": st.just("A"), "model_b": st.sampled_from(["B", " C"]), "winner": winners},
    optional={"query_text": any_text, "feedback": any_text, "wer": json_values, "id": text},
)
hostile = st.dictionaries(st.sampled_from(CANONICAL_FIELDS) | any_text, json_values)
records = votes | votes | votes | hostile


def fresh_path(tmp_path: Path, suffix: str) -> Path:
    folder = tmp_path / f"case{next(_names)}"
    folder.mkdir()
    return folder / f"input{suffix}"


def counts(store: Store) -> tuple[int, ...]:
    return tuple(store.count(table) for table in COUNTED)


def check_outcome(store: Store, path: Path) -> None:
    """Stored and idempotent, or refused in one line naming the file, with nothing written."""
    before = counts(store)
    try:
        report = ingest_interactions(store, path, progress=False)
    except IngestError as exc:
        message = str(exc)
        event("refused: " + re.sub(r".*?: ", "", message, count=1)[:40])
        assert "\n" not in message and len(message) < 700, message
        assert message.startswith(str(path)) and LOCATED.match(message[len(str(path)) :]), message
        assert "store refused" not in message, message  # every value is checked before the store
        assert counts(store) == before, message
        return
    event("stored")
    assert report.records > 0
    after = counts(store)
    assert after[0] - before[0] == report.interactions_added
    again = ingest_interactions(store, path, progress=False)
    assert again.interactions_added == again.feedback_added == again.interactions_merged == 0
    assert counts(store) == after


@FUZZ
@given(
    data=st.binary(max_size=400),
    suffix=st.sampled_from([".jsonl", ".csv", ".tsv", ".json", ".parquet"]),
)
def test_any_bytes(store: Store, tmp_path: Path, data: bytes, suffix: str) -> None:
    path = fresh_path(tmp_path, suffix)
    path.write_bytes(data)
    check_outcome(store, path)


@FUZZ
@given(
    rows=st.lists(valid_votes, min_size=1, max_size=3)
    | st.lists(records | json_values, max_size=5),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_any_json_value_in_any_field(
    store: Store, tmp_path: Path, rows: list[Any], encoding: str
) -> None:
    path = fresh_path(tmp_path, ".jsonl")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding=encoding)
    check_outcome(store, path)


@FUZZ
@given(
    rows=st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=4), max_size=4),
)
def test_any_talkarena_vote(store: Store, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    path = fresh_path(tmp_path, ".json")
    votes = {
        f"{path.parent.name}-{k}": {"model_a": "A", "model_b": "B", "outcome": 0, **r}
        for k, r in enumerate(rows)
    }
    path.write_text(json.dumps({"_default": votes}))
    check_outcome(store, path)


cells = st.sampled_from(["A", "B", " A ", "model_a", "tie", "", "v1", "NaN", "2025-01-01"]) | text
header_names = st.sampled_from(["id", "model_a", "model_b", "winner", "query_text", "x", ""]) | text
VALID_CELLS = {
    "id": st.sampled_from(["v1", "v2", " v3", ""]),
    "model_a": st.sampled_from(["A", " A"]),
    "model_b": st.sampled_from(["B", "C "]),
    "winner": st.sampled_from([*WINNERS, ""]),
    "timestamp": st.sampled_from(["2025-01-31T12:00:00Z", "1735689600", ""]),
}
good_header = st.lists(
    st.sampled_from(["id", "model_a", "model_b", "winner", "query_text", "timestamp", "x"]),
    unique=True,
    min_size=1,
    max_size=6,
)


@FUZZ
@given(
    header=good_header | st.lists(header_names, max_size=5),
    data=st.data(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    quoted=st.booleans(),
)
def test_any_csv_shape(
    store: Store,
    tmp_path: Path,
    header: list[str],
    data: st.DataObject,
    encoding: str,
    terminator: str,
    quoted: bool,
) -> None:
    width = len(header)
    fitting = st.tuples(*(VALID_CELLS.get(name, cells) for name in header)).map(list)
    row = fitting | fitting | st.lists(cells, max_size=width + 2)
    rows = data.draw(st.lists(row, max_size=5), label="rows")
    path = fresh_path(tmp_path, ".csv")
    if quoted:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=terminator).writerows([header, *rows])
        content = buffer.getvalue()
    else:  # raw joins: stray quotes, commas and newlines inside values
        content = "".join(",".join(line) + terminator for line in [header, *rows])
    path.write_text(content, encoding=encoding, newline="")
    check_outcome(store, path)


@pytest.mark.parametrize("bad_at", [4500])
def test_error_after_earlier_chunks_writes_nothing(
    store: Store, tmp_path: Path, bad_at: int
) -> None:
    path = tmp_path / "big.jsonl"
    lines = [json.dumps({"model_a": "A", "model_b": "B", "winner": "tie"}) for _ in range(bad_at)]
    path.write_text("\n".join([*lines, '{"model_a": "A", "model_b": "A", "winner": "tie"}']))

    with pytest.raises(IngestError, match=rf"line {bad_at + 1}: fields 'model_a'/'model_b'"):
        ingest_interactions(store, path, progress=False)

    assert counts(store) == (0, 0, 0, 0)
