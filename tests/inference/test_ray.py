"""`--ray`: the same generation stage as a Ray Data map_batches job, in a local Ray on CPU."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from arenalens.store import Store
from inference import persist
from inference.infer import run_system
from inference.ray_runner import actor_count
from inference.systems import parse_systems

ray = pytest.importorskip("ray", reason="Ray is in the dev extra: pip install 'arenalens[ray]'")


def test_one_actor_per_gpu() -> None:
    assert actor_count({"CPU": 64, "GPU": 8}) == (8, 1.0)
    assert actor_count({"CPU": 2}) == (1, 0.0)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_run_matches_a_local_run(
    local_ray: None, sqlite_store: Store, tiny_causal_lm: Path, add_queries
) -> None:
    queries = {f"q{i}": f"question number {i} " + "word " * i for i in range(5)}
    add_queries(sqlite_store, [(k, v, None) for k, v in queries.items()])
    body = {
        "kind": "pipeline",
        "llm": {"model": str(tiny_causal_lm)},
        "generation": {"max_new_tokens": 3},
        "batch_size": 2,
    }
    systems = parse_systems({"systems": {"on-ray": body, "local": body}})
    on_ray = run_system(sqlite_store, systems["on-ray"], use_ray=True, progress=False)
    assert (on_ray.written, on_ray.errors) == (5, [])
    run_system(sqlite_store, systems["local"], device="cpu", progress=False)
    ray_out = persist.outputs_frame(sqlite_store, "on-ray").set_index("interaction_id")
    local_out = persist.outputs_frame(sqlite_store, "local").set_index("interaction_id")
    assert list(ray_out["output_text"].sort_index()) == list(local_out["output_text"].sort_index())
    assert list(ray_out["prompt_tokens"].sort_index()) == list(
        local_out["prompt_tokens"].sort_index()
    )
    assert run_system(sqlite_store, systems["on-ray"], use_ray=True, progress=False).requested == 0
