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
