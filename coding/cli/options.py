"""What the coding commands share: the --codebook and --json options, composed once
(`coding_command`), and printing a frame as a table or as JSON records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from arenalens.cli_output import echo_json, text_table, with_intervals
from arenalens.context import AppContext
from arenalens.display import display_name
from coding.codebook import Codebook, resolve_codebook
from coding.errors import CodingError
from coding.json_values import json_records

F = TypeVar("F", bound=Callable[..., Any])
CODEBOOK_HELP = (
    "Codebook YAML (default: <workspace>/codebook.yaml, else the shipped data/codebook.yaml)."
)
codebook_path_option = click.option(
    "--codebook",
    "codebook_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help=CODEBOOK_HELP,
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def _resolve_codebook(ctx: click.Context, _param: click.Parameter, path: Path | None) -> Codebook:
    return resolve_codebook(ctx.find_object(AppContext).settings.workspace, path)


codebook_option = click.option(
    "--codebook",
    "codebook",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_resolve_codebook,
    help=CODEBOOK_HELP,
)


def coding_command(*options: Any, json_output: bool = True) -> Callable[[F], F]:
    """The options every coding command shares, composed once: --codebook (the command gets the
    resolved `codebook`), then `options`, then --json (`as_json`); the command gets the AppContext
    first."""

    def decorate(fn: F) -> F:
        wrapped = click.pass_obj(fn)
        if json_output:
            wrapped = json_option(wrapped)
        for option in reversed(options):
            wrapped = option(wrapped)
        return codebook_option(wrapped)

    return decorate


def show_frame(frame: pd.DataFrame, as_json: bool, **table: Any) -> None:
    """Print `frame` as JSON records (stored names) or as a table for people (`table`: the
    options of `text_table`; a `code` column reads as the loss reason in words)."""
    echo_json(json_records(frame)) if as_json else click.echo(frame_table(frame, **table))


CODE_HEADINGS = {"code": "loss reason"}
AGREEMENT_SHARES = ["percent_agreement", "precision", "recall", "machine_rate", "human_rate",
                    "human_percent_agreement", "side_agreement", "polarity_agreement"]  # fmt: skip


def frame_table(frame: pd.DataFrame, **options: Any) -> str:
    """`text_table` with the coding stage's words: codes as loss reasons in words."""
    options.setdefault("names", ["code"])
    options["headings"] = {**CODE_HEADINGS, **(options.get("headings") or {})}
    return text_table(frame, **options)


def agreement_table(frame: pd.DataFrame) -> str:
    """A per-code agreement table (κ with its 95% CI in one cell, shares as percentages)."""
    return frame_table(
        with_intervals(frame, {"kappa": ("kappa_low", "kappa_high")}),
        digits=2,
        percent=AGREEMENT_SHARES,
        headings={"kappa": "Cohen's κ (95% CI)"},
    )


def resolve_code(codebook: Codebook, code: str) -> str:
    """A code as typed: its stored name or the words people see ('Human-likeness')."""
    if code in codebook.code_names:
        return code
    for name in codebook.code_names:
        if display_name(name).casefold() == code.strip().casefold():
            return name
    raise CodingError(
        f"--code {code!r}: not a code of {codebook.version_key}; codes: "
        + ", ".join(display_name(c) for c in codebook.code_names)
    )
