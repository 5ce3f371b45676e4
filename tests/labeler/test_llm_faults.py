"""The `llm` labeler against a loopback server that injects 429, 5xx, hangs and bad JSON."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fault_server import FaultServer
from sqlalchemy import select

from arenalens.config import Settings
from arenalens.embeddings import Embedder
from arenalens.labeler import BudgetExhausted, LabelDefinition, LabelerError, make_labeler
from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.labeler.llm import LLMLabeler
from arenalens.labeler.llm_client import LLMClient, cache_key
from arenalens.store import Store
from arenalens.store import tables as t

LABELS = [
    LabelDefinition("detail", "level of detail or length", positive_examples=("too long",)),
    LabelDefinition("accuracy", "factual correctness", positive_examples=("wrong facts",)),
]
CHOICES = {"side": ["a", "b", "both"], "polarity": ["positive", "negative"]}
GOOD = json.dumps(
    {
        "labels": [
            {
                "name": "detail",
                "evidence": "way too long",
                "confidence": 0.9,
                "rationale": "length",
                "side": "a",
                "polarity": "negative",
            }
        ]
    }
)
SECRET = "sk-test-SECRET-0123456789abcdef"


def make(
    server: FaultServer, store: Store | None, **kwargs: object
) -> tuple[LLMLabeler, list[float]]:
    """A labeler on the fault server that records its back-off sleeps instead of sleeping."""
    sleeps: list[float] = []
    options: dict[str, object] = {"timeout_s": 5.0, "max_retries": 3, "backoff_base_s": 0.01}
    options.update(kwargs)
    concurrency = int(options.pop("concurrency", 1))  # type: ignore[call-overload]
    client = LLMClient(
        base_url=server.base_url, model="fault-model", store=store, sleep=sleeps.append, **options
    )  # type: ignore[arg-type]
    return LLMLabeler(client, concurrency=concurrency), sleeps


def label(labeler: LLMLabeler, text: str = "A was way too long.") -> list:
    return labeler.assign_labels([text], LABELS, attribute_choices=CHOICES)


def test_valid_reply_is_parsed_with_attributes_and_verbatim_evidence(sqlite_store: Store) -> None:
    with FaultServer([("ok", GOOD)]) as server:
        labeler, _ = make(server, sqlite_store)
        [result] = label(labeler)
    [assignment] = result.labels
    assert (assignment.label, assignment.evidence, assignment.confidence) == (
        "detail",
        "way too long",
        0.9,
    )
    assert assignment.attributes == {"side": "a", "polarity": "negative"}
    assert result.labeler == "llm:fault-model"
    sent = server.requests[0].body
    assert sent["response_format"]["type"] == "json_schema"
    item = sent["response_format"]["json_schema"]["schema"]["properties"]["labels"]["items"]
    assert item["properties"]["name"]["enum"] == ["detail", "accuracy"]
    assert item["properties"]["side"]["enum"] == ["a", "b", "both"]


def test_server_errors_are_retried_with_backoff_until_success(sqlite_store: Store) -> None:
    script = [("status", 500), ("status", 503), ("status", 502), ("ok", GOOD)]
    with FaultServer(script) as server:
        labeler, sleeps = make(server, sqlite_store)
        [result] = label(labeler)
    assert [a.label for a in result.labels] == ["detail"]
    assert len(server.requests) == 4
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[2]  # exponential: base * 2**attempt, jitter at most halves it
    assert labeler.usage()["calls"] == 1  # failed attempts are not billed calls


def test_rate_limit_waits_at_least_retry_after(sqlite_store: Store) -> None:
    with FaultServer([("status", 429, {"Retry-After": "2"}), ("ok", GOOD)]) as server:
        labeler, sleeps = make(server, sqlite_store)
        label(labeler)
    assert sleeps == [pytest.approx(2.0)]


def test_retry_after_is_honoured_in_real_time(sqlite_store: Store) -> None:
    with FaultServer([("status", 429, {"Retry-After": "1"}), ("ok", GOOD)]) as server:
        client = LLMClient(
            base_url=server.base_url, model="m", store=sqlite_store, backoff_base_s=0.01
        )
        LLMLabeler(client).assign_labels(["A was way too long."], LABELS, attribute_choices=CHOICES)
    first, second = server.requests
    assert second.at - first.at >= 0.95


def test_hanging_server_times_out_and_is_retried(sqlite_store: Store) -> None:
    with FaultServer([("hang", 3.0), ("ok", GOOD)]) as server:
        labeler, sleeps = make(server, sqlite_store, timeout_s=0.5)
        [result] = label(labeler)
    assert len(server.requests) == 2 and len(sleeps) == 1
    assert result.labels[0].label == "detail"


def test_retries_are_bounded_then_labeler_error(sqlite_store: Store) -> None:
    with FaultServer([("status", 500)]) as server:
        labeler, sleeps = make(server, sqlite_store, max_retries=2)
        with pytest.raises(LabelerError, match="failed after 3 attempts"):
            label(labeler)
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_client_errors_are_not_retried(sqlite_store: Store) -> None:
    with FaultServer([("status", 401, {}, "invalid api key")]) as server:
        labeler, sleeps = make(server, sqlite_store)
        with pytest.raises(LabelerError, match="refused the request \\(401\\)"):
            label(labeler)
    assert len(server.requests) == 1 and sleeps == []


def test_garbage_body_is_retried(sqlite_store: Store) -> None:
    with FaultServer([("garbage",), ("ok", GOOD)]) as server:
        labeler, _ = make(server, sqlite_store)
        [result] = label(labeler)
    assert len(server.requests) == 2 and result.labels[0].label == "detail"


def test_malformed_json_is_reasked_once_with_the_error(sqlite_store: Store) -> None:
    with FaultServer([("ok", '{"labels": [ {"name": "detail", '), ("ok", GOOD)]) as server:
        labeler, _ = make(server, sqlite_store)
        [result] = label(labeler)
    assert result.labels[0].label == "detail"
    reask = server.requests[1].body["messages"]
    assert reask[-2]["role"] == "assistant" and reask[-1]["role"] == "user"
    assert "not valid JSON" in reask[-1]["content"]


def test_invalid_output_twice_raises_labeler_error(sqlite_store: Store) -> None:
    bad_label = json.dumps({"labels": [{**json.loads(GOOD)["labels"][0], "name": "speed"}]})
    with FaultServer([("ok", "not json at all"), ("ok", bad_label)]) as server:
        labeler, _ = make(server, sqlite_store)
        with pytest.raises(LabelerError, match="invalid output twice.*'speed' is not one of"):
            label(labeler)
    assert len(server.requests) == 2
    assert sqlite_store.count(t.llm_cache) == 0  # nothing invalid is cached


def test_attribute_outside_its_choices_is_invalid(sqlite_store: Store) -> None:
    wrong = json.dumps({"labels": [{**json.loads(GOOD)["labels"][0], "side": "left"}]})
    with FaultServer([("ok", wrong)]) as server:
        labeler, _ = make(server, sqlite_store)
        with pytest.raises(LabelerError, match="side 'left' is not one of"):
            label(labeler)


def test_recased_evidence_is_matched_and_paraphrase_is_kept_for_rejection(
    sqlite_store: Store,
) -> None:
    feedback = "Great voice. But A was way too long, honestly."
    replies = [
        json.dumps({"labels": [{**json.loads(GOOD)["labels"][0], "evidence": quote}]})
        for quote in ("a WAS WAY too long", "A is too LONG")
    ]
    with FaultServer([("ok", replies[0]), ("ok", replies[1])]) as server:
        labeler, _ = make(server, sqlite_store)
        [recased] = label(labeler, feedback)
        [paraphrased] = label(labeler, "B was too short.")
    assert recased.labels[0].evidence == "A was way too long"
    # not snapped to some clause: the coder's verbatim-substring check must see the paraphrase
    assert paraphrased.labels[0].evidence == "A is too LONG"


def test_unsupported_json_schema_falls_back_to_json_object(sqlite_store: Store) -> None:
    rejection = ("status", 400, {}, "response_format json_schema is not supported")
    with FaultServer([rejection, ("ok", GOOD)]) as server:
        labeler, sleeps = make(server, sqlite_store)
        label(labeler)
        label(labeler, "B was too short.")
    formats = [r.body.get("response_format", {}) for r in server.requests]
    assert formats[0]["type"] == "json_schema"
    assert formats[1] == {"type": "json_object", "schema": formats[1]["schema"]}
    assert formats[2]["type"] == "json_object"  # the fallback is remembered
    assert sleeps == []


def test_rerun_is_served_from_the_cache(store: Store) -> None:
    texts = ["A was way too long.", "B got the date wrong.", "A was way too long."]
    with FaultServer([("ok", GOOD)]) as server:
        first, _ = make(server, store)
        results = first.assign_labels(texts, LABELS, attribute_choices=CHOICES)
        calls_first = len(server.requests)
        again, _ = make(server, store)
        rerun = again.assign_labels(texts, LABELS, attribute_choices=CHOICES)
    assert calls_first == 2  # the repeated text is served from the cache
    assert len(server.requests) == calls_first  # the rerun made zero calls
    assert again.usage()["calls"] == 0 and again.usage()["cached_calls"] == 3
    assert rerun == results


def test_cache_key_changes_with_model_messages_schema_and_params() -> None:
    base = ("m", [{"role": "user", "content": "x"}], {"type": "object"}, {"temperature": 0})
    variants = [
        ("m2", *base[1:]),
        (base[0], [{"role": "user", "content": "y"}], *base[2:]),
        (*base[:2], {"type": "array"}, base[3]),
        (*base[:3], {"temperature": 0.5}),
    ]
    assert len({cache_key(*base), *(cache_key(*v) for v in variants)}) == 5


def test_call_budget_stops_cleanly_and_a_rerun_resumes(sqlite_store: Store) -> None:
    texts = [f"text number {i} was too long" for i in range(5)]
    with FaultServer([("ok", GOOD)]) as server:
        capped, _ = make(server, sqlite_store, max_calls=2)
        with pytest.raises(BudgetExhausted, match="2 calls.*2 of 5 items done"):
            capped.assign_labels(texts, LABELS, attribute_choices=CHOICES)
        assert len(server.requests) == 2
        assert sqlite_store.count(t.llm_cache) == 2  # the finished work is saved
        resumed, _ = make(server, sqlite_store, max_calls=3)
        results = resumed.assign_labels(texts, LABELS, attribute_choices=CHOICES)
    assert len(results) == 5 and len(server.requests) == 5
    assert resumed.usage() == {
        "calls": 3,
        "cached_calls": 2,
        "prompt_tokens": 33,
        "completion_tokens": 21,
    }


def test_token_budget_stops_before_the_next_call(sqlite_store: Store) -> None:
    with FaultServer([("ok", GOOD)], usage=(40, 20)) as server:
        capped, _ = make(server, sqlite_store, max_tokens=100)
        with pytest.raises(BudgetExhausted, match="tokens"):
            capped.assign_labels(["a", "b", "c"], LABELS, attribute_choices=CHOICES)
    assert len(server.requests) == 2  # 60 tokens < 100 after one call, 120 after two


def test_usage_is_recorded_per_run(sqlite_store: Store) -> None:
    run_id = sqlite_store.start_run("coding", {})
    with FaultServer([("ok", GOOD)]) as server:
        labeler, _ = make(server, sqlite_store)
        labeler.run_id = run_id
        labeler.assign_labels(["a", "b"], LABELS, attribute_choices=CHOICES)
        labeler.assign_labels(["a"], LABELS, attribute_choices=CHOICES)
    rows = sqlite_store.read_table(t.llm_usage)
    assert set(rows["run_id"]) == {run_id}
    assert rows[["calls", "cached_calls", "prompt_tokens", "completion_tokens"]].sum().tolist() == [
        2,
        1,
        22,
        14,
    ]


def test_concurrency_is_bounded(sqlite_store: Store) -> None:
    with FaultServer([("hang", 0.3)]) as server:
        labeler, _ = make(server, sqlite_store, concurrency=2)
        labeler.assign_labels([f"t{i}" for i in range(6)], LABELS)
    assert server.max_in_flight == 2


def test_name_group_reply_is_validated(sqlite_store: Store) -> None:
    reply = json.dumps({"name": "Weather", "description": "Forecasts.", "keywords": ["rain"]})
    with FaultServer([("ok", '{"name": ""}'), ("ok", reply)]) as server:
        labeler, _ = make(server, sqlite_store)
        named = labeler.name_group(["will it rain", "forecast"], ["play jazz"])
    assert (named.name, named.keywords, named.labeler) == ("Weather", ("rain",), "llm:fault-model")
    assert len(server.requests) == 2


def test_api_key_is_sent_but_never_stored_or_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MY_LLM_KEY", SECRET)
    db = tmp_path / "ws.sqlite"
    store = Store.open(f"sqlite:///{db}")
    script = [("status", 500, {}, f"upstream echoed {SECRET}"), ("ok", "junk"), ("ok", GOOD)]
    with FaultServer(script) as server:
        settings = Settings(
            workspace=tmp_path,
            llm_base_url=server.base_url,
            llm_model="m",
            llm_api_key_env="MY_LLM_KEY",
        )
        labeler = make_labeler(settings, store, Embedder("default", store))
        labeler.client.sleep = lambda s: None  # type: ignore[attr-defined]
        labeler.assign_labels(["A was way too long."], LABELS, attribute_choices=CHOICES)
    assert server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    store.engine.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ws.sqlite*"))
    assert SECRET.encode() not in stored
    assert SECRET not in caplog.text
    assert "upstream echoed ***" in caplog.text  # the echo was scrubbed, not dropped
    assert SECRET not in repr(labeler.client)


def test_dummy_key_is_used_when_none_is_set(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARENALENS_LLM_API_KEY", raising=False)
    with FaultServer([("ok", GOOD)]) as server:
        settings = Settings(llm_base_url=server.base_url, llm_model="m")
        label(make_labeler(settings, sqlite_store, Embedder("default", sqlite_store)))  # type: ignore[arg-type]
    assert server.requests[0].headers["authorization"] == "Bearer not-needed"


def test_make_labeler_needs_endpoint_and_model(sqlite_store: Store) -> None:
    embedder = Embedder("default", sqlite_store)
    with pytest.raises(LabelerError, match="needs llm_base_url and llm_model"):
        make_labeler(Settings(labeler="llm"), sqlite_store, embedder)
    with pytest.raises(LabelerError, match="needs llm_model"):
        make_labeler(Settings(llm_base_url="http://127.0.0.1:9/v1"), sqlite_store, embedder)
    assert isinstance(make_labeler(Settings(), sqlite_store, embedder), EmbeddingLabeler)
    forced = make_labeler(
        Settings(labeler="embedding", llm_base_url="http://x/v1"), sqlite_store, embedder
    )
    assert isinstance(forced, EmbeddingLabeler)


def test_cached_reply_is_the_validated_json(sqlite_store: Store) -> None:
    with FaultServer([("ok", "```json\n" + GOOD + "\n```")]) as server:
        labeler, _ = make(server, sqlite_store)
        label(labeler)
    with sqlite_store.engine.connect() as conn:
        [(response, model)] = conn.execute(
            select(t.llm_cache.c.response, t.llm_cache.c.model)
        ).all()
    assert model == "fault-model" and response == json.loads(GOOD)
