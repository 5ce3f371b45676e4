"""The `arenalens` console script's entry point (pyproject `[project.scripts]`).

Only a name: the command lives in the application shell, `arenalens.app.cli`.
"""

from arenalens.app.cli import main, main_group

__all__ = ["main", "main_group"]
