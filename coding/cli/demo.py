"""The coding stage's step of `arenalens demo`: code the sample arena's feedback and seed an
annotation sample for two demo annotators."""

from __future__ import annotations

from arenalens.context import AppContext
from coding import persist
from coding.codebook import resolve_codebook
from coding.coder import CodingConfig, code_feedback
from coding.errors import CodingError
from coding.sampling import create_validation_sample

DEMO_ANNOTATORS = ("demo-annotator-1", "demo-annotator-2")
DEMO_SAMPLE = "demo"


def demo(app: AppContext) -> str:
    """Code the sample arena's feedback and seed a small annotation sample for two demo annotators."""
    codebook = resolve_codebook(app.settings.workspace)
    summary = code_feedback(
        app.store, app.labeler, codebook, CodingConfig(seed=app.settings.seed), progress=False
    )
    existing = persist.samples_frame(app.store, codebook.version_key)
    if len(existing) and DEMO_SAMPLE in set(existing["name"]):
        sample_line = f"annotation sample {DEMO_SAMPLE!r} already exists"
    else:
        try:
            sample = create_validation_sample(
                app.store,
                codebook,
                DEMO_ANNOTATORS,
                name=DEMO_SAMPLE,
                size=60,
                overlap=0.2,
                seed=app.settings.seed,
            )
            sample_line = (
                f"annotation sample of {sample.size} items for {', '.join(DEMO_ANNOTATORS)}"
            )
        except CodingError as exc:
            sample_line = f"no annotation sample ({exc})"
    total_codes = len(persist.codes_frame(app.store, codebook.version_key))
    coded = summary.already_coded + summary.coded_now
    return (
        f"{total_codes} codes on {coded} feedback items ({summary.coded_now} coded now, "
        f"{summary.labeler}); {sample_line}"
    )
