"""The codebook: shipped defaults, validation, versioning."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coding.codebook import (
    DEFAULT_CODEBOOK_PATH,
    codebook_from_dict,
    load_codebook,
    resolve_codebook,
)
from coding.errors import CodebookError

DEFAULT_CODES = [
    "helpfulness",
    "detail",
    "accuracy",
    "language",
    "human_likeness",
    "prosody",
    "speaking_rate",
    "voice_fit",
    "audio_quality",
    "other",
]


def test_default_codebook_has_its_ten_codes_with_rules_and_examples():
    codebook = load_codebook()
    assert codebook.code_names == DEFAULT_CODES
    for code in codebook.codes:
        assert code.definition and code.include and code.exclude
        assert len(code.positive_examples) >= 2 and len(code.negative_examples) >= 2


def test_version_key_changes_when_a_definition_changes():
    data = yaml.safe_load(DEFAULT_CODEBOOK_PATH.read_text())
    original = codebook_from_dict(data)
    data["codes"][0]["definition"] += " Also counts partial answers."
    changed = codebook_from_dict(data)
    assert original.version == changed.version
    assert original.version_key != changed.version_key


def test_version_key_ignores_file_formatting(tmp_path: Path):
    data = yaml.safe_load(DEFAULT_CODEBOOK_PATH.read_text())
    other = tmp_path / "codebook.yaml"
    other.write_text(yaml.safe_dump(data, width=40, sort_keys=True))
    assert load_codebook(other).version_key == load_codebook().version_key


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("version"), "missing required field 'version'"),
        (lambda d: d["codes"].append(dict(d["codes"][0])), "duplicate code name"),
        (lambda d: d["codes"][1].pop("definition"), "code 'detail': missing 'definition'"),
        (lambda d: d["codes"][2].update(colour="red"), "unknown fields ['colour']"),
        (lambda d: d["codes"][0].update(name="has space"), "must be a non-empty identifier"),
        (lambda d: d["codes"][0].update(name=""), "must be a non-empty identifier"),
        (lambda d: d.update(codes=[]), "'codes' must be a non-empty list"),
        (lambda d: d["codes"][2].update(cues=["wrong", " "]), "code 'accuracy'.cues"),
    ],
)
def test_invalid_codebook_is_refused_naming_the_problem(mutate, message):
    data = yaml.safe_load(DEFAULT_CODEBOOK_PATH.read_text())
    mutate(data)
    with pytest.raises(CodebookError, match=message.replace("[", r"\[").replace("]", r"\]")):
        codebook_from_dict(data, source="test.yaml")


def test_workspace_codebook_overrides_the_default(tmp_path: Path):
    (tmp_path / "codebook.yaml").write_text(
        yaml.safe_dump(
            {"name": "mine", "version": "2", "codes": [{"name": "speed", "definition": "too slow"}]}
        )
    )
    assert resolve_codebook(tmp_path).code_names == ["speed"]
    assert resolve_codebook(tmp_path, DEFAULT_CODEBOOK_PATH).code_names == DEFAULT_CODES
    assert resolve_codebook(tmp_path / "elsewhere").code_names == DEFAULT_CODES
