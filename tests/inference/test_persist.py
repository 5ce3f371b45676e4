"""Inference reads and writes on SQLite and PostgreSQL: one output per (query, system), retries replace."""

from __future__ import annotations

from arenalens.store import Store
from inference import persist


def _output(qid: str, system: str, text: str | None, error: str | None = None) -> dict:
    return {
        "interaction_id": qid,
        "system": system,
        "output_text": text,
        "error": error,
        "latency_s": 0.5,
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "model_revision": "abc",
        "params": {"seed": 0},
    }


def test_outputs_are_unique_per_query_and_system_and_retries_replace(
    store: Store, add_queries
) -> None:
    add_queries(store, [("q1", "hello", None), ("q2", "bye", "/audio/q2.wav")])
    persist.write_outputs(store, [_output("q1", "s", "hi"), _output("q2", "s", None, "timeout")])
    assert persist.finished_ids(store, "s") == {"q1"}
    persist.write_outputs(store, [_output("q2", "s", "see you")])
    frame = persist.outputs_frame(store, "s").set_index("interaction_id")
    assert (
        len(frame) == 2
        and frame.loc["q2", "output_text"] == "see you"
        and frame.loc["q2", "error"] is None
    )
    assert frame.loc["q1", "params"] == {"seed": 0}
    counts = persist.output_counts(store).set_index("system")
    assert (counts.loc["s", "outputs"], counts.loc["s", "errors"]) == (2, 0)


def test_inputs_join_typed_text_audio_and_transcripts(store: Store, add_queries) -> None:
    add_queries(store, [("q1", "typed", None), ("q2", None, "/audio/q2.wav")])
    assert list(persist.audio_frame(store, without_transcript=True)["interaction_id"]) == ["q2"]
    persist.write_transcripts(
        store,
        [
            {
                "interaction_id": "q2",
                "text": "spoken",
                "language": "en",
                "avg_logprob": -0.2,
                "model": "m",
            }
        ],
    )
    assert persist.audio_frame(store, without_transcript=True).empty
    inputs = persist.inference_inputs(store).set_index("interaction_id")
    assert (
        inputs.loc["q2", "transcript"] == "spoken" and inputs.loc["q2", "transcript_model"] == "m"
    )
    assert inputs.loc["q1", "query_text"] == "typed"
    assert persist.query_texts(store, ["q1", "q2"]) == {"q1": "typed", "q2": "spoken"}


def test_pairs_insert_once(store: Store, add_queries) -> None:
    add_queries(store, [("q1", "hello", None)])
    row = {
        "pair_id": "p1",
        "interaction_id": "q1",
        "system_a": "x",
        "system_b": "y",
        "response_a": "a",
        "response_b": "b",
        "extra": {},
    }
    assert persist.write_pairs(store, [row]) == 1
    assert persist.write_pairs(store, [row]) == 0
    assert list(persist.pairs_frame(store)["pair_id"]) == ["p1"]


def test_missing_texts_read_back_as_none_beside_present_ones(store: Store, add_queries) -> None:
    add_queries(store, [("q1", "hello", None), ("q2", "bye", None)])
    persist.write_outputs(store, [_output("q1", "s", "hi"), _output("q2", "s", None, "timeout")])
    records = persist.outputs_frame(store).set_index("interaction_id").to_dict("index")
    assert records["q1"]["error"] is None and records["q2"]["output_text"] is None
    assert (records["q1"]["output_text"], records["q2"]["error"]) == ("hi", "timeout")
