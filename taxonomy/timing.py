"""The taxonomy's one timing helper: wall seconds per stage and a progress bar that advances by stage."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tqdm.auto import tqdm

#: the stages of `fit_taxonomy`, in order (a build adds embedding before and matching/persisting after)
FIT_STAGES = (
    "knn", "umap_cluster", "hdbscan", "umap_map", "assign", "describe", "hierarchy",
    "categories_modality", "quality",
)  # fmt: skip
STAGE_LABELS = {
    "embed": "embedding queries",
    "knn": "k-NN graph",
    "umap_cluster": "UMAP (clustering space)",
    "hdbscan": "HDBSCAN",
    "umap_map": "UMAP (2-D map)",
    "assign": "assigning the rest",
    "describe": "describing clusters",
    "hierarchy": "parents",
    "categories_modality": "categories and modality",
    "quality": "quality indices",
    "match": "matching the previous run",
    "persist": "saving",
}


class StageTimer:
    """Times named stages (`timings["<stage>_s"]`) and shows one bar over them.

    `show_progress`: True/False force the bar on/off; None shows it on a terminal only (tqdm's rule).
    """

    def __init__(
        self, stages: Sequence[str], desc: str = "taxonomy", show_progress: bool | None = None
    ):
        self.timings: dict[str, float] = {}
        disable = None if show_progress is None else not show_progress
        self._bar = tqdm(
            total=len(stages),
            desc=desc,
            unit="stage",
            disable=disable,
            leave=False,
            mininterval=0,
            miniters=1,  # a dozen stages: draw every one, however fast
        )

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage `name` and advance the bar when it ends."""
        self._bar.set_postfix_str(STAGE_LABELS.get(name, name))
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[f"{name}_s"] = time.perf_counter() - start
            self._bar.update(1)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> StageTimer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
