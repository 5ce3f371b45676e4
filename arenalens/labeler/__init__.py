"""Labelers: the interface, the `llm` (OpenAI-compatible) and offline `embedding` implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from arenalens.labeler.base import (
    AssignmentResult,
    BudgetExhausted,
    EndpointUnavailable,
    GroupName,
    LabelAssignment,
    LabelDefinition,
    Labeler,
    LabelerError,
    NamingRequest,
)

if TYPE_CHECKING:
    from arenalens.config import Settings
    from arenalens.embeddings import Embedder
    from arenalens.store import Store


def make_labeler(settings: Settings, store: Store | None, embedder: Embedder) -> Labeler:
    """The labeler the settings choose: `llm` when an endpoint is configured/asked for, else `embedding`."""
    if settings.use_llm:
        from arenalens.labeler.llm import LLMLabeler

        missing = [name for name in ("llm_base_url", "llm_model") if not getattr(settings, name)]
        if missing:
            raise LabelerError(
                f"labeler 'llm' needs {' and '.join(missing)} (set ARENALENS_"
                f"{missing[0].upper()} or its flag), or choose labeler 'embedding' to work offline"
            )
        return LLMLabeler.from_settings(settings, store)
    from arenalens.labeler.embedding import EmbeddingLabeler

    return EmbeddingLabeler(embedder)


__all__ = [
    "AssignmentResult",
    "BudgetExhausted",
    "EndpointUnavailable",
    "GroupName",
    "LabelAssignment",
    "LabelDefinition",
    "Labeler",
    "LabelerError",
    "NamingRequest",
    "make_labeler",
]
