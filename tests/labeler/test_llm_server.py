"""The `llm` labeler against a real OpenAI-compatible server (llama.cpp + SmolLM2-135M).

These check the plumbing (structured output parses and validates, the cache makes a rerun
free, tokens are counted), not label quality: a 135M model labels poorly.
"""

from __future__ import annotations

import pytest
from llm_server_fixture import LLMEndpoint

from arenalens.labeler import LabelDefinition
from arenalens.labeler.llm import LLMLabeler
from arenalens.labeler.llm_client import LLMClient
from arenalens.store import Store
from arenalens.store import tables as t

LABELS = [
    LabelDefinition("detail", "The answer was too long or too short."),
    LabelDefinition("accuracy", "The answer had wrong facts."),
]
CHOICES = {"polarity": ["positive", "negative"]}
TEXTS = ["A was way too long."]


def make(endpoint: LLMEndpoint, store: Store) -> LLMLabeler:
    """A labeler with a short output cap: the shared 2-core machine generates slowly."""
    client = LLMClient(
        base_url=endpoint.base_url,
        model=endpoint.model,
        store=store,
        timeout_s=240,
        max_retries=1,
        max_output_tokens=160,
    )
    return LLMLabeler(client, concurrency=1, max_field_chars=40)


@pytest.mark.slow  # one real generation: ~35-60 s on a busy 2-core machine
def test_real_server_labels_validate_and_rerun_is_free(
    llm_server: LLMEndpoint, sqlite_store: Store
) -> None:
    first = make(llm_server, sqlite_store)
    run_id = sqlite_store.start_run("labeler-test", {})
    first.run_id = run_id
    [result] = first.assign_labels(TEXTS, LABELS, attribute_choices=CHOICES)
    assert result.labeler == f"llm:{llm_server.model}"
    for assignment in result.labels:
        assert assignment.label in {"detail", "accuracy"}
        assert assignment.attributes["polarity"] in {"positive", "negative"}
        assert 0.0 <= assignment.confidence <= 1.0
        # a 135M model may invent a quote: the labeler passes it on unchanged and the coding
        # stage rejects non-verbatim evidence (tests/coding/test_sample_arena.py)
        assert isinstance(assignment.evidence, str)
    usage = first.usage()
    assert 1 <= usage["calls"] <= 2  # one ask, at most one re-ask
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0

    rerun = make(llm_server, sqlite_store)
    assert rerun.assign_labels(TEXTS, LABELS, attribute_choices=CHOICES) == [result]
    assert rerun.usage()["calls"] == 0 and rerun.usage()["cached_calls"] == 1

    recorded = sqlite_store.read_table(t.llm_usage)
    mine = recorded[recorded["run_id"] == run_id]
    assert mine["calls"].sum() == usage["calls"]
    assert mine["prompt_tokens"].sum() == usage["prompt_tokens"]


def test_real_server_names_a_group(llm_server: LLMEndpoint, sqlite_store: Store) -> None:
    labeler = make(llm_server, sqlite_store)
    named = labeler.name_group(["will it rain tomorrow", "weather in Paris"], ["play jazz"])
    assert named.name.strip() and isinstance(named.description, str)
    assert named.labeler == f"llm:{llm_server.model}"
    assert sqlite_store.count(t.llm_cache) == 1
