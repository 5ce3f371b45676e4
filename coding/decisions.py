"""An annotator's decisions on an item's codes: the record, and their validation against a
codebook (the dashboard, the API and CSV imports all save through `normalise_decisions`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coding.codebook import POLARITIES, SIDES, Codebook
from coding.errors import AnnotationError

MAX_NAME = 128
TRUE_VALUES = {"1", "yes", "y", "true", "x"}
FALSE_VALUES = {"0", "no", "n", "false"}


@dataclass(frozen=True)
class CodeDecision:
    """An annotator's judgement of one code: applies or not, and (optionally) side and polarity."""

    present: bool
    side: str | None = None
    polarity: str | None = None


def clean_name(name: str, what: str) -> str:
    """`name` stripped; an AnnotationError naming `what` when empty or too long."""
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise AnnotationError(
            f"{what} must be a non-empty name of at most {MAX_NAME} characters, got {name!r}"
        )
    return cleaned


def parse_flag(value: Any, where: str) -> bool | None:
    """1/0, yes/no, true/false (any case) as a bool; empty as None; else an AnnotationError."""
    text = str(value if value is not None else "").strip().lower()
    if text == "":
        return None
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise AnnotationError(f"{where}: expected 1/0 (or yes/no), got {value!r}")


def normalise_decisions(
    codebook: Codebook, decisions: Mapping[str, Any], where: str = "decisions"
) -> dict[str, dict[str, Any]]:
    """Validate decisions (bool, CodeDecision or mapping per code); codes not given are recorded absent."""
    unknown = [name for name in decisions if name not in codebook.code_names]
    if unknown:
        raise AnnotationError(
            f"{where}: unknown codes {unknown}; codebook {codebook.version_key} has {codebook.code_names}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name in codebook.code_names:
        value = decisions.get(name, False)
        if isinstance(value, CodeDecision):
            value = {"present": value.present, "side": value.side, "polarity": value.polarity}
        elif not isinstance(value, Mapping):
            value = {"present": value}
        present = value.get("present")
        if not isinstance(present, bool):
            present = parse_flag(present, f"{where}.{name}.present")
            if present is None:
                raise AnnotationError(f"{where}.{name}: 'present' must be given as true/false")
        side, polarity = value.get("side") or None, value.get("polarity") or None
        if side is not None and side not in SIDES:
            raise AnnotationError(
                f"{where}.{name}.side: expected one of {list(SIDES)}, got {side!r}"
            )
        if polarity is not None and polarity not in POLARITIES:
            raise AnnotationError(
                f"{where}.{name}.polarity: expected one of {list(POLARITIES)}, got {polarity!r}"
            )
        out[name] = {
            "present": present,
            "side": side if present else None,
            "polarity": polarity if present else None,
        }
    return out
