"""Streaming readers: each yields (location, record) so errors can name the line or row."""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from arenalens.errors import IngestError
from arenalens.ingest.records import check_text, quote

FORMATS = ("jsonl", "csv", "parquet", "talkarena")
Located = tuple[str, dict[str, Any]]


# Byte-order marks, longest first (a UTF-32-LE mark begins with the UTF-16-LE one).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
TALKARENA_HEAD = re.compile(r'\s*\{\s*"_default"')


def sniff_encoding(head: bytes) -> str:
    """UTF-8 unless a byte-order mark or the NUL pattern of ASCII in UTF-16 says otherwise."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    if len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be"
    return "utf-8"


def _file_head(path: Path, size: int = 64) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


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
        head = _file_head(path, 256)
        text = head.decode(sniff_encoding(head), errors="ignore").lstrip("\ufeff")
        if TALKARENA_HEAD.match(text):
            return "talkarena"
        raise IngestError(
            f"{path}: a .json file that is not a Talk Arena (TinyDB) vote file; use JSONL"
        )
    raise IngestError(
        f"{path}: cannot tell the format from {suffix!r}; pass --format {'|'.join(FORMATS)}"
    )


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines of a text file: UTF-8 with or without a BOM, or UTF-16/32 (detected by
    its BOM or NUL pattern); bytes that are not text are refused naming the line."""
    encoding = sniff_encoding(_file_head(path, 4))
    if encoding.startswith("utf-8"):
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise IngestError(
                        f"{path} line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                        f"byte {exc.start + 1} of the line); save the file as UTF-8"
                    ) from None
                yield number, line
        return
    number = 0
    with path.open(encoding=encoding, newline="") as handle:
        try:
            for number, line in enumerate(handle, start=1):  # noqa: B007 (used below)
                yield number, line.lstrip("\ufeff") if number == 1 else line
        except UnicodeError as exc:
            raise IngestError(
                f"{path} line {number + 1}: read as {encoding.upper()} (found by its first "
                f"bytes), but it is not valid {encoding.upper()} ({exc.reason}); save the file "
                f"as UTF-8"
            ) from None


def read_text(path: Path) -> str:
    """A whole text file, decoded as `text_lines` decodes it."""
    return "".join(line for _, line in text_lines(path))


def csv_dict_rows(path: Path) -> csv.DictReader:
    """A `csv.DictReader` over `path` decoded as ingest decodes it (UTF-8 with or without a BOM,
    UTF-16/32 by BOM or NUL pattern): for imports of files people saved from a spreadsheet.
    Bytes that are not text raise IngestError naming the line; malformed CSV raises csv.Error
    (callers name it with their own error)."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    return csv.DictReader(line for _, line in text_lines(path))


@contextmanager
def csv_import_errors(path: Path, error: type[Exception]) -> Iterator[None]:
    """Malformed CSV (csv.Error) and unreadable files (OSError) inside become `error` naming
    `path`, so an import of any bytes ends in one line."""
    try:
        yield
    except csv.Error as exc:
        raise error(f"{path}: not valid CSV ({exc})") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def parse_json(text: str, where: str) -> Any:
    """One JSON document; malformed, too deep or too large numbers are refused naming `where`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise IngestError(f"{where}: JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more than 4,300 digits
        raise IngestError(f"{where}: not valid JSON ({str(exc)[:80]})") from None


def read_jsonl(path: Path) -> Iterator[Located]:
    for number, line in text_lines(path):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        yield where, parse_json(line, where)


def read_csv(path: Path) -> Iterator[Located]:
    """CSV (TSV by the `.tsv` suffix) with a header row; every row has the header's fields."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    consumed = [0]  # lines the csv reader has pulled so far

    def lines() -> Iterator[str]:
        for number, line in text_lines(path):
            consumed[0] = number
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    row = 1
    try:
        header = next(reader, None)
        while header is not None and not any(field.strip() for field in header):
            header = next(reader, None)
        if header is None:
            raise IngestError(
                f"{path}: empty file; expected a header row naming the fields "
                f"(e.g. model_a,model_b,winner)"
            )
        header = [name.strip() for name in header]
        _check_header(path, header, consumed[0])
        width = len(header)
        row = consumed[0] + 1
        for fields in reader:
            where = f"{path} row {row}"
            row = consumed[0] + 1
            if len(fields) != width:
                if not any(field.strip() for field in fields):
                    continue  # blank line
                raise IngestError(f"{where}: {_field_count_problem(header, fields, delimiter)}")
            yield (
                where,
                {name: value for name, value in zip(header, fields, strict=True) if value != ""},
            )
    except csv.Error as exc:
        raise IngestError(f"{path} row {row}: not valid CSV ({exc})") from None


CSV_FIELD_LIMIT = 1 << 28  # characters per field (the csv module's default is 131,072)


def _check_header(path: Path, header: list[str], line: int) -> None:
    for position, name in enumerate(header, start=1):
        if not name:
            raise IngestError(
                f"{path} row {line}: header field {position} has no name; every column needs one"
            )
        check_text(name, name, f"{path} row {line}")
        if header.index(name) != position - 1:
            raise IngestError(f"{path} row {line}: header names {quote(name)} twice")


def _field_count_problem(header: list[str], fields: list[str], delimiter: str) -> str:
    if len(fields) > len(header):
        return (
            f"{_fields(len(fields))}, but the header names {len(header)}: unexpected value "
            f"{quote(fields[len(header)])} after the last field {quote(header[-1])} (quote values "
            f"that contain {delimiter!r})"
        )
    missing = header[len(fields) :]
    return f"{len(fields)} fields, but the header names {len(header)}: missing " + ", ".join(
        repr(name) for name in missing
    )


def _fields(count: int) -> str:
    return "1 field" if count == 1 else f"{count} fields"


def read_parquet(path: Path, batch_rows: int = 5000) -> Iterator[Located]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    row_number = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            for record in batch.to_pylist():
                row_number += 1
                yield f"{path} row {row_number}", {k: v for k, v in record.items() if v is not None}
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        where = f"{path} row {row_number + 1}" if row_number else str(path)
        raise IngestError(f"{where}: not a readable Parquet file: {str(exc)[:200]}") from None


TALKARENA_OUTCOMES = {0: "model_a", 0.5: "tie", 1: "model_b"}  # 0.0 == 0 and 1.0 == 1 as keys


def read_talkarena(path: Path) -> Iterator[Located]:
    """Talk Arena's TinyDB vote file: outcome 0 = model_a better, 0.5 = tie, 1 = model_b better."""
    text = read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (RecursionError, ValueError) as exc:
        raise IngestError(
            f"{path}: not valid JSON ({str(exc)[:80] or 'nested too deeply'})"
        ) from None
    table = document.get("_default") if isinstance(document, dict) else None
    if not isinstance(table, dict):
        raise IngestError(f'{path}: expected a TinyDB document {{"_default": {{id: vote}}}}')
    for key, vote in table.items():
        where = f"{path} vote {key if len(key) <= 80 else quote(key)}"
        if not isinstance(vote, dict):
            raise IngestError(f"{where}: expected an object")
        outcome = vote.get("outcome")
        if (
            not isinstance(outcome, int | float)
            or isinstance(outcome, bool)
            or outcome not in TALKARENA_OUTCOMES
        ):
            raise IngestError(
                f"{where}: field 'outcome': expected 0, 0.5 or 1, got {quote(outcome)}"
            )
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
            if not isinstance(latency, dict):
                raise IngestError(
                    f"{where}: field 'model_{side}_latency': expected an object, got {quote(latency)}"
                )
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
