"""Commands of the coding stage: code, codebook, annotate, agreement, prevalence; and its demo step.

One module per command (group); what they share (--codebook, --json, tables) is in `options`.
The commands parse flags and print: the work is done by the coding functions the dashboard calls.
"""

from __future__ import annotations

import click

from coding.cli.agreement import agreement_command
from coding.cli.annotate import annotate_group
from coding.cli.code import code_command
from coding.cli.codebook import codebook_command
from coding.cli.demo import DEMO_ANNOTATORS, DEMO_SAMPLE, demo
from coding.cli.prevalence import prevalence_command

__all__ = ["COMMANDS", "DEMO_ANNOTATORS", "DEMO_SAMPLE", "demo"]

COMMANDS: list[click.Command] = [
    code_command,
    codebook_command,
    annotate_group,
    agreement_command,
    prevalence_command,
]
