"""Scale-out: the same generation stage as a Ray Data `map_batches` job, one actor per GPU."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from inference.errors import BackendUnavailableError
from inference.generators import GenerationRequest, GenerationResult, generate_all, make_generator
from inference.systems import SystemSpec

RESULT_FIELDS = ("item_id", "text", "error", "latency_s", "prompt_tokens", "completion_tokens")


class GenerationActor:
    """Ray actor: builds the system's generator once, then answers batches (OOM-safe, like local runs)."""

    def __init__(self, spec_json: dict[str, Any], backend: str | None, batch_size: int):
        self.spec = SystemSpec(**spec_json)
        self.generator = make_generator(self.spec, backend=backend)
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        requests = [
            GenerationRequest(
                item_id=str(batch["item_id"][i]),
                text=_none(batch["text"][i]),
                audio_path=_none(batch["audio_path"][i]),
                length=float(batch["length"][i]),
                history=tuple(map(tuple, json.loads(str(batch["history"][i])))),
            )
            for i in range(len(batch["item_id"]))
        ]
        results = generate_all(
            requests,
            self.generator,
            self.batch_size,
            progress=False,
            max_batch_length=self.spec.max_batch_length,
        )
        return {name: [getattr(r, name) for r in results] for name in RESULT_FIELDS}


def _none(value: Any) -> Any:
    """Ray's numpy batches turn None into NaN (numeric columns) or "" (our string fields): undo it."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def actor_count(resources: dict[str, float]) -> tuple[int, float]:
    """One actor per GPU in the cluster (one CPU actor when there is none): (actors, gpus each)."""
    gpus = int(resources.get("GPU", 0))
    return (gpus, 1.0) if gpus > 0 else (1, 0.0)


def run_on_ray(
    requests: Sequence[GenerationRequest],
    spec: SystemSpec,
    batch_size: int,
    on_batch: Callable[[list[GenerationResult]], None],
    backend: str | None = None,
    progress: bool = True,
) -> int:
    """Run generation on the current Ray cluster (or a local one); results stream back per batch.

    The driver writes every returned batch before taking the next, so a crash loses at most the
    batches in flight. Returns the number of results."""
    try:
        import ray
    except ImportError as exc:
        raise BackendUnavailableError("--ray needs Ray: pip install 'arenalens[ray]'") from exc
    if not ray.is_initialized():
        ray.init(include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    actors, gpus = actor_count(ray.cluster_resources())
    # Longest first, as in local runs, so each Ray batch pads little.
    ordered = sorted(requests, key=lambda r: (-r.length, r.item_id))
    items = [
        {
            **r.to_dict(),
            "text": r.text or "",
            "audio_path": r.audio_path or "",
            "history": json.dumps(r.history),  # one text column: Ray's batches keep it as is
        }
        for r in ordered
    ]
    dataset = ray.data.from_items(items).map_batches(
        GenerationActor,
        fn_constructor_kwargs={
            "spec_json": spec.model_dump(mode="json"),
            "backend": backend,
            "batch_size": batch_size,
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=gpus,
    )
    from tqdm.auto import tqdm

    written = 0
    bar = tqdm(
        total=len(items),
        desc=f"generate on Ray ({actors} actor(s))",
        unit="query",
        disable=not progress,
    )
    for batch in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
        results = [
            GenerationResult(
                item_id=str(batch["item_id"][i]),
                text=_none(batch["text"][i]),
                error=_none(batch["error"][i]),
                latency_s=_num(batch["latency_s"][i]),
                prompt_tokens=_int(batch["prompt_tokens"][i]),
                completion_tokens=_int(batch["completion_tokens"][i]),
            )
            for i in range(len(batch["item_id"]))
        ]
        on_batch(results)
        written += len(results)
        bar.update(len(results))
    bar.close()
    return written


def _num(value: Any) -> float | None:
    value = _none(value)
    return None if value is None else float(value)


def _int(value: Any) -> int | None:
    value = _num(value)
    return None if value is None else int(value)
