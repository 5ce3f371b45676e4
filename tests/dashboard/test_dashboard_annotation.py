"""The Annotate page: one item at a time, each save one durable row, then the next item."""

from __future__ import annotations

import html
import re

import pytest
from dashboard_testkit import page_text

from arenalens.config import Settings
from arenalens.context import AppContext

pytest.importorskip("coding.annotations")


def open_queue(workspace):
    from coding.annotations import AnnotationQueue
    from coding.codebook import resolve_codebook

    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    return app, AnnotationQueue(app.store, resolve_codebook(workspace))


def annotation_rows(workspace) -> int:
    from coding.persist import count_annotations

    app = AppContext(Settings(workspace=workspace))
    try:
        return count_annotations(app.store)
    finally:
        app.store.engine.dispose()


def start_as(render, workspace, annotator: str):
    at = render(workspace, "annotate.py")
    at.selectbox(key="annotate_annotator").set_value(annotator).run()
    assert not at.exception, at.exception
    return at


def save_button(at):
    return at.button(key="annotate_save")


def shows_item(at, feedback_id: str) -> bool:
    """Whether the page's item header names `feedback_id` (markdown escapes left out)."""
    return f"id {feedback_id} ·" in page_text(at).replace("\\", "")


def shown_feedback(at) -> str:
    """The text a reader sees in the feedback box (its HTML less our marks and code labels)."""
    box = next(h.proto.body for h in at.get("html") if "al-feedback" in h.proto.body)
    return html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<sup[^>]*>.*?</sup>", "", box)))


def test_annotator_sees_their_next_item_with_context(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    expected = queue.next_item("ann-1")
    at = start_as(render, coded_workspace, "ann-1")
    texts = [t.value for t in at.text]
    assert shown_feedback(at) == expected.feedback
    assert (expected.query or "(none)") in texts
    assert (expected.response_a or "(none)") in texts
    assert "0 of" in page_text(at)  # progress before any save
    assigned = queue.assignments()
    assert f"Item 1 of {int((assigned['annotator'] == 'ann-1').sum())}" in page_text(at)
    # the codebook's definitions are a click away
    from arenalens.display import display_name

    assert any(e.label == display_name(queue.codebook.codes[0].name) for e in at.expander)
    app.store.engine.dispose()


def test_accepting_the_machine_codes_writes_one_row_and_moves_on(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    first = queue.next_item("ann-1")
    before = annotation_rows(coded_workspace)
    at = start_as(render, coded_workspace, "ann-1")
    save_button(at).click().run()
    assert not at.exception, at.exception
    assert annotation_rows(coded_workspace) == before + 1
    from coding.persist import annotations_frame

    saved = annotations_frame(app.store, queue.version).iloc[-1]
    assert saved["annotator"] == "ann-1"
    assert saved["feedback_id"] == first.feedback_id
    machine = {c["code"] for c in first.machine_codes}
    assert {code for code, d in saved["decisions"].items() if d["present"]} == machine
    # the next item is shown only after the save is in the store
    following = queue.next_item("ann-1")
    assert following.feedback_id != first.feedback_id
    assert shows_item(at, following.feedback_id)
    assert any(t.value.startswith(f"Saved item {first.feedback_id}") for t in at.toast)
    assert "1 of" in page_text(at)
    app.store.engine.dispose()


def test_a_corrected_code_is_saved_as_corrected(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    item = queue.next_item("ann-2")
    code = queue.codebook.code_names[0]
    was_present = any(c["code"] == code for c in item.machine_codes)
    at = start_as(render, coded_workspace, "ann-2")
    at.button(key=f"annotate_toggle|{item.feedback_id}|{code}").click().run()
    at.text_input(key=f"ann|{item.feedback_id}|note").input("machine missed this")
    save_button(at).click().run()
    assert not at.exception, at.exception
    from coding.persist import annotations_frame

    saved = annotations_frame(app.store, queue.version).iloc[-1]
    assert saved["decisions"][code]["present"] is (not was_present)
    assert saved["note"] == "machine missed this"
    app.store.engine.dispose()


def test_a_new_annotator_draws_their_own_items_from_the_page(render, coded_workspace):
    at = render(coded_workspace, "annotate.py")
    # a name typed into the box: the browser sends it as the chosen string (AppTest only
    # picks listed options, so the typed name is added to the list it sends from)
    names = at.selectbox(key="annotate_annotator")
    names.options.append("newcomer")
    names.set_value("newcomer").run()
    assert not at.exception, at.exception
    assert "No items are assigned to newcomer" in page_text(at)
    assert "arenalens annotate sample" not in page_text(at)  # no CLI needed
    at.selectbox(key="annotate_annotator").options.append("newcomer")
    at.button(key="annotate_draw").click().run()
    assert not at.exception, at.exception
    app, queue = open_queue(coded_workspace)
    mine = queue.assignments().query("annotator == 'newcomer'")
    others = queue.assignments().query("sample == 'check'")
    per_person = others.groupby("annotator").size().median()
    assert len(mine) == round(per_person)  # the campaign's share per annotator
    # some items are shared with an annotator who already has them (people's agreement)
    assert 0 < mine["overlap"].sum() < len(mine)
    assert set(mine.loc[mine["overlap"] == 1, "feedback_id"]) <= set(others["feedback_id"])
    app.store.engine.dispose()
    # the page now shows their first item
    assert "Item 1 of" in page_text(at)


def test_agreement_page_counts_the_saved_annotations(render, coded_workspace):
    at = start_as(render, coded_workspace, "ann-1")
    save_button(at).click().run()
    save_button(at).click().run()
    agreement = render(coded_workspace, "agreement.py")
    assert not agreement.exception, agreement.exception
    metrics = {m.label: m.value for m in agreement.metric}
    assert metrics["Items annotated"] == "2"


def test_annotate_without_coding_names_the_command(render, tiny_workspace):
    at = render(tiny_workspace, "annotate.py")
    assert not at.exception
    assert "arenalens code" in page_text(at)


def test_a_disagreement_is_listed_and_can_be_adjudicated(render, coded_workspace):
    from coding.persist import adjudications_frame

    app, queue = open_queue(coded_workspace)
    assigned = queue.assignments()
    shared = assigned.groupby("feedback_id")["annotator"].nunique()
    item = shared[shared == 2].index[0]
    code = queue.codebook.code_names[0]
    queue.save("ann-1", item, {code: True})
    queue.save("ann-2", item, {code: False})
    at = render(coded_workspace, "agreement.py")
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Unresolved disagreements"] == "1"
    at.selectbox(key="adjudicate_item").set_value(f"{item} / {code}")
    assert at.radio(key="adjudicate_verdict").value is None  # nothing is decided for them
    at.radio(key="adjudicate_verdict").set_value("present")
    at.text_input(key="adjudicate_by").input("lead")
    next(b for b in at.button if b.label == "Save adjudication").click().run()
    assert not at.exception, at.exception
    settled = adjudications_frame(app.store, queue.version)
    assert list(zip(settled["feedback_id"], settled["code"], settled["present"], strict=True)) == [
        (item, code, 1)
    ]
    assert {m.label: m.value for m in at.metric}["Unresolved disagreements"] == "0"
    app.store.engine.dispose()


def test_nobody_is_preselected_as_the_annotator(render, coded_workspace):
    at = render(coded_workspace, "annotate.py")
    assert not at.exception, at.exception
    assert at.selectbox(key="annotate_annotator").value is None
    assert "Choose your name" in page_text(at)
    assert not [b for b in at.button if b.key == "annotate_save"]


def test_every_action_has_its_key(render, coded_workspace):
    at = start_as(render, coded_workspace, "ann-1")
    shortcuts = {b.key.split("|")[-1]: b.proto.shortcut for b in at.button if b.key}
    codes = open_queue(coded_workspace)[1].codebook.code_names
    assert [shortcuts[code] for code in codes] == [str((i + 1) % 10) for i in range(len(codes))]
    assert shortcuts["annotate_save"] == "enter"
    assert shortcuts["annotate_skip"] == "s"
    assert (shortcuts["annotate_next"], shortcuts["annotate_previous"]) == ("j", "k")
    assert "Enter" in page_text(at) and "P/X/B/U" in page_text(at)  # the legend


def test_skip_moves_on_without_saving_and_browsing_comes_back(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    first = queue.next_item("ann-1")
    before = annotation_rows(coded_workspace)
    at = start_as(render, coded_workspace, "ann-1")
    at.button(key="annotate_skip").click().run()
    assert annotation_rows(coded_workspace) == before
    assert "Item 2 of" in page_text(at)
    at.button(key="annotate_previous").click().run()
    assert "Item 1 of" in page_text(at)
    assert shows_item(at, first.feedback_id)
    at.button(key="annotate_next").click().run()
    assert "Item 2 of" in page_text(at)
    app.store.engine.dispose()


def test_a_saved_item_revisited_shows_the_saved_answer(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    item = queue.next_item("ann-1")
    code = queue.codebook.code_names[0]
    was_present = any(c["code"] == code for c in item.machine_codes)
    at = start_as(render, coded_workspace, "ann-1")
    at.button(key=f"annotate_toggle|{item.feedback_id}|{code}").click().run()
    save_button(at).click().run()
    assert "Item 2 of" in page_text(at)
    fresh = render(coded_workspace, "annotate.py")  # a new session: nothing left in memory
    fresh.selectbox(key="annotate_annotator").set_value("ann-1").run()
    fresh.button(key="annotate_previous").click().run()
    assert "Item 1 of" in page_text(fresh) and "saved" in page_text(fresh)
    toggle = fresh.button(key=f"annotate_toggle|{item.feedback_id}|{code}")
    assert (toggle.proto.type == "primary") is (not was_present)
    app.store.engine.dispose()


def test_agreement_warns_when_kappa_rests_on_few_items(render, coded_workspace):
    at = start_as(render, coded_workspace, "ann-1")
    save_button(at).click().run()
    agreement = render(coded_workspace, "agreement.py")
    assert not agreement.exception, agreement.exception
    warning = " ".join(w.value for w in agreement.warning)
    assert "fewer than 20 items" in warning and "not certainty" in warning


def test_adjudication_shows_each_answer_by_name_and_filters_by_code(render, coded_workspace):
    app, queue = open_queue(coded_workspace)
    assigned = queue.assignments()
    shared = assigned.groupby("feedback_id")["annotator"].nunique()
    item = shared[shared == 2].index[0]
    first, second = queue.codebook.code_names[:2]
    queue.save("ann-1", item, {first: True, second: True}, note="clearly both")
    queue.save("ann-2", item, {first: False, second: False})
    at = render(coded_workspace, "agreement.py")
    assert not at.exception, at.exception
    from arenalens.display import display_name

    assert set(at.selectbox(key="adjudicate_item").options) == {
        f"{item} / {display_name(first)}",
        f"{item} / {display_name(second)}",
    }
    at.selectbox(key="adjudicate_code").set_value(second).run()
    assert at.selectbox(key="adjudicate_item").options == [f"{item} / {display_name(second)}"]
    answers = next(
        t.value for t in at.table if list(t.value.columns)[:2] == ["annotator", "answer"]
    )
    assert dict(zip(answers["annotator"], answers["answer"], strict=True)) == {
        "ann-1": "present",
        "ann-2": "absent",
    }
    assert "clearly both" in list(answers["note"])
    context = queue.item(item)
    assert (context.query or "(none)") in [t.value for t in at.text]
    assert (context.response_b or "(none)") in [t.value for t in at.text]
    assert "Machine" in page_text(at)
    app.store.engine.dispose()


def test_the_queue_starts_with_what_the_coder_was_unsure_of_and_shows_its_confidence(
    render, coded_workspace
):
    from coding.queue import coder_confidence, uncertain_first

    app, queue = open_queue(coded_workspace)
    assigned = queue.assignments()
    mine = list(dict.fromkeys(assigned.loc[assigned["annotator"] == "ann-1", "feedback_id"]))
    scores = coder_confidence(app.store, queue.version, mine)
    assert len(scores), "the offline coder stores a probability per item and code"
    order = uncertain_first(mine, scores)
    unsure = scores[scores["decision"] == "uncertain"]
    if len(unsure):  # the sample holds items the coder was unsure of: they lead the queue
        assert order[0] in set(unsure["feedback_id"])
    at = start_as(render, coded_workspace, "ann-1")
    assert shows_item(at, order[0])
    first = scores[scores["feedback_id"] == order[0]].set_index("code")
    labels = {
        b.key.split("|")[-1]: b.label for b in at.button if (b.key or "").startswith("annotate_t")
    }
    for code, row in first.iterrows():
        shown = labels[code].replace("\\", "")
        if row["decision"] == "present":
            assert f"(machine {row['probability']:.2f})" in shown
        elif row["decision"] == "uncertain":
            assert f"(unsure {row['probability']:.2f})" in shown
            assert "coder unsure of" in page_text(at)
        else:
            assert "(" not in shown
    app.store.engine.dispose()
