"""Values as JSON holds them: what `--json` prints and what JSON columns store.

Missing values (NaN, NaT, pd.NA) become null and numpy scalars Python numbers, recursively; a
JSON column on PostgreSQL refuses NaN, and a numpy integer would otherwise print as a string.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def json_value(value: Any) -> Any:
    """`value` with missing values as None and numpy scalars as Python, through dicts and lists."""
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is not None and not isinstance(value, np.ndarray) and pd.isna(value):
        return None
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of `frame` as JSON-ready dicts."""
    return [json_value(row) for row in frame.to_dict("records")]
