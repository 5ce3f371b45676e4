"""Batched generation: length sorting, OOM shrink-and-retry, and the transformers text backend."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from inference.generators import (
    GenerationRequest,
    GenerationResult,
    Generator,
    generate_all,
    length_sorted_batches,
    padding_fraction,
)
from inference.generators.transformers_lm import TransformersChatGenerator
from inference.systems import GenerationParams


def test_length_sorted_batches_pad_less_than_arrival_order() -> None:
    lengths = [5, 100, 7, 98, 6, 97, 8, 99]
    batches = length_sorted_batches(lengths, batch_size=4)
    assert batches[0] == [1, 7, 3, 5]  # longest first: the heaviest batch meets memory limits early
    arrival = [list(range(0, 4)), list(range(4, 8))]
    assert padding_fraction(lengths, batches) < 0.05 < padding_fraction(lengths, arrival)


def test_length_sorted_batches_respect_a_length_budget() -> None:
    batches = length_sorted_batches([10, 10, 10, 1, 1, 1], batch_size=8, max_batch_length=25)
    assert all(max([10, 10, 10, 1, 1, 1][i] for i in b) * len(b) <= 25 for b in batches)
    assert sorted(i for b in batches for i in b) == list(range(6))


class FakeCudaGenerator(Generator):
    """Echoes requests; raises a CUDA-style OOM for batches above `capacity` (records batch sizes)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.calls: list[int] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.calls.append(len(requests))
        if len(requests) > self.capacity:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [
            GenerationResult(r.item_id, f"answer to {r.text}", None, 0.1, 3, 2) for r in requests
        ]


def _requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(f"q{i}", text="x" * (i + 1), length=float(i + 1)) for i in range(n)]


def test_out_of_memory_halves_the_batch_and_keeps_it_small() -> None:
    fake = FakeCudaGenerator(capacity=2)
    written: list[list[str]] = []
    results = generate_all(
        _requests(9),
        fake,
        batch_size=8,
        on_batch=lambda b: written.append([r.item_id for r in b]),
        progress=False,
    )
    assert sorted(r.item_id for r in results) == sorted(f"q{i}" for i in range(9))
    assert all(r.error is None for r in results)
    assert fake.calls[:3] == [8, 4, 2] and set(fake.calls[3:]) <= {2, 1}
    assert written[0] == ["q8", "q7"]  # longest first


def test_single_item_out_of_memory_becomes_an_error_row_not_a_crash() -> None:
    results = generate_all(
        _requests(3), FakeCudaGenerator(capacity=0), batch_size=2, progress=False
    )
    assert [r.error is not None and "out of memory" in r.error for r in results] == [True] * 3


def test_other_errors_are_not_swallowed() -> None:
    class Broken(Generator):
        def generate(self, requests):
            raise ValueError("bad prompt")

    with pytest.raises(ValueError, match="bad prompt"):
        generate_all(_requests(2), Broken(), batch_size=2, progress=False)


def test_transformers_chat_generator_answers_a_padded_batch(tiny_causal_lm: Path) -> None:
    params = GenerationParams(max_new_tokens=6)
    generator = TransformersChatGenerator(
        str(tiny_causal_lm), params, seed=0, system_prompt="Be brief.", device="cpu"
    )
    texts = ["hi", "what is the weather like today in the city of paris"]
    batch = generator.generate([GenerationRequest(f"q{i}", text=t) for i, t in enumerate(texts)])
    assert [r.item_id for r in batch] == ["q0", "q1"]
    assert all(r.error is None and isinstance(r.text, str) for r in batch)
    assert all(1 <= r.completion_tokens <= 6 for r in batch)
    prompt_lengths = [
        len(generator.tokenizer(generator.prompt(t), add_special_tokens=False).input_ids)
        for t in texts
    ]
    assert [r.prompt_tokens for r in batch] == prompt_lengths  # padding is not counted
    single = [
        generator.generate([GenerationRequest(f"q{i}", text=t)])[0] for i, t in enumerate(texts)
    ]
    assert [r.text for r in single] == [
        r.text for r in batch
    ]  # left padding does not change greedy output


def test_vllm_backend_without_vllm_says_how_to_install() -> None:
    import importlib.util

    from inference.errors import BackendUnavailableError
    from inference.generators import make_generator
    from inference.systems import parse_systems

    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    systems = parse_systems(
        {
            "systems": {
                "p": {"kind": "pipeline", "llm": {"model": "m"}},
                "e": {"kind": "end_to_end", "model": "m"},
            }
        }
    )
    with pytest.raises(BackendUnavailableError, match=r"pip install 'arenalens\[vllm\]'"):
        make_generator(systems["p"], backend="vllm")
    with pytest.raises(BackendUnavailableError, match="end_to_end systems run on transformers"):
        make_generator(systems["e"], backend="vllm")


def test_unreachable_endpoint_stops_the_run_instead_of_failing_every_query() -> None:
    import socket

    from inference.errors import InferenceError
    from inference.generators.openai_chat import OpenAIChatGenerator

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    generator = OpenAIChatGenerator(
        "m", f"http://127.0.0.1:{port}/v1", GenerationParams(), max_retries=0, timeout_s=5
    )
    with pytest.raises(
        InferenceError, match=f"cannot reach the LLM endpoint http://127.0.0.1:{port}/v1"
    ):
        generator.generate([GenerationRequest("q1", text="hello")])


def test_length_budget_makes_short_batches_larger() -> None:
    fake = FakeCudaGenerator(capacity=100)
    lengths = [100, 90, 10, 10, 10, 10, 10, 10]
    requests = [
        GenerationRequest(f"q{i}", text="x", length=float(n)) for i, n in enumerate(lengths)
    ]
    generate_all(requests, fake, batch_size=8, progress=False, max_batch_length=200)
    assert fake.calls == [2, 6]  # 2 x 100 fits the budget; the six short ones go together


def test_generate_all_answers_in_the_length_sorted_plan() -> None:
    lengths = [5, 100, 7, 98, 6, 97, 8, 99]
    requests = [
        GenerationRequest(f"q{i}", text="x", length=float(n)) for i, n in enumerate(lengths)
    ]
    answered: list[list[str]] = []
    generate_all(
        requests,
        FakeCudaGenerator(capacity=8),
        batch_size=4,
        on_batch=lambda b: answered.append([r.item_id for r in b]),
        progress=False,
    )
    planned = [[f"q{i}" for i in batch] for batch in length_sorted_batches(lengths, 4)]
    assert answered == planned


def test_after_out_of_memory_the_rest_is_replanned_with_the_smaller_size() -> None:
    fake = FakeCudaGenerator(capacity=3)
    answered: list[list[str]] = []
    requests = _requests(10)
    generate_all(
        requests,
        fake,
        batch_size=6,
        on_batch=lambda b: answered.append([r.item_id for r in b]),
        progress=False,
    )
    assert fake.calls[:2] == [6, 3]
    assert all(len(batch) <= 3 for batch in answered)
    assert [i for batch in answered for i in batch] == [f"q{i}" for i in range(9, -1, -1)]
