"""Plain words for stored names: codes, categories, statistics, plurals, dates, empties."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from arenalens import display


def test_codes_and_categories_read_as_words():
    assert display.display_name("task_execution") == "Task execution"
    assert display.display_name("human_likeness") == "Human-likeness"
    assert display.display_name("text_primary") == "Text-primary"
    assert display.display_name("helpfulness") == "Helpfulness"
    # names people gave (models, clusters) are shown as given
    assert display.display_name("gemini_1.5f") == "gemini_1.5f"
    assert display.display_name("GPT-4o") == "GPT-4o"
    assert display.display_name(None) == "—"
    assert display.display_name(math.nan) == "—"


def test_voice_codes_fields_and_answer_forms_read_as_words():
    for code in ("prosody", "speaking_rate", "voice_fit", "audio_quality"):
        assert "_" not in display.display_name(code)
    assert display.display_name("speaking_rate_wps") == "Speaking rate (words per second)"
    assert display.display_name("time_to_first_audio_s") == "Time to first audio (seconds)"
    assert display.display_name("output_modality") == "Answer form"
    assert display.display_value("output_modality", "speech") == "Spoken answers (heard)"
    assert display.display_value("output_modality", "text") == "Text answers (read)"
    assert display.display_value("turn_depth", 2) == "2"
    assert display.display_value("output_modality", None) == "—"
    for column in ("output_modality", "turn_depth", "answer_duration_s", "speaking_rate_wps"):
        assert "_" not in display.statistic_label(column) and display.statistic_help(column)


def test_lists_are_words_not_python():
    text = display.join_words(["gemini_1.5f", "gemini_2f"])  # model names as given
    assert text == "gemini_1.5f and gemini_2f"
    assert "[" not in text and "'" not in text
    assert display.display_names(["accuracy", "detail", "language"]) == (
        "Accuracy, Detail and Language"
    )


def test_statistics_have_plain_headings_and_definitions():
    for column in ("ppi_rate", "odds_ratio_per_sd", "human_alpha", "r2_strength", "p_value"):
        label = display.statistic_label(column)
        assert "_" not in label, label
        assert display.statistic_help(column)
    assert display.statistic_label("some_new_column") == "some new column"


def test_plurals():
    assert display.plural(1, "vote") == "1 vote"
    assert display.plural(2, "vote") == "2 votes"
    assert display.plural(1, "validated item") == "1 validated item"
    assert display.plural(1204, "validated item") == "1,204 validated items"
    assert display.plural(3, "category") == "3 categories"
    assert display.plural(2, "match") == "2 matches"


def test_dates_are_human():
    assert display.human_date("2026-12-06 23:02:13.315118") == "6 Dec 2026, 23:02"
    assert display.human_date(datetime(2026, 12, 6, 9, 5)) == "6 Dec 2026, 09:05"
    assert display.human_date(pd.Timestamp("2026-12-06T23:02:13Z")) == "6 Dec 2026, 23:02"
    assert display.human_date(None) == "—"


def test_empty_values_say_why():
    assert display.or_dash(None, "no validated items") == "— (no validated items)"
    assert display.or_dash("x") == "x"
    assert display.readable_p(1.6e-1) == "0.16"
    assert display.readable_p(2e-5) == "< 0.001"


def test_readable_frame():
    frame = pd.DataFrame(
        {"code": ["task_execution"], "ppi_rate": [None], "finished_at": ["2026-12-06 23:02:13"]}
    )
    out = display.readable_frame(frame, names=["code"])
    assert list(out.columns) == ["code", "bias-corrected share", "finished"]
    assert out.iloc[0]["code"] == "Task execution"
    assert out.iloc[0]["finished"] == "6 Dec 2026, 23:02"


def test_the_words_are_shipped_data_read_once(monkeypatch):
    """The names and the statistics' headings and definitions live in data/display.yaml (not in
    a .py file), read once per process however often they are looked up."""
    from arenalens import datafiles

    calls = []
    real = datafiles.read_yaml
    monkeypatch.setattr(datafiles, "read_yaml", lambda *a, **k: calls.append(a) or real(*a, **k))
    display._mapping.cache_clear()
    try:
        for _ in range(3):
            display.display_name("text_primary")
            display.statistic_label("ppi_rate")
            display.statistic_help("kappa")
            display.stage_name("coding.sample")
        assert len(calls) == 1 and calls[0][0] == display.DATA_FILE
    finally:
        display._mapping.cache_clear()
    import yaml

    data = yaml.safe_load(display.DATA_FILE.read_text(encoding="utf-8"))
    assert data["names"]["text_primary"] == "Text-primary"
    for column, entry in data["statistics"].items():
        assert entry["heading"] and "_" not in entry["heading"], column
        assert entry["definition"].strip().endswith("."), column
    assert display.stage_name("coding.sample") == "Annotation sample"
    assert "STATISTICS" not in vars(display) and "NAMES" not in vars(display)


def test_a_share_and_its_interval_read_as_one_cell():
    assert display.share_with_ci(0.373, 0.344, 0.403) == "37% (34%–40%)"
    assert display.share_with_ci(None, None, None) == "—"
    assert display.benchmark_label("SLURP:Intent Detection") == "Intent Detection (SLURP)"
