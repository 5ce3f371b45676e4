"""Loaders for the inference stage: the systems' outputs."""

from __future__ import annotations

import pandas as pd

from arenalens.context import AppContext
from arenalens.models import resolve_models
from dashboard.loaders.cache import loader
from dashboard.loaders.workspace import masked
from inference.persist import outputs_frame


@loader
def model_outputs(app: AppContext) -> pd.DataFrame:
    """Inference outputs (one row per query and system), systems resolved through aliases."""
    frame = outputs_frame(app.store)
    return masked(app, resolve_models(frame, app.store.aliases(), ["system"]))
