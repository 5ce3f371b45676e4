"""Loader for the rater table: quality of the people who voted in the rater app."""

from __future__ import annotations

import pandas as pd

from arenalens.context import AppContext
from arenalens.raters import arena_records, rater_table
from dashboard.loaders.cache import loader


@loader
def rater_quality(app: AppContext) -> pd.DataFrame:
    """One row per rater of the rater app (`arenalens.raters.rater_table`)."""
    return rater_table(arena_records(app.store))
