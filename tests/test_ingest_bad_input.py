"""Bad input gets one clear line naming file and line, nothing is written, on both backends.

Every value is checked before the store, so SQLite and PostgreSQL accept exactly the same files.
"""

from __future__ import annotations

import codecs
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arenalens.cli import main
from arenalens.errors import IngestError
from arenalens.ingest import ingest_interactions
from arenalens.store import Store
from arenalens.store import tables as t

VOTE = {"id": "v1", "model_a": "A", "model_b": "B", "winner": "model_a"}


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def parquet_bytes(columns: dict[str, list], tmp: Path) -> bytes:
    """Parquet written by pyarrow itself (pandas would turn NaN into null)."""
    pq.write_table(pa.table(columns), tmp)
    return tmp.read_bytes()


# name -> (file name, content, expected message); content is bytes, or a function of a temp dir
BAD_INPUTS: dict[str, tuple[str, bytes | Callable[[Path], bytes], str]] = {
    "random bytes": (
        "votes.jsonl",
        random.Random(0).randbytes(3000),
        r"votes.jsonl line \d+: not UTF-8 text \(byte 0x[0-9a-f]{2}",
    ),
    "latin-1 text": (
        "votes.jsonl",
        '{"id": "q", "query_text": "caf\u00e9"}\n'.encode("latin-1"),
        r"line 1: not UTF-8 text \(byte 0xe9",
    ),
    "broken UTF-16": (
        "votes.jsonl",
        codecs.BOM_UTF16_LE + '{"id": "q"'.encode("utf-16-le") + b"\x00\xd8\x41\x00",
        r"line 1: read as UTF-16 .*not valid UTF-16",
    ),
    "empty csv": ("votes.csv", b"", r"votes.csv: empty file; expected a header row"),
    "blank csv": ("votes.csv", b"\n \n", r"empty file; expected a header row"),
    "header only": ("votes.csv", b"model_a,model_b,winner\n", r"votes.csv: no records found"),
    "empty jsonl": ("votes.jsonl", b"", r"votes.jsonl: no records found"),
    "extra csv field": (
        "votes.csv",
        b"model_a,model_b,winner\nA,B,tie\nA,B,tie,oops\n",
        r"votes.csv row 3: 4 fields, but the header names 3: unexpected value 'oops' after "
        r"the last field 'winner'",
    ),
    "missing csv field": (
        "votes.csv",
        b"id,model_a,model_b,winner\nv1,A,B\n",
        r"votes.csv row 2: 3 fields, but the header names 4: missing 'winner'",
    ),
    "nameless csv column": (
        "votes.csv",
        b"model_a,,winner\nA,B,tie\n",
        r"row 1: header field 2 has no name",
    ),
    "repeated csv column": (
        "votes.csv",
        b"model_a,model_a,winner\nA,B,tie\n",
        r"row 1: header names 'model_a' twice",
    ),
    "unterminated csv quote": (
        "votes.csv",
        b'model_a,model_b,winner\nA,"B,tie\n',
        r"votes.csv row 2: ",
    ),
    "NUL byte in a csv field": (
        "votes.csv",
        b"model_a,model_b,winner\nA\x00,B,tie\n",
        r"row 2: field 'model_a': contains a NUL character",
    ),
    "Infinity in an extra field": (
        "votes.jsonl",
        b'{"id": "q1", "query_text": "hi", "wer": Infinity}\n',
        r"line 1: field 'wer': inf is not a value; expected a finite number",
    ),
    "NaN nested in an extra field": (
        "votes.jsonl",
        b'{"id": "q1", "query_text": "hi", "scores": {"asr": [0.1, NaN]}}\n',
        r"line 1: field 'scores.asr\[1\]': nan is not a value",
    ),
    "winner NaN": (
        "votes.jsonl",
        b'{"model_a": "A", "model_b": "B", "winner": NaN}\n',
        r"line 1: field 'winner': nan is not a value",
    ),
    "model_a Infinity": (
        "votes.jsonl",
        b'{"model_a": Infinity, "model_b": "B", "winner": "tie"}\n',
        r"line 1: field 'model_a': inf is not a value",
    ),
    "timestamp -Infinity": (
        "votes.jsonl",
        b'{"id": "q", "query_text": "hi", "timestamp": -Infinity}\n',
        r"line 1: field 'timestamp': -inf is not a value",
    ),
    "id over 128 characters": (
        "votes.jsonl",
        jsonl({**VOTE, "id": "x" * 129}),
        r"line 1: field 'id': 129 characters, at most 128 allowed",
    ),
    "model name over 256 characters": (
        "votes.jsonl",
        jsonl({**VOTE, "model_b": "m" * 257}),
        r"line 1: field 'model_b': 257 characters, at most 256 allowed",
    ),
    "user id over 256 characters": (
        "votes.jsonl",
        jsonl({**VOTE, "user_id": "u" * 300}),
        r"field 'user_id': 300 characters, at most 256",
    ),
    "language over 32 characters": (
        "votes.jsonl",
        jsonl({**VOTE, "language": "l" * 33}),
        r"field 'language': 33 characters, at most 32",
    ),
    "NUL in query text": (
        "votes.jsonl",
        jsonl({"id": "q", "query_text": "before\u0000after"}),
        r"line 1: field 'query_text': contains a NUL character",
    ),
    "NUL in an extra value": (
        "votes.jsonl",
        jsonl({"id": "q", "query_text": "hi", "note": "a\u0000b"}),
        r"line 1: field 'note': contains a NUL character",
    ),
    "NUL in an extra field name": (
        "votes.jsonl",
        jsonl({"id": "q", "query_text": "hi", "no\u0000te": "ab"}),
        r"line 1: field 'no\\x00te': contains a NUL character",
    ),
    "unpaired surrogate": (
        "votes.jsonl",
        b'{"id": "q", "query_text": "\\ud800 alone"}\n',
        r"line 1: field 'query_text': contains an unpaired surrogate \(\\ud800\)",
    ),
    "deeply nested extra": (
        "votes.jsonl",
        b'{"id": "q", "query_text": "hi", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
        r"line 1: JSON nested too deeply",
    ),
    "5,000-digit number": (
        "votes.jsonl",
        b'{"id": "q", "query_text": "hi", "n": ' + b"9" * 5000 + b"}\n",
        r"line 1: not valid JSON",
    ),
    "boolean model": (
        "votes.jsonl",
        b'{"model_a": true, "model_b": "B", "winner": "tie"}\n',
        r"line 1: field 'model_a': expected text, got a boolean",
    ),
    "list as a record": ("votes.jsonl", b'["A", "B", "tie"]\n', r"line 1: expected an object"),
    "timestamp past year 9999": (
        "votes.jsonl",
        jsonl({"id": "q", "query_text": "hi", "timestamp": "9999-12-31T23:00:00-05:00"}),
        r"line 1: field 'timestamp': expected ISO 8601",
    ),
    "long winner is cut": (
        "votes.jsonl",
        jsonl({**VOTE, "winner": "w" * 100_000}),
        r"field 'winner': expected one of model_a, model_b, tie, got 'w{80}'\.\.\. "
        r"\(100,000 characters\)",
    ),
    "corrupt parquet": ("votes.parquet", b"PAR1" + b"\x00" * 100, r"not a readable Parquet file"),
    "NaN in a parquet column": (
        "votes.parquet",
        lambda tmp: parquet_bytes(
            {**{k: [v] for k, v in VOTE.items()}, "wer": [float("nan")]}, tmp / "nan.parquet"
        ),
        r"votes.parquet row 1: field 'wer': nan is not a value",
    ),
    "binary parquet column": (
        "votes.parquet",
        lambda tmp: parquet_bytes(
            {**{k: [v] for k, v in VOTE.items()}, "blob": [b"\x00\x01"]}, tmp / "blob.parquet"
        ),
        r"row 1: field 'blob': expected text, a number or JSON, got bytes",
    ),
    "talk arena NaN outcome": (
        "live.json",
        b'{"_default": {"1": {"model_a": "A", "model_b": "B", "outcome": NaN}}}',
        r"live.json vote 1: field 'outcome': expected 0, 0.5 or 1, got nan",
    ),
    "talk arena latency not an object": (
        "live.json",
        b'{"_default": {"1": {"model_a": "A", "model_b": "B", "outcome": 0, '
        b'"model_a_latency": 3}}}',
        r"vote 1: field 'model_a_latency': expected an object",
    ),
    "json that is not talk arena": ("votes.json", b'[{"model_a": "A"}]', r"not a Talk Arena"),
}


def write_bad(tmp_path: Path, case: str) -> tuple[Path, str]:
    name, content, message = BAD_INPUTS[case]
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    data = content(tmp_path) if callable(content) else content
    path = folder / name
    # a good record first where the format allows, so "nothing written" means something
    if name.endswith(".jsonl") and data and not data.startswith(codecs.BOM_UTF16_LE):
        data = jsonl({"id": "good", "query_text": "fine"}) + data
        message = message.replace("line 1:", "line 2:")
    path.write_bytes(data)
    return path, message


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_with_one_line_before_the_store(
    store: Store, tmp_path: Path, case: str
) -> None:
    path, message = write_bad(tmp_path, case)

    with pytest.raises(IngestError, match=message) as caught:
        ingest_interactions(store, path, progress=False)

    text = str(caught.value)
    assert "\n" not in text and str(path.name) in text and len(text) < 400
    assert "store refused" not in text  # caught by the checks, not by the database
    assert store.count(t.interactions) == 0 and store.count(t.ingested_files) == 0


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_cli_prints_one_error_line_and_no_traceback(
    db_url: str, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, message = write_bad(tmp_path, case)

    with pytest.raises(SystemExit) as exited:
        main(["--workspace", str(tmp_path / "ws"), "--db", db_url, "ingest", str(path)])

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err
    assert re.search(message, err)


def utf16_variants(text: str) -> dict[str, bytes]:
    return {
        "utf-8 with BOM": codecs.BOM_UTF8 + text.encode(),
        "utf-16-le with BOM": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf-16-be with BOM": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "utf-16-le without BOM": text.encode("utf-16-le"),
        "crlf": text.replace("\n", "\r\n").encode(),
    }


CSV_TEXT = "id,model_a,model_b,winner,query_text\nv1,A,B,model_a,caf\u00e9 \u266b\nv2,B,C,tie,\n"
JSONL_TEXT = (
    '{"id": "v1", "model_a": "A", "model_b": "B", "winner": "model_a", '
    '"query_text": "caf\u00e9 \u266b"}\n{"id": "v2", "model_a": "B", "model_b": "C", '
    '"winner": "tie"}\n'
)


@pytest.mark.parametrize("variant", list(utf16_variants("")))
@pytest.mark.parametrize(("suffix", "content"), [("csv", CSV_TEXT), ("jsonl", JSONL_TEXT)])
def test_bom_utf16_and_crlf_files_read_like_utf8(
    store: Store, tmp_path: Path, variant: str, suffix: str, content: str
) -> None:
    path = tmp_path / f"votes.{suffix}"
    path.write_bytes(utf16_variants(content)[variant])

    report = ingest_interactions(store, path, progress=False)

    assert report.interactions_added == 2
    frame = store.interactions_frame().set_index("id")
    assert list(frame.columns[:0]) == [] and sorted(frame.index) == ["v1", "v2"]
    assert frame.loc["v1", "query_text"] == "caf\u00e9 \u266b"
    assert frame.loc["v1", "model_a"] == "A"  # no BOM glued to the first field


def test_talkarena_file_with_bom_is_recognised(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "live.json"
    vote = {"model_a": "A", "model_b": "B", "outcome": 0.5}
    path.write_bytes(codecs.BOM_UTF8 + json.dumps({"_default": {"1": vote}}).encode())

    assert ingest_interactions(store, path, progress=False).interactions_added == 1


def test_model_names_are_trimmed(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text('model_a,model_b,winner\n" X",Y,model_a\nX ,Y,tie\n\tX,Y , model_b \n')

    ingest_interactions(store, path, progress=False)

    votes = store.votes_frame()
    assert set(votes["model_a"]) == {"X"} and set(votes["model_b"]) == {"Y"}
    assert store.status()["systems"] == 2 and store.status()["votes"] == 3


def test_contradiction_error_quotes_values_cut_short(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_bytes(jsonl({"id": "q1", "query_text": "short"}))
    ingest_interactions(store, first, progress=False)
    second = tmp_path / "b.jsonl"
    second.write_bytes(jsonl({"id": "q1", "query_text": "long " * 2_000_000}))

    with pytest.raises(IngestError, match=r"b.jsonl line 1: field 'query_text'") as caught:
        ingest_interactions(store, second, progress=False)

    # the 10,000,000 characters were cut to the query limit (100,000; the space at the cut goes)
    assert len(str(caught.value)) < 400 and "99,999 characters" in str(caught.value)


def test_epoch_seconds_in_csv_text_are_timestamps(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("id,query_text,timestamp\nq1,hi,1735689600\nq2,yo,2025-01-01T00:00:00Z\n")

    ingest_interactions(store, path, progress=False)

    stamps = store.interactions_frame().set_index("id")["timestamp"]
    assert stamps["q1"].replace(tzinfo=None) == stamps["q2"].replace(tzinfo=None)


def test_unreadable_file_is_one_line(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "votes.jsonl"
    folder.mkdir()
    with pytest.raises(IngestError, match="votes.jsonl: file not found"):
        ingest_interactions(store, folder, progress=False)
