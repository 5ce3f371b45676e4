"""The AnnotationQueue: next item, save, progress, adjudication, CSV round trip."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from coding_fixtures import KeywordLabeler

from arenalens.store import Store
from coding import persist
from coding.annotations import AnnotationQueue, CodeDecision
from coding.codebook import codebook_from_dict, load_codebook
from coding.coder import code_feedback
from coding.errors import AnnotationError, CodebookMixError
from coding.sampling import create_validation_sample


@pytest.fixture
def queue(small_store: Store) -> AnnotationQueue:
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    create_validation_sample(small_store, codebook, ["ann", "bob"], size=10, overlap=0.2, seed=0)
    return AnnotationQueue(small_store, codebook)


def test_next_item_shows_feedback_context_and_machine_codes(queue: AnnotationQueue):
    item = queue.next_item("ann")
    assert item is not None and item.sample == "validation" and item.position == 0
    assert item.feedback and item.query.startswith("question number")
    assert item.winner in ("model_a", "model_b", "tie")
    for code in item.machine_codes:
        assert code["evidence"] in item.feedback


def test_saving_moves_the_annotator_on_until_done(queue: AnnotationQueue):
    seen = []
    while (item := queue.next_item("ann")) is not None:
        seen.append(item.feedback_id)
        queue.accept_machine("ann", item.feedback_id)
        assert len(seen) <= 10
    progress = queue.progress().set_index("annotator")
    assert progress.loc["ann", "annotated"] == progress.loc["ann", "assigned"] == len(seen)
    assert progress.loc["ann", "remaining"] == 0 and progress.loc["bob", "annotated"] == 0
    assert queue.next_item("nobody") is None


def test_every_save_is_one_row_and_the_latest_counts(queue: AnnotationQueue):
    fid = queue.next_item("ann").feedback_id
    queue.save("ann", fid, {"detail": True})
    queue.save(
        "ann",
        fid,
        {"detail": CodeDecision(True, "rejected", "negative"), "accuracy": True},
        note="fixed",
    )
    rows = persist.annotations_frame(queue.store, queue.version, latest_only=False)
    assert len(rows) == 2 and set(rows["codebook_version"]) == {queue.version}
    labels = queue.human_labels().set_index("code")
    assert labels.loc["accuracy", "present"] == 1 and labels.loc["helpfulness", "present"] == 0
    assert labels.loc["detail", "status"] == "single"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"annotator": " ", "decisions": {}}, "annotator must be a non-empty name"),
        ({"decisions": {"speed": True}}, "unknown codes"),
        ({"decisions": {"detail": {"present": True, "side": "left"}}}, "side: expected one of"),
        ({"decisions": {"detail": "maybe"}}, "expected 1/0"),
        ({"feedback_id": "nope", "decisions": {}}, "no feedback item"),
    ],
)
def test_invalid_saves_are_refused(queue: AnnotationQueue, kwargs, message):
    args = {"annotator": "ann", "feedback_id": "fb-0000", **kwargs}
    with pytest.raises(AnnotationError, match=message):
        queue.save(args["annotator"], args["feedback_id"], args["decisions"])
    assert persist.count_annotations(queue.store) == 0


def test_disagreements_go_to_adjudication(queue: AnnotationQueue):
    assigned = queue.assignments()
    double = assigned[assigned["overlap"] == 1]["feedback_id"].iloc[0]
    queue.save("ann", double, {"detail": True, "other": True})
    queue.save("bob", double, {"detail": False, "other": True})
    open_ = queue.disagreements()
    assert list(open_["code"]) == ["detail"] and list(open_["feedback_id"]) == [double]
    queue.adjudicate(double, "detail", True, "lead", note="it says too short")
    assert queue.disagreements().empty
    labels = queue.human_labels().set_index(["feedback_id", "code"])
    assert labels.loc[(double, "detail"), "status"] == "adjudicated"
    assert labels.loc[(double, "detail"), "present"] == 1
    assert labels.loc[(double, "other"), "status"] == "consensus"


def test_csv_round_trip_saves_rows_marked_done_once(queue: AnnotationQueue, tmp_path: Path):
    path = tmp_path / "ann.csv"
    assert queue.export_csv(path, annotator="ann") == len(
        queue.assignments().query("annotator == 'ann'")
    )
    rows = list(csv.DictReader(path.open()))
    rows[0]["done"], rows[0]["note"] = "1", "looks right"
    rows[1]["done"] = "yes"
    rows[1]["detail"] = "1" if rows[1]["detail"] == "0" else "0"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    quiet = {"kept_newer": 0, "kept_newer_lines": []}
    assert queue.import_csv(path) == {"rows_done": 2, "saved": 2, "unchanged": 0, **quiet}
    assert queue.import_csv(path) == {"rows_done": 2, "saved": 0, "unchanged": 2, **quiet}
    saved = persist.annotations_frame(queue.store, queue.version, latest_only=False)
    assert len(saved) == 2 and set(saved["source"]) == {"csv"}
    assert "looks right" in set(saved["note"])


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def _write(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_export_carries_answers_saved_in_the_dashboard(queue: AnnotationQueue, tmp_path: Path):
    item = queue.next_item("ann")
    machine = {c["code"] for c in item.machine_codes}
    # the annotator disagrees with the machine on every code, in the dashboard
    mine = {name: name not in machine for name in queue.codebook.code_names}
    queue.save("ann", item.feedback_id, mine, note="from the dashboard")
    path = tmp_path / "ann.csv"
    queue.export_csv(path, annotator="ann")
    row = next(r for r in _rows(path) if r["feedback_id"] == item.feedback_id)
    assert row["done"] == "1" and row["note"] == "from the dashboard"
    assert {n for n in queue.codebook.code_names if row[n] == "1"} == {
        n for n, present in mine.items() if present
    }  # the annotator's answer, not the machine's codes
    others = [r for r in _rows(path) if r["feedback_id"] != item.feedback_id]
    assert all(r["done"] == "" and r["saved_annotation"] == "" for r in others)
    # re-importing the export changes nothing: their dashboard work is not overwritten
    counts = queue.import_csv(path)
    assert counts["saved"] == 0 and counts["unchanged"] == 1


def test_import_never_silently_replaces_a_newer_dashboard_save(
    queue: AnnotationQueue, tmp_path: Path
):
    item = queue.next_item("ann")
    codes = queue.codebook.code_names
    path = tmp_path / "ann.csv"
    queue.export_csv(path, annotator="ann")
    rows = _rows(path)
    row = next(r for r in rows if r["feedback_id"] == item.feedback_id)
    row["done"], row["note"] = "1", "spreadsheet answer"
    _write(path, rows)
    # after the export the annotator answers the same item in the dashboard
    queue.save("ann", item.feedback_id, {codes[0]: True}, note="dashboard answer")
    counts = queue.import_csv(path)
    assert counts["saved"] == 0 and counts["kept_newer"] == 1 and counts["kept_newer_lines"]
    latest = persist.annotations_frame(queue.store, queue.version)
    assert set(latest.loc[latest["feedback_id"] == item.feedback_id, "note"]) == {
        "dashboard answer"
    }
    # a fresh export starts from the dashboard answer; edited there, it imports
    queue.export_csv(path, annotator="ann")
    rows = _rows(path)
    row = next(r for r in rows if r["feedback_id"] == item.feedback_id)
    assert row["note"] == "dashboard answer"
    row["note"] = "changed my mind"
    _write(path, rows)
    assert queue.import_csv(path)["saved"] == 1
    # and re-editing the same spreadsheet after its own import is allowed
    row["note"] = "changed it again"
    _write(path, rows)
    assert queue.import_csv(path)["saved"] == 1


def test_csv_of_another_codebook_version_is_refused(queue: AnnotationQueue, tmp_path: Path):
    path = tmp_path / "ann.csv"
    queue.export_csv(path)
    data = load_codebook().to_dict()
    data["version"] = "9"
    other = AnnotationQueue(queue.store, codebook_from_dict(data))
    with pytest.raises(CodebookMixError, match="is not"):
        other.import_csv(path)


def test_csv_with_a_bad_value_saves_nothing(queue: AnnotationQueue, tmp_path: Path):
    path = tmp_path / "ann.csv"
    queue.export_csv(path)
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        row["done"] = "1"
    rows[-1]["accuracy"] = "perhaps"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(AnnotationError, match=rf"line {len(rows) + 1}, column accuracy"):
        queue.import_csv(path)
    assert persist.count_annotations(queue.store) == 0


def test_csv_naming_an_unknown_code_saves_nothing(queue: AnnotationQueue, tmp_path: Path):
    path = tmp_path / "ann.csv"
    queue.export_csv(path)
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        row["done"], row["speed"] = "1", "1"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(AnnotationError, match=r"columns \['speed'\] are not codes"):
        queue.import_csv(path)
    assert persist.count_annotations(queue.store) == 0


def test_csv_export_defuses_spreadsheet_formulas(small_store: Store, tmp_path: Path):
    from arenalens.store import tables as t

    codebook = load_codebook()
    with small_store.transaction() as conn:
        conn.execute(
            t.feedback.update()
            .where(t.feedback.c.id == "fb-0000")
            .values(text="=HYPERLINK(1) too short")
        )
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    queue = AnnotationQueue(small_store, codebook)
    create_validation_sample(small_store, codebook, ["ann"], size=40)
    queue.export_csv(tmp_path / "x.csv")
    row = next(
        r for r in csv.DictReader((tmp_path / "x.csv").open()) if r["feedback_id"] == "fb-0000"
    )
    assert row["feedback"] == "'=HYPERLINK(1) too short"


def test_csv_export_escapes_the_annotator_and_imports_it_back(small_store: Store, tmp_path: Path):
    """Every text cell is escaped, the annotator's name too, and the import strips exactly
    the escape: the annotation is saved under the name as written (=evil, not '=evil)."""
    from arenalens.csv_safe import formula_cells

    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    create_validation_sample(small_store, codebook, ["=evil()", "-rf"], size=10, overlap=0.0)
    queue = AnnotationQueue(small_store, codebook)
    path = tmp_path / "ann.csv"
    queue.export_csv(path)
    assert formula_cells(path.read_text()) == 0
    rows = list(csv.DictReader(path.open(newline="")))
    assert {r["annotator"] for r in rows} == {"'=evil()", "'-rf"}
    for row in rows:
        row["done"] = "1"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert queue.import_csv(path)["saved"] == len(rows)
    saved = persist.annotations_frame(small_store, queue.version)
    assert set(saved["annotator"]) == {"=evil()", "-rf"}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_a_utf16_copy_of_an_export_imports_as_the_original(
    queue: AnnotationQueue, tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "ann.csv"
    queue.export_csv(path, annotator="ann")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[0]["done"], rows[0]["note"] = "1", "naïve — ok"
    with path.open("w", newline="", encoding=encoding) as handle:  # a spreadsheet's re-save
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    counts = queue.import_csv(path)
    assert (counts["rows_done"], counts["saved"], counts["unchanged"]) == (1, 1, 0)
    saved = persist.annotations_frame(queue.store, queue.version)
    assert saved["note"].tolist() == ["naïve — ok"]


@pytest.mark.parametrize("head", [b"", b"\xff\xfe", b"f\x00e\x00"], ids=["noise", "bom", "nuls"])
def test_random_bytes_are_refused_in_one_line(
    queue: AnnotationQueue, tmp_path: Path, head: bytes
) -> None:
    import random

    from arenalens.errors import ArenalensError

    path = tmp_path / "ann.csv"
    path.write_bytes(head + random.Random(7).randbytes(4096))
    with pytest.raises(ArenalensError) as refused:
        queue.import_csv(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)
    assert persist.count_annotations(queue.store) == 0
