"""Model identity, in one place: every alias (a vote log's `diva_3_8b`, a benchmark's
`Diva-3-8B`) resolves to one canonical name, and every frame, page, CLI table and export shows
that name. The mapping lives in the store's `model_aliases` table (`arenalens aliases`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the store imports this module; `arenalens status` must not load pandas
    import pandas as pd

# Columns that name a model (or system) in the store's frames.
MODEL_COLUMNS = ("model", "model_a", "model_b", "system", "preferred_model", "rejected_model")


def canonical_name(name: object, aliases: Mapping[str, str]) -> object:
    """The canonical name of `name` (itself when it is no alias; missing values unchanged)."""
    if not isinstance(name, str):
        return name
    return aliases.get(name, name)


def canonical_models(names: Iterable[object], aliases: Mapping[str, str]) -> list[str]:
    """The distinct canonical names among `names`, sorted (for filters and legends)."""
    return sorted({str(canonical_name(n, aliases)) for n in names if isinstance(n, str)})


def resolve_models(
    frame: pd.DataFrame, aliases: Mapping[str, str], columns: Iterable[str] = MODEL_COLUMNS
) -> pd.DataFrame:
    """`frame` with every model column present mapped to canonical names (in place; returned)."""
    if not aliases or frame.empty:
        return frame
    for column in columns:
        if column in frame.columns:
            # look up each distinct name once (a million votes name a few dozen models)
            renamed = {
                name: aliases[name]
                for name in frame[column].dropna().unique()
                if isinstance(name, str) and name in aliases
            }
            if renamed:
                frame[column] = frame[column].replace(renamed)
    return frame
