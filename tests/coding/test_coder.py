"""The coder: codes with checked evidence, side/polarity, batching, resuming, self-consistency."""

from __future__ import annotations

import pytest
from coding_fixtures import FEEDBACK, KeywordLabeler

from arenalens.labeler.base import AssignmentResult, LabelAssignment
from arenalens.store import Store
from coding import persist
from coding.attributes import derive_side_polarity, find_mention
from coding.codebook import codebook_from_dict, load_codebook
from coding.coder import CodingConfig, build_item, code_feedback, describe_battle
from coding.errors import CodebookMixError, CodingError


def _codes_by_item(store: Store, version: str) -> dict[str, set[str]]:
    frame = persist.codes_frame(store, version)
    return {fid: set(group["code"]) for fid, group in frame.groupby("feedback_id")}


def test_coding_writes_the_codes_the_labeler_finds(arena_store: Store):
    codebook = load_codebook()
    summary = code_feedback(
        arena_store, KeywordLabeler(), codebook, CodingConfig(batch_size=7), progress=False
    )
    assert summary.coded_now == 40 and summary.remaining == 0
    assert summary.labeler_calls == 6  # ceil(40 / 7)
    coded = _codes_by_item(arena_store, codebook.version_key)
    for i in range(40):
        assert coded.get(f"fb-{i:04d}", set()) == FEEDBACK[i % len(FEEDBACK)][1]
    codes = persist.codes_frame(arena_store, codebook.version_key)
    texts = arena_store.feedback_frame().set_index("id")["text"]
    assert all(row.evidence in texts[row.feedback_id] for row in codes.itertuples())
    assert set(codes["run_id"]) == {summary.run_id}


def test_evidence_that_is_not_verbatim_is_rejected(small_store: Store):
    codebook = load_codebook()
    summary = code_feedback(
        small_store, KeywordLabeler(bad_evidence=["accuracy"]), codebook, progress=False
    )
    codes = persist.codes_frame(small_store, codebook.version_key)
    assert "accuracy" not in set(codes["code"])
    items = persist.items_frame(small_store, codebook.version_key)
    rejected = [r for rejections in items["rejected"] for r in rejections]
    assert summary.evidence_rejected == len(rejected) == 12  # 3 accuracy texts x 4 cycles
    assert {r["code"] for r in rejected} == {"accuracy"}


def test_rerun_codes_nothing_twice(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, progress=False)
    again = KeywordLabeler()
    summary = code_feedback(small_store, again, codebook, progress=False)
    assert again.calls == 0 and summary.coded_now == 0 and summary.already_coded == 40


def test_killed_run_resumes_with_only_what_is_missing(small_store: Store):
    codebook = load_codebook()
    with pytest.raises(KeyboardInterrupt):
        code_feedback(
            small_store,
            KeywordLabeler(fail_after_calls=3),
            codebook,
            CodingConfig(batch_size=5),
            progress=False,
        )
    version = codebook.version_key
    assert len(persist.coded_feedback_ids(small_store, version, any_run=True)) == 15  # 3 batches
    assert persist.coded_feedback_ids(small_store, version) == set()  # a failed run is not shown
    runs = small_store.runs_frame()
    assert runs.iloc[-1]["status"] == "failed"
    resumed = KeywordLabeler()
    summary = code_feedback(
        small_store, resumed, codebook, CodingConfig(batch_size=5), progress=False
    )
    assert summary.coded_now == 25 and resumed.calls == 5
    assert len(resumed.texts_seen) == 25
    assert len(persist.coded_feedback_ids(small_store, codebook.version_key)) == 40


def test_limit_codes_part_and_reports_the_rest(small_store: Store):
    summary = code_feedback(
        small_store, KeywordLabeler(), load_codebook(), CodingConfig(limit=12), progress=False
    )
    assert summary.coded_now == 12 and summary.remaining == 28


def test_a_second_labeler_cannot_silently_join_a_version(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(), codebook, CodingConfig(limit=5), progress=False)
    other = KeywordLabeler()
    other.name = "another-labeler"
    with pytest.raises(CodingError, match="--recode"):
        code_feedback(small_store, other, codebook, progress=False)
    summary = code_feedback(small_store, other, codebook, CodingConfig(recode=True), progress=False)
    assert summary.coded_now == 40
    assert persist.labelers_used(small_store, codebook.version_key) == {"another-labeler"}


def test_codes_of_two_codebook_versions_are_kept_apart(small_store: Store):
    first = load_codebook()
    data = first.to_dict()
    data["version"] = "2.0"
    data["codes"] = [c for c in data["codes"] if c["name"] != "other"]
    second = codebook_from_dict(data)
    code_feedback(small_store, KeywordLabeler(), first, progress=False)
    code_feedback(small_store, KeywordLabeler(), second, progress=False)
    assert "other" in set(persist.codes_frame(small_store, first.version_key)["code"])
    assert "other" not in set(persist.codes_frame(small_store, second.version_key)["code"])
    with pytest.raises(CodebookMixError, match="cannot be combined"):
        persist.codes_frame(small_store, [first.version_key, second.version_key])


def test_labeler_side_and_polarity_are_kept(small_store: Store):
    codebook = load_codebook()
    code_feedback(small_store, KeywordLabeler(with_attributes=True), codebook, progress=False)
    codes = persist.codes_frame(small_store, codebook.version_key)
    assert set(codes["side"]) == {"preferred"} and set(codes["attribute_source"]) == {"labeler"}


@pytest.mark.parametrize(
    ("text", "winner", "expected"),
    [
        ("B was way too short", "model_a", ("rejected", "negative")),
        ("B was way too short", "model_b", ("preferred", "negative")),
        ("A explained it step by step, clear and thorough", "model_a", ("preferred", "positive")),
        ("the first one sounded robotic", "model_b", ("rejected", "negative")),
        ("The other one sounded scripted.", "model_a", ("rejected", "negative")),
        ("more detailed and correct", "model_b", ("preferred", "positive")),
        ("it was wrong", "model_a", ("rejected", "negative")),
        ("B was rude", "tie", ("both", "negative")),
    ],
)
def test_side_and_polarity_rules(text, winner, expected):
    assert derive_side_polarity(text, text, winner) == expected


def test_article_a_is_not_read_as_response_a():
    assert find_mention("A bit too long for me") is None
    assert find_mention("I preferred A because") == "a"


def _result(*labels: tuple[str, str]) -> AssignmentResult:
    return AssignmentResult([LabelAssignment(code, evidence, 0.8) for code, evidence in labels])


def test_self_consistency_keeps_majority_codes_with_agreement_as_confidence():
    text = "B was too short and wrong"
    samples = [
        _result(("detail", "too short"), ("accuracy", "wrong")),
        _result(("detail", "too short")),
        _result(("detail", "B was too short"), ("language", "wrong")),
    ]
    item = build_item("fb", text, "model_a", samples)
    assert [c.code for c in item.codes] == ["detail"]
    assert item.codes[0].confidence == 1.0
    two_of_three = build_item("fb", text, "model_a", samples[:2] + [_result(("accuracy", "wrong"))])
    accuracy = next(c for c in two_of_three.codes if c.code == "accuracy")
    assert accuracy.confidence == pytest.approx(2 / 3, abs=1e-3)


def test_self_consistency_samples_call_the_labeler_k_times(small_store: Store):
    labeler = KeywordLabeler()
    summary = code_feedback(
        small_store,
        labeler,
        load_codebook(),
        CodingConfig(batch_size=40, samples=3),
        progress=False,
    )
    assert labeler.calls == 3 and summary.labeler_calls == 3
    codes = persist.codes_frame(small_store, load_codebook().version_key)
    assert set(codes["confidence"]) == {1.0}


def test_context_names_the_vote_and_both_responses():
    context = describe_battle(
        {"query": "what time is it", "response_a": "noon", "response_b": None, "winner": "model_b"}
    )
    assert "Query: what time is it" in context and "Response A: noon" in context
    assert "Response B: (not available)" in context and "B = preferred" in context


def test_empty_arena_codes_nothing(sqlite_store: Store):
    summary = code_feedback(sqlite_store, KeywordLabeler(), load_codebook(), progress=False)
    assert summary.coded_now == 0 and summary.feedback_total == 0


def test_an_exhausted_budget_stops_cleanly_and_a_rerun_resumes(small_store: Store):
    from arenalens.labeler.base import BudgetExhausted

    class BudgetedLabeler(KeywordLabeler):
        def assign_labels(self, texts, label_set, **kwargs):
            if self.calls >= 2:
                raise BudgetExhausted("max 2 calls")
            return super().assign_labels(texts, label_set, **kwargs)

    codebook = load_codebook()
    summary = code_feedback(
        small_store, BudgetedLabeler(), codebook, CodingConfig(batch_size=10), progress=False
    )
    assert (
        summary.coded_now == 20 and summary.remaining == 20 and "rerun to resume" in summary.stopped
    )
    assert small_store.runs_frame().iloc[-1]["status"] == "partial"
    assert code_feedback(small_store, KeywordLabeler(), codebook, progress=False).coded_now == 20
