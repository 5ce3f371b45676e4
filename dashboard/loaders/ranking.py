"""Loaders for the ranking stage: leaderboards, win rates, benchmarks vs preference."""

from __future__ import annotations

import pandas as pd

from arenalens.context import AppContext
from arenalens.privacy import mask_columns
from dashboard.loaders.cache import loader
from dashboard.loaders.workspace import latest_runs
from ranking.persist import ratings_frame, regression_terms_frame, win_rates_frame


def latest_ratings(app: AppContext) -> pd.DataFrame | None:
    """The overall ratings of the latest finished ranking run, or None before `rank` ran."""
    runs = latest_runs(app, "ranking")
    if runs.empty:
        return None
    # the newest overall run (a `rank --by` run also stores its overall board)
    return ratings(app, int(runs.iloc[0]["id"]), "")


@loader
def ratings(app: AppContext, run_id: int, slice_field: str = "") -> pd.DataFrame:
    """Bradley–Terry ratings of one ranking run and slice field ('' = overall); slice values
    derived from user text (cluster names) masked like every such text."""
    frame = ratings_frame(app.store, run_id, slice_field)
    return mask_columns(frame, ["slice_value"], bool(app.settings.privacy_mask_pii))


@loader
def win_rates(app: AppContext, run_id: int) -> pd.DataFrame:
    """Pairwise win rates (with CIs and significance) of one ranking run."""
    return win_rates_frame(app.store, run_id)


@loader
def regression_terms(app: AppContext, run_id: int) -> pd.DataFrame:
    """Fixed effects (mixed and plain logistic fits) of one regression run."""
    return regression_terms_frame(app.store, run_id)
