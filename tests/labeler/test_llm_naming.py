"""The LLM naming prompt: central and boundary texts, contrast, sibling names to differ from, a
JSON schema for the reply, and the cache (a loopback server stands in for the endpoint)."""

from __future__ import annotations

import json

from fault_server import FaultServer

from arenalens.labeler import NamingRequest
from arenalens.labeler.llm import LLMLabeler
from arenalens.labeler.llm_client import LLMClient
from arenalens.store import Store

REPLY = json.dumps(
    {"name": "Weather forecasts", "description": "Asking what the weather will be.",
     "keywords": ["rain", "forecast"]}
)  # fmt: skip
REQUEST = NamingRequest(
    central=["will it rain tomorrow", "what's the forecast for sunday"],
    boundary=["should i take a coat tonight"],
    contrast=["set an alarm for six", "play some jazz"],
    sibling_names=["Setting alarms", "Music playback"],
    keywords=["rain", "forecast"],
)


def labeler_on(server: FaultServer, store: Store) -> LLMLabeler:
    client = LLMClient(base_url=server.base_url, model="naming-model", store=store,
                       timeout_s=5.0, max_retries=1, backoff_base_s=0.01)  # fmt: skip
    return LLMLabeler(client, concurrency=2)


def test_naming_prompt_shows_edges_contrast_and_the_names_to_differ_from(sqlite_store: Store):
    with FaultServer([("ok", REPLY)]) as server:
        named = labeler_on(server, sqlite_store).name_clusters([REQUEST], instructions="Be plain.")
    assert (named[0].name, named[0].labeler) == ("Weather forecasts", "llm:naming-model")
    assert named[0].description == "Asking what the weather will be."
    body = server.requests[0].body
    prompt = body["messages"][-1]["content"]
    for section, text in [
        ("Most typical texts of the group", "will it rain tomorrow"),
        ("Texts at the edge of the group", "should i take a coat tonight"),
        ("Texts from nearby groups", "set an alarm for six"),
        ("Names nearby groups already have", "- Setting alarms"),
        ("Words that mark the group", "rain, forecast"),
        ("Instructions", "Be plain."),
    ]:
        assert section in prompt and text in prompt.split(section, 1)[1]
    assert prompt.index("edge of the group") < prompt.index("nearby groups (for contrast)")
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["name", "description", "keywords"]


def test_renaming_the_same_groups_is_served_from_the_cache(sqlite_store: Store):
    with FaultServer([("ok", REPLY)]) as server:
        first = labeler_on(server, sqlite_store).name_clusters([REQUEST])
        again = labeler_on(server, sqlite_store)
        second = again.name_clusters([REQUEST])
        other = again.name_clusters([NamingRequest(central=["hello there"])])
    assert first == second and other[0].name == "Weather forecasts"
    assert len(server.requests) == 2  # the repeat made no call, the new group one
    assert again.usage()["cached_calls"] == 1


def test_personal_details_never_reach_the_endpoint(sqlite_store: Store):
    request = NamingRequest(
        central=["call me on 555 123 4567", "email jane.doe@example.com the photos"],
        boundary=["text 555 987 6543 that i'm late"],
        sibling_names=["Calls to jane.doe@example.com"],
    )
    with FaultServer([("ok", REPLY)]) as server:
        labeler_on(server, sqlite_store).name_clusters([request])
    prompt = server.requests[0].body["messages"][-1]["content"]
    assert "555 123 4567" not in prompt and "jane.doe@example.com" not in prompt
    assert "555 987 6543" not in prompt
