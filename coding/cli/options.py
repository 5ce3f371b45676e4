"""What the coding commands share: the --codebook and --json options, composed once
(`coding_command`), and printing a frame as a table or as JSON records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from coding.codebook import Codebook, resolve_codebook
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


def show_frame(frame: pd.DataFrame, as_json: bool) -> None:
    """Print `frame` as JSON records or as a table."""
    echo_json(json_records(frame)) if as_json else click.echo(frame_table(frame))


def frame_table(frame: pd.DataFrame) -> str:
    """`frame` as a plain-text table: no index, three decimals, '-' for a missing value."""
    return (
        frame.to_string(index=False, float_format=lambda x: f"{x:.3f}", na_rep="-")
        if len(frame)
        else "(nothing)"
    )
