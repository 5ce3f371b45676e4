"""The Annotate page's rules without a browser: queue cursor, evidence marking, kappa trust."""

from __future__ import annotations

import math

import pandas as pd

from dashboard.annotation_view import (
    Span,
    code_key,
    evidence_spans,
    highlighted_html,
    kappa_reliability,
    next_open,
    step,
)

ORDER = ["a", "b", "c", "d"]


def test_next_open_moves_forward_past_done_items_and_wraps():
    assert next_open(ORDER, done={"a"}, skipped=()) == "b"
    assert next_open(ORDER, done={"b", "c"}, skipped=(), after="a") == "d"
    assert next_open(ORDER, done={"d"}, skipped=(), after="c") == "a"


def test_skipped_items_come_back_only_when_nothing_else_is_open():
    assert next_open(ORDER, done=(), skipped={"a"}, after="a") == "b"
    assert next_open(ORDER, done={"b", "c", "d"}, skipped={"a"}, after="a") == "a"
    assert next_open(ORDER, done={"c", "d"}, skipped={"a", "b"}, after="b") == "a"


def test_next_open_is_none_when_the_queue_is_done():
    assert next_open(ORDER, done=set(ORDER), skipped=()) is None
    assert next_open([], done=(), skipped=()) is None


def test_step_browses_in_order_and_stops_at_the_ends():
    assert step(ORDER, "b", 1) == "c"
    assert step(ORDER, "b", -1) == "a"
    assert step(ORDER, "a", -1) == "a"
    assert step(ORDER, "d", 1) == "d"
    assert step(ORDER, "gone", 1) == "a"


def test_the_first_ten_codes_get_the_number_row_keys():
    assert [code_key(i) for i in range(11)] == [*"1234567890", None]


def test_evidence_is_marked_where_it_occurs_and_overlaps_name_both_codes():
    text = "too long and wrong, really too long"
    spans = evidence_spans(text, [("detail", "too long and"), ("accuracy", "and wrong")])
    assert spans == [
        Span("too long ", ("detail",)),
        Span("and", ("detail", "accuracy")),
        Span(" wrong", ("accuracy",)),
        Span(", really too long"),
    ]
    assert "".join(s.text for s in spans) == text


def test_evidence_not_in_the_text_is_left_out_and_case_is_forgiven():
    spans = evidence_spans("It Was Wrong.", [("accuracy", "was wrong"), ("detail", "absent")])
    assert spans == [Span("It "), Span("Was Wrong", ("accuracy",)), Span(".")]


def test_highlighting_escapes_user_text_and_adds_only_mark_tags():
    hostile = "<img src=x onerror=alert(1)> B was **much** better"
    out = highlighted_html(hostile, [("helpfulness", "much")])
    assert "<img" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert '<mark title="machine evidence: Helpfulness">much</mark>' in out  # in words
    assert "**" in out  # markdown is shown as typed, not interpreted


def test_code_names_in_markup_are_escaped_too():
    out = highlighted_html("x y", [('a"><script>', "y")])
    assert "<script>" not in out and "&quot;&gt;&lt;script&gt;" in out


def _per_code(rows):
    return pd.DataFrame(rows, columns=["code", "n", "kappa", "kappa_low", "kappa_high"])


def test_kappa_on_few_items_is_flagged_and_a_one_one_interval_is_not_certainty():
    table = kappa_reliability(
        _per_code(
            [
                ("few", 5, 1.0, 1.0, 1.0),
                ("flat", 40, 1.0, 1.0, 1.0),
                ("fine", 40, 0.6, 0.4, 0.8),
                ("none", 0, math.nan, math.nan, math.nan),
            ]
        )
    ).set_index("code")
    assert table.loc["few", "few_items"] and not table.loc["fine", "few_items"]
    assert "too few" in table.loc["few", "reading"]
    assert table.loc["flat", "ci_degenerate"]
    assert "not informative" in table.loc["flat", "reading"]
    assert table.loc["fine", "reading"] == "95% CI 0.40 to 0.80"
    assert table.loc["none", "reading"].startswith("no κ")


def test_the_prefill_never_contradicts_itself():
    from dashboard.annotation_view import consistent, start_attributes

    assert consistent("preferred", "negative") == ("preferred", "positive")
    assert consistent("rejected", "positive") == ("rejected", "negative")
    assert consistent("both", "positive") == ("both", "positive")  # no implied polarity
    assert start_attributes({"side": "preferred", "polarity": "negative"}) == (
        "preferred",
        "positive",
    )
    # a code switched on by hand starts as a loss reason
    assert start_attributes(None) == ("rejected", "negative")
    assert start_attributes({"side": "unclear", "polarity": None}) == ("unclear", "negative")


def test_side_and_polarity_keys_do_not_clash_with_other_keys():
    from dashboard.annotation_view import (
        MAX_CODE_KEYS,
        NEXT_KEY,
        POLARITY_KEYS,
        PREVIOUS_KEY,
        SIDE_KEYS,
        SKIP_KEY,
    )

    taken = {NEXT_KEY, PREVIOUS_KEY, SKIP_KEY, "C", "R"}  # C and R are Streamlit's own
    taken |= {code_key(k) for k in range(MAX_CODE_KEYS)}
    assert not (set(SIDE_KEYS) | set(POLARITY_KEYS)) & taken
    from coding.codebook import POLARITIES, SIDES

    assert set(SIDE_KEYS.values()) == set(SIDES) and set(POLARITY_KEYS.values()) == set(POLARITIES)
