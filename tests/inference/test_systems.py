"""Systems YAML: the shipped examples load; bad declarations name file, system and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.errors import SystemConfigError
from inference.systems import (
    DEFAULT_SYSTEM_PROMPT,
    SHIPPED_SYSTEMS_FILE,
    default_systems_file,
    get_system,
    load_systems,
    parse_systems,
)


def test_shipped_systems_cover_both_kinds_with_talk_arena_prompt() -> None:
    systems = load_systems(SHIPPED_SYSTEMS_FILE)
    kinds = {spec.kind for spec in systems.values()}
    assert kinds == {"pipeline", "end_to_end"}
    assert (
        DEFAULT_SYSTEM_PROMPT
        == "You are a helpful assistant. Respond conversationally to the speech provided."
    )
    assert all(spec.system_prompt == DEFAULT_SYSTEM_PROMPT for spec in systems.values())
    paper = systems["whisper-llama3-pipeline"]
    assert paper.asr is not None and paper.asr.model == "openai/whisper-large-v2"
    assert paper.model_id == "meta-llama/Meta-Llama-3-8B-Instruct"


def test_pipeline_gets_default_asr_and_greedy_decoding() -> None:
    spec = parse_systems({"systems": {"p": {"kind": "pipeline", "llm": {"model": "m"}}}})["p"]
    assert spec.asr is not None and (spec.asr.backend, spec.asr.model) == (
        "faster-whisper",
        "default",
    )
    assert spec.generation.do_sample is False and spec.seed == 0
    assert spec.params_record()["generation"]["max_new_tokens"] == 256


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "pipeline"}, "needs an `llm` section"),
        ({"kind": "end_to_end"}, "needs `model`"),
        ({"kind": "cascade", "model": "x"}, "kind"),
        ({"kind": "pipeline", "llm": {"backend": "openai", "model": "m"}}, "base_url is required"),
        (
            {"kind": "end_to_end", "model": "x", "generation": {"temperature": -1}},
            "generation.temperature",
        ),
        ({"kind": "end_to_end", "model": "x", "promt": "typo"}, "promt"),
    ],
)
def test_invalid_system_is_refused_with_file_system_and_field(
    tmp_path: Path, body: dict, message: str
) -> None:
    import yaml

    path = tmp_path / "systems.yaml"
    path.write_text(yaml.safe_dump({"systems": {"mine": body}}))
    with pytest.raises(SystemConfigError) as caught:
        load_systems(path)
    assert (
        str(path) in str(caught.value)
        and "'mine'" in str(caught.value)
        and message in str(caught.value)
    )


def test_file_without_systems_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "systems.yaml"
    path.write_text("- just a list\n")
    with pytest.raises(SystemConfigError, match="top-level `systems:` mapping"):
        load_systems(path)


def test_unknown_system_lists_known_names() -> None:
    systems = load_systems(SHIPPED_SYSTEMS_FILE)
    with pytest.raises(SystemConfigError, match="no system named 'gpt5'.*qwen2-audio"):
        get_system(systems, "gpt5")


def test_workspace_systems_file_wins_over_shipped(tmp_path: Path) -> None:
    assert default_systems_file(tmp_path) == SHIPPED_SYSTEMS_FILE
    (tmp_path / "systems.yaml").write_text("systems: {}\n")
    assert default_systems_file(tmp_path) == tmp_path / "systems.yaml"
