"""Data files people write (codebook, categories, systems, settings, aliases) fail with one line
naming the file and what is wrong, as the stage's own error."""

from __future__ import annotations

import pytest

from arenalens.datafiles import read_json, read_yaml
from coding.codebook import load_codebook
from coding.errors import CodebookError
from inference.errors import SystemConfigError
from inference.systems import load_systems
from taxonomy.categories import load_categories
from taxonomy.errors import CategoriesError


class ExampleError(CodebookError):
    pass


def test_a_missing_file_is_named_with_what_it_should_be(tmp_path):
    with pytest.raises(ExampleError, match=r"nope\.yaml: codebook file not found"):
        read_yaml(tmp_path / "nope.yaml", ExampleError, "codebook file")
    with pytest.raises(ExampleError, match="not found"):
        read_json(tmp_path, ExampleError)  # a folder is not a file


def test_invalid_or_undecodable_text_is_one_line_naming_the_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("codes: [\n")
    with pytest.raises(ExampleError, match=r"broken\.yaml: not valid YAML"):
        read_yaml(broken, ExampleError)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"name": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(ExampleError, match=r"latin\.json: not UTF-8 text"):
        read_json(latin, ExampleError)
    half = tmp_path / "half.json"
    half.write_text('{"a": ')
    with pytest.raises(ExampleError, match=r"half\.json: not valid JSON"):
        read_json(half, ExampleError)


def test_valid_files_parse(tmp_path):
    (tmp_path / "a.yaml").write_text("a: [1, 2]\n")
    (tmp_path / "b.json").write_text('{"b": "é"}', encoding="utf-8")
    assert read_yaml(tmp_path / "a.yaml", ExampleError) == {"a": [1, 2]}
    assert read_json(tmp_path / "b.json", ExampleError) == {"b": "é"}


@pytest.mark.parametrize(
    ("load", "error", "what"),
    [
        (load_codebook, CodebookError, "codebook file"),
        (load_categories, CategoriesError, "categories file"),
        (load_systems, SystemConfigError, "systems file"),
    ],
)
def test_each_stage_reports_its_own_data_file(tmp_path, load, error, what):
    with pytest.raises(error, match=f"missing.yaml: {what} not found"):
        load(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("x: [\n")
    with pytest.raises(error, match="broken.yaml: not valid YAML"):
        load(broken)
