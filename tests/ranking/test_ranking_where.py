"""`rank --where EXPR`: a safe filter over vote fields and metadata, with exclusions explained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ranking.errors import RankingError
from ranking.filters import evaluate_where, where_fields

FRAME = pd.DataFrame(
    {
        "language": ["en", "th", None, "en"],
        "ttft": [0.5, 3.0, 1.0, None],
        "device": ["phone", "laptop", "phone", "phone"],
    }
)


def test_comparisons_and_boolean_logic_select_rows() -> None:
    assert evaluate_where(FRAME, "language == 'en'").mask.tolist() == [True, False, False, True]
    assert evaluate_where(FRAME, "ttft < 2 and device == 'phone'").mask.tolist() == [
        True, False, True, False,
    ]  # fmt: skip
    assert evaluate_where(FRAME, "(language in ['th', 'en']) | (ttft > 0.9)").mask.tolist() == [
        True, True, True, True,
    ]  # fmt: skip
    assert evaluate_where(FRAME, "not language == 'en'").mask.tolist() == [
        False,
        True,
        False,
        False,
    ]


def test_votes_lacking_a_field_are_counted_apart_from_non_matches() -> None:
    result = evaluate_where(FRAME, "ttft < 2", weights=np.array([10, 20, 30, 40]))
    assert result.mask.tolist() == [True, False, True, False]
    assert result.excluded("ttft < 2") == {"lack ttft": 40, "do not match 'ttft < 2'": 20}


def test_numbers_stored_as_text_compare_as_numbers() -> None:
    frame = pd.DataFrame({"ttft": ["0.5", "3", None]})  # PostgreSQL's ->> returns text
    assert evaluate_where(frame, "ttft > 1").mask.tolist() == [False, True, False]


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('x')",
        "language.upper() == 'EN'",
        "[x for x in language]",
        "ttft ** 2",
    ],
)
def test_anything_beyond_fields_constants_and_comparisons_is_refused(expression: str) -> None:
    with pytest.raises(RankingError, match="is not allowed"):
        evaluate_where(FRAME, expression)


def test_unknown_fields_are_named_with_the_available_ones() -> None:
    with pytest.raises(RankingError, match="no vote has planet; available: device, language, ttft"):
        evaluate_where(FRAME, "planet == 'mars'")


def test_comparing_text_with_a_number_is_a_clear_error() -> None:
    with pytest.raises(RankingError, match="cannot compare text with int"):
        evaluate_where(FRAME, "device > 3")


def test_fields_are_listed_in_order_of_use() -> None:
    assert where_fields("b > 1 and a == 'x' or b < 0") == ["b", "a"]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0 == 1", "arithmetic is not allowed"),
        ("language", "language alone is not a condition"),
        ("device * 100000000 == 'x'", "arithmetic is not allowed"),
        ("'a' * 3000000000 == device", "arithmetic is not allowed"),
        ("ttft + 1 > 2", "arithmetic is not allowed"),
        ("-ttft < 1", "is not allowed"),
        ("language == ['en']", "a list belongs only after 'in'"),
        ("language in [device]", "holds literals, not fields"),
        ("language is None", "'is' is not allowed"),
        ("'en'", "a literal alone is not allowed"),
        ("language == b'en'", "the literal bytes is not allowed"),
    ],
)
def test_only_comparisons_of_fields_and_literals_are_conditions(
    expression: str, reason: str
) -> None:
    with pytest.raises(RankingError, match=reason):
        evaluate_where(FRAME, expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("language == '" + "a" * 300 + "'", "a text longer than 200 characters"),
        ("ttft in [" + ", ".join(["1"] * 1001) + "]", "a list longer than 1,000 items"),
        ("language == 'en' or " * 2000 + "ttft > 1", "longer than 20,000 characters"),
        ("not " * 30 + "ttft > 1", "nested deeper than 20 levels"),
        ("(" * 300 + "ttft > 1" + ")" * 300, "not a valid expression|nested deeper"),
        ("not " * 4000 + "ttft > 1", "not a valid expression|nested deeper"),
    ],
    ids=["long text", "long list", "long expression", "deep not", "deep brackets", "deeper"],
)
def test_sizes_are_bounded_and_the_message_stays_one_short_line(
    expression: str, reason: str
) -> None:
    with pytest.raises(RankingError, match=reason) as caught:
        evaluate_where(FRAME, expression)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400


def test_negative_numbers_and_tuples_after_in_still_work() -> None:
    assert evaluate_where(FRAME, "ttft > -1 and device in ('phone',)").mask.tolist() == [
        True, False, True, False,
    ]  # fmt: skip
