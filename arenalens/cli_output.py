"""Machine-readable command output shared by every `--json` flag."""

from __future__ import annotations

import json

import click


def echo_json(payload: object) -> None:
    """Print one JSON object (the machine-readable contract of --json flags)."""
    click.echo(json.dumps(payload, indent=2, default=str))
