"""Bulk ingest (Arrow -> executemany/COPY) stores exactly what the row-by-row path stores."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from postgres_databases import create_test_database
from sqlalchemy import inspect, select

from arenalens.cli import main
from arenalens.errors import IngestError
from arenalens.ingest import ingest_interactions
from arenalens.store import Store
from arenalens.store import tables as t

VOTES = pd.DataFrame(
    {
        "id": ["v1", "v2", "v3", "", "", ""],
        "timestamp": [
            "2025-01-31T12:00:00Z",
            "1735689600",
            "",
            "2025-02-01 08:00:00+02:00",
            "",
            "",
        ],
        "user_id": ["u1", " u2", "u1", "", "u3", "u3"],
        "language": ["en", "th", "", "en", "", ""],
        "model_a": ["A", " B ", "A", "C", "A", "A"],
        "model_b": ["B", "C", "C", "A", "B", "B"],
        "winner": ["model_a", "tie", "model_b", "model_a", "model_a", "model_a"],
        "query_text": ["hi, there", 'say "x"', "", "multi\nline", "", ""],
        "feedback": ["B was slow", "", "", "", "same", "same"],
        "device": ["phone", "", "laptop", "", "", ""],
    }
)


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the tables an ingest writes, comparable across stores."""
    tables = {}
    with store.engine.connect() as conn:
        for table in (t.interactions, t.feedback):
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            tables[table.name] = [
                tuple(
                    v.isoformat()
                    if hasattr(v, "isoformat")
                    else json.dumps(v, sort_keys=True)
                    if isinstance(v, dict)
                    else v
                    for v in row
                )
                for row in rows
            ]
    return tables


def another_database(db_url: str, tmp_path: Path) -> str:
    """A second fresh database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'second.sqlite'}"
    return create_test_database(db_url)  # dropped at the end of the session


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.replace("", None).to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bulk_path_stores_what_the_row_path_stores(
    db_url: str, tmp_path: Path, suffix: str
) -> None:
    path = write(VOTES, tmp_path / f"votes{suffix}")
    bulk_store = Store.open(db_url)
    rows_store = Store.open(another_database(db_url, tmp_path))

    fast = ingest_interactions(bulk_store, path, progress=False)
    slow = ingest_interactions(rows_store, path, progress=False, bulk=False)

    assert fast.bulk and not slow.bulk
    assert (fast.interactions_added, fast.feedback_added) == (6, 3)
    assert (fast.interactions_added, fast.feedback_added) == (
        slow.interactions_added,
        slow.feedback_added,
    )
    assert dump(bulk_store) == dump(rows_store)


def test_bulk_reingest_of_an_appended_file_adds_the_new_rows(store: Store, tmp_path: Path) -> None:
    path = write(VOTES, tmp_path / "votes.csv")
    ingest_interactions(store, path, progress=False)
    write(pd.concat([VOTES, VOTES.tail(2).assign(id="")]), path)

    report = ingest_interactions(store, path, progress=False)

    assert report.bulk and report.interactions_added == 2 and store.count(t.interactions) == 8


def test_stored_id_with_other_content_goes_the_row_way(store: Store, tmp_path: Path) -> None:
    first = tmp_path / "queries.csv"
    first.write_text("id,query_text\nv1,hello\n")
    ingest_interactions(store, first, progress=False)
    votes = write(VOTES, tmp_path / "votes.csv")

    with pytest.raises(IngestError, match=r"votes.csv row 2: field 'query_text': interaction 'v1'"):
        ingest_interactions(store, votes, progress=False)
    assert store.count(t.interactions) == 1


def test_unchanged_file_is_skipped_and_says_so(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(VOTES, tmp_path / "votes.csv")
    args = ["--workspace", str(tmp_path / "ws"), "--db", db_url, "ingest"]
    main([*args, str(path)])
    capsys.readouterr()

    main([*args, str(path)])
    out = capsys.readouterr().out
    main([*args, "--json", str(path)])
    [report] = json.loads(capsys.readouterr().out)

    assert "unchanged since its ingest at" in out and "skipped (6 records)" in out
    assert report["skipped"] and report["interactions_added"] == 0 and report["records"] == 6


def test_same_bytes_with_another_field_map_are_not_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("sentence,id\nhello,q1\n")
    first = ingest_interactions(store, path, field_map={"sentence": "query_text"}, progress=False)
    again = ingest_interactions(store, path, field_map={"sentence": "query_text"}, progress=False)
    other = ingest_interactions(store, path, field_map={"sentence": "feedback"}, progress=False)

    assert first.interactions_added == 1 and again.skipped
    assert not other.skipped and other.feedback_added == 1


_names = itertools.count()
cells = st.sampled_from(
    ["A", "B", " A ", "model_a", "tie", "", "v1", "2025-01-01", "1e3"]
) | st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
header = st.lists(
    st.sampled_from(["id", "model_a", "model_b", "winner", "query_text", "timestamp", "x"]),
    unique=True,
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=int(os.environ.get("ARENALENS_FUZZ_EXAMPLES", "80")),
    deadline=None,
    derandomize=not os.environ.get("ARENALENS_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=header,
    data=st.data(),
    quoted=st.booleans(),
    terminator=st.sampled_from(["\n", "\r\n"]),
)
def test_bulk_and_row_paths_agree_on_any_csv(
    tmp_path: Path, names: list[str], data: st.DataObject, quoted: bool, terminator: str
) -> None:
    choices = {
        "model_a": st.sampled_from(["A", " A", "B"]),
        "model_b": st.sampled_from(["B", "C ", "A"]),
        "winner": st.sampled_from(["model_a", "model_b", "tie", ""]),
        "id": st.sampled_from(["v1", "v2", " v3", ""]),
        "timestamp": st.sampled_from(["2025-01-31T12:00:00Z", "1735689600", ""]),
    }
    row = st.tuples(*(choices.get(n, cells) for n in names)).map(list)
    rows = data.draw(
        st.lists(row, max_size=6) | st.lists(row | st.lists(cells, max_size=len(names) + 1))
    )
    folder = tmp_path / f"case{next(_names)}"
    folder.mkdir()
    if quoted:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=terminator).writerows([names, *rows])
        content = buffer.getvalue()
    else:
        content = "".join(",".join(line) + terminator for line in [names, *rows])
    path = folder / "votes.csv"
    path.write_text(content, newline="")
    outcomes = []
    for bulk in (True, False):
        store = Store.open(f"sqlite:///{folder / f'{bulk}.sqlite'}")
        try:
            report = ingest_interactions(store, path, progress=False, bulk=bulk)
            outcomes.append(("stored", report.interactions_added, dump(store)))
            event(f"stored, bulk={report.bulk}" if bulk else "stored")
        except IngestError as exc:
            outcomes.append(("refused", str(exc), dump(store)))
        store.engine.dispose()
    assert outcomes[0] == outcomes[1]


def index_names(store: Store) -> set[str]:
    return {index["name"] for index in inspect(store.engine).get_indexes("interactions")}


def test_indexes_survive_bulk_loads_and_fallbacks(sqlite_store: Store, tmp_path: Path) -> None:
    expected = index_names(sqlite_store)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,model_a,model_b,winner\nv1,A,B,tie\nv2,A,A,tie\n")
    with pytest.raises(IngestError, match="row 3: fields 'model_a'/'model_b'"):
        ingest_interactions(sqlite_store, bad, progress=False)
    assert index_names(sqlite_store) == expected and sqlite_store.count(t.interactions) == 0

    report = ingest_interactions(sqlite_store, write(VOTES, tmp_path / "votes.csv"), progress=False)

    assert report.bulk and index_names(sqlite_store) == expected
    assert {"ix_interactions_votes", "ix_interactions_model_b"} <= expected


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "row by row"])
def test_each_interaction_names_the_file_it_came_from(
    sqlite_store: Store, tmp_path: Path, bulk: bool
) -> None:
    first = write(VOTES.iloc[:3], tmp_path / "monday.csv")
    second = write(VOTES, tmp_path / "tuesday.csv")  # repeats monday's three, adds the rest

    ingest_interactions(sqlite_store, first, progress=False, bulk=bulk)
    ingest_interactions(sqlite_store, second, progress=False, bulk=bulk)

    rows = sqlite_store.read_frame(select(t.interactions.c.id, t.interactions.c.source))
    from_first = rows["id"].isin(VOTES["id"].iloc[:3])
    assert from_first.sum() == 3 and len(rows) == len(VOTES)
    assert (rows.loc[from_first, "source"] == str(first)).all()  # the first file keeps them
    assert (rows.loc[~from_first, "source"] == str(second)).all()


digits = st.integers(min_value=0, max_value=99).map("{:02d}".format)
stamps = st.one_of(
    st.just(""),
    st.builds(
        "{}-{}-{}{}{}:{}:{}{}{}".format,
        st.integers(min_value=0, max_value=9999).map("{:04d}".format),
        st.sampled_from(["01", "02", "04", "12", "13", "00"]),
        st.sampled_from(["01", "28", "29", "30", "31", "32"]),
        st.sampled_from(["T", " ", "t"]),
        st.sampled_from(["00", "23", "24"]),
        digits,
        st.sampled_from(["00", "59", "60"]),
        st.sampled_from(["", ".000000", ".120000", ".5", ".123456"]),
        st.sampled_from(["", "Z", "+00:00", "+02:00", " "]),
    ),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(values=st.lists(stamps | st.none(), min_size=1, max_size=4))
def test_arrow_timestamps_equal_the_reference(values: list[str | None]) -> None:
    """Timestamps checked and converted in Arrow give what the value-by-value reference gives,
    or the same refusal (30 February, a 60th second, year 0, ...)."""
    import pyarrow as pa

    from arenalens.ingest import columns

    def outcome(convert: Any) -> Any:
        try:
            stamps = convert()
        except columns.NotBulk:
            return "refused"
        return stamps.hashed.to_pylist(), stamps.sqlite, stamps.values

    reference = outcome(lambda: columns.timestamp_column(values))
    assert outcome(lambda: columns.timestamp_array(pa.array(values, pa.string()))) == reference
    event("refused" if reference == "refused" else "converted")


texts = st.sampled_from(["A", " A", "A ", "", "a b", 'say "x"', "back\\slash", "\u0e01", "\x1f"])
texts = texts | st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(values=st.lists(texts | st.none(), min_size=1, max_size=4), name=st.sampled_from(
    ["model_a", "query_text", "user_id"]
))  # fmt: skip
def test_arrow_text_and_its_json_equal_the_reference(values: list[str | None], name: str) -> None:
    """Text fields normalised in Arrow, and their part of the content hash's JSON, equal the
    value-by-value reference (strip, empty to None, json.dumps)."""
    import pyarrow as pa

    from arenalens.ingest import columns

    try:
        expected = columns.text_column(values, name)
    except columns.NotBulk:
        with pytest.raises(columns.NotBulk):
            columns.text_array(pa.array(values, pa.string()), name)
        return
    array, json_plain = columns.text_array(pa.array(values, pa.string()), name)
    assert array.to_pylist() == expected
    parts = columns.json_parts(array, ', "x": ', json_plain).to_pylist()
    assert parts == ["" if v is None else ', "x": ' + json.dumps(v) for v in expected]
    event(f"json_plain={json_plain}")
