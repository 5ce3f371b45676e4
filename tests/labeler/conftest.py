"""Fixtures for the labeler tests: the real local LLM server, the embedder, the codebook."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

# The lead may register this plugin suite-wide; importing it here keeps these tests working
# either way (the server itself is one per process).
from llm_server_fixture import llm_server, llm_server_url  # noqa: F401

from arenalens.labeler.base import LabelDefinition

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def label_set_from_codebook(path: Path) -> list[LabelDefinition]:
    """The codes of a codebook YAML file as LabelDefinitions."""
    data = yaml.safe_load(path.read_text())
    return [
        LabelDefinition(
            name=code["name"],
            definition=code["definition"],
            include=tuple(code.get("include") or ()),
            exclude=tuple(code.get("exclude") or ()),
            positive_examples=tuple(code.get("positive_examples") or ()),
            negative_examples=tuple(code.get("negative_examples") or ()),
        )
        for code in data["codes"]
    ]


@pytest.fixture(scope="session")
def codebook_labels() -> list[LabelDefinition]:
    """The shipped default codebook (data/codebook.yaml) as a label set."""
    return label_set_from_codebook(REPO_ROOT / "data" / "codebook.yaml")


@pytest.fixture(scope="session")
def feedback_eval() -> list[dict]:
    """Hand-written feedback with gold loss reasons (tests/labeler/feedback_eval.yaml)."""
    return yaml.safe_load((HERE / "feedback_eval.yaml").read_text())
