"""Batching for every backend: length-sorted, padding-aware batches and out-of-memory back-off."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from inference.generators.base import GenerationRequest, GenerationResult, Generator


def length_sorted_batches(
    lengths: Sequence[float], batch_size: int, max_batch_length: float | None = None
) -> list[list[int]]:
    """Indices grouped longest-first so each batch pads little; the first batch is the heaviest.

    `max_batch_length` caps batch_size x longest item (a token or seconds budget)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        too_long = (
            max_batch_length is not None
            and current
            and longest * (len(current) + 1) > max_batch_length
        )
        if len(current) == batch_size or too_long:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def padding_fraction(lengths: Sequence[float], batches: Sequence[Sequence[int]]) -> float:
    """Share of a padded batch that is padding (what length sorting minimises)."""
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches if b)
    return 1.0 - sum(lengths) / padded if padded else 0.0


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA (or CPU allocator) out-of-memory, whatever wrapper it arrives in."""
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def free_accelerator_memory() -> None:
    """Return cached accelerator memory after an out-of-memory error (no-op without CUDA)."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def generate_all(
    requests: Sequence[GenerationRequest],
    generator: Generator,
    batch_size: int,
    on_batch: Callable[[list[GenerationResult]], None] | None = None,
    progress: bool = True,
    max_batch_length: float | None = None,
) -> list[GenerationResult]:
    """Answer all requests in `length_sorted_batches` (longest first); on out-of-memory halve the
    batch size, re-plan what is left with it and go on (the size stays smaller).

    `max_batch_length` caps batch size x longest item, so batches of short items can be larger.
    Requests of equal length keep their `item_id` order. An item that does not fit even alone
    gets an error row instead of stopping the run."""
    from tqdm.auto import tqdm

    order = sorted(requests, key=lambda r: (-r.length, r.item_id))
    lengths = [r.length for r in order]
    current = max(1, batch_size)
    plan = deque(length_sorted_batches(lengths, current, max_batch_length))
    results: list[GenerationResult] = []
    bar = tqdm(total=len(order), desc="generate", unit="query", disable=not progress)
    while plan:
        indices = plan.popleft()
        batch = [order[i] for i in indices]
        try:
            answers = generator.generate(batch)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            free_accelerator_memory()
            if len(batch) == 1:
                answers = [GenerationResult(batch[0].item_id, None, error=f"out of memory: {exc}")]
            else:
                current = max(1, len(batch) // 2)
                left = [i for chunk in (indices, *plan) for i in chunk]  # still longest first
                replanned = length_sorted_batches(
                    [lengths[i] for i in left], current, max_batch_length
                )
                plan = deque([left[j] for j in chunk] for chunk in replanned)
                continue
        if on_batch:
            on_batch(answers)
        results.extend(answers)
        bar.update(len(batch))
    bar.close()
    return results
