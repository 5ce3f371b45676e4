"""Two boards compared (text-out vs speech-out): Kendall τ, its interval, the caveat."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ranking.board_agreement import board_agreement


def board(ratings: dict[str, float], half_width: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": list(ratings),
            "rating": list(ratings.values()),
            "ci_low": [r - half_width for r in ratings.values()],
            "ci_high": [r + half_width for r in ratings.values()],
        }
    )


def test_same_order_with_tight_intervals_is_tau_one_with_a_tight_interval():
    names = [f"m{k}" for k in range(9)]
    text = board({m: 1000 + 50 * k for k, m in enumerate(names)}, half_width=5)
    speech = board({m: 900 + 30 * k for k, m in enumerate(names)}, half_width=5)
    result = board_agreement(text, speech, ("text-out", "speech-out"))
    assert result.tau == pytest.approx(1.0)
    assert result.ci_low == pytest.approx(1.0) and result.ci_high == pytest.approx(1.0)
    assert result.p_value < 0.001
    assert "alike" in result.sentence and "9 shared models" in result.sentence
    assert "no order can be told from chance" not in result.caveat


def test_reversed_order_is_tau_minus_one():
    text = board({"a": 1100, "b": 1000, "c": 900, "d": 800, "e": 700}, half_width=1)
    speech = board({"a": 700, "b": 800, "c": 900, "d": 1000, "e": 1100}, half_width=1)
    result = board_agreement(text, speech)
    assert result.tau == pytest.approx(-1.0)
    assert "opposite" in result.sentence


def test_overlapping_intervals_widen_the_interval_of_tau():
    """The same point order, but ratings within each other's intervals: τ is 1 on the points
    and the interval admits disagreement."""
    ratings = {f"m{k}": 1000 + 10 * k for k in range(6)}
    result = board_agreement(board(ratings, 60), board(ratings, 60))
    assert result.tau == pytest.approx(1.0)
    assert result.ci_low < 0.5 <= result.ci_high


def test_few_models_say_that_no_order_can_be_told_from_chance():
    text = board({"a": 1100, "b": 1000, "c": 900, "d": 800}, half_width=1)
    result = board_agreement(text, text, ("text-out", "speech-out"))
    assert result.tau == pytest.approx(1.0)
    # 4 models: even perfect agreement has permutation p = 2 / 4! = 0.083
    assert result.p_value == pytest.approx(2 / 24)
    assert "With only 4 models no order can be told from chance" in result.caveat
    assert "0.08" in result.caveat


def test_only_shared_models_count_and_too_few_cannot_be_compared():
    text = board({"a": 1100, "b": 1000, "x": 900})
    speech = board({"a": 1000, "b": 1100, "y": 900})
    result = board_agreement(text, speech, ("text-out", "speech-out"))
    assert math.isnan(result.tau) and result.ci_low is None
    assert result.only_first == ("x",) and result.only_second == ("y",)
    assert "cannot be compared: only 2 models are ranked on both" in result.sentence
    assert result.to_dict()["sentence"] == result.sentence


def test_answer_form_agreement_compares_the_text_and_spoken_boards_of_ranked_models():
    from ranking.board_agreement import answer_form_agreement

    text = board({"a": 1100, "b": 1000, "c": 900, "d": 800, "e": 700}, 5).assign(
        slice_value="text", rank=[1, 2, 3, 4, 5]
    )
    speech = board({"a": 800, "b": 1000, "c": 900, "d": 1100, "e": 700}, 5).assign(
        slice_value="speech",
        rank=[4, 2, 3, 1, 0],  # e: too few spoken votes, left out
    )
    result = answer_form_agreement(pd.concat([text, speech]))
    assert result.models == ("a", "b", "c", "d") and result.only_first == ("e",)
    assert (result.first, result.second) == ("text answers (read)", "spoken answers (heard)")
    assert result.tau == pytest.approx(-2 / 3)  # of 6 pairs only b > c agree
    assert answer_form_agreement(text) is None


def test_boards_with_no_model_in_common_say_so_in_words():
    result = board_agreement(board({"a": 1100}), board({"b": 1000}), ("text-out", "speech-out"))
    assert "cannot be compared: no model is ranked on both" in result.sentence
    assert "only 0" not in result.sentence
