"""The labeler that codes feedback, chosen from the settings (`arenalens code`, `agreement --against`).

The settings' labeler is used as it is, except the offline embedding labeler: for coding, the
calibrated coder (`coding.zeroshot`) takes its place, with the decisions learned from annotators
(`code --learn`) where there are any.
"""

from __future__ import annotations

from arenalens.context import AppContext
from arenalens.labeler.base import Labeler
from coding.codebook import Codebook
from coding.errors import CodingError

COMPARABLE_LABELERS = ("llm", "embedding", "calibrated")


def coding_labeler(app: AppContext, codebook: Codebook) -> Labeler:
    """The settings' labeler, except that the offline embedding labeler gives way to the
    calibrated coder (with the learned decisions of `code --learn`, where any)."""
    from arenalens.labeler.embedding import EmbeddingLabeler

    labeler = app.labeler
    if not isinstance(labeler, EmbeddingLabeler):
        return labeler  # an LLM (or another labeler the settings chose)
    from coding.learning import learned_overrides
    from coding.zeroshot import CalibratedCoder

    coder = CalibratedCoder(app.embedder, codebook)
    coder.overrides = learned_overrides(app.store, codebook.version_key)
    return coder


def labeler_named(app: AppContext, codebook: Codebook, name: str) -> Labeler:
    """One of `COMPARABLE_LABELERS` by name, whatever the settings chose: the configured LLM,
    the offline embedding labeler, or the calibrated coder without learned decisions."""
    if name == "llm":
        from arenalens.labeler.llm import LLMLabeler

        if not (app.settings.llm_base_url and app.settings.llm_model):
            raise CodingError("--against llm needs llm_base_url and llm_model configured")
        return LLMLabeler.from_settings(app.settings, app.store)
    if name == "embedding":
        from arenalens.labeler.embedding import EmbeddingLabeler

        return EmbeddingLabeler(app.embedder)
    if name == "calibrated":
        from coding.zeroshot import CalibratedCoder

        return CalibratedCoder(app.embedder, codebook)
    raise CodingError(f"labeler must be one of {list(COMPARABLE_LABELERS)}, got {name!r}")
