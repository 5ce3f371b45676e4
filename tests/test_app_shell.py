"""The application shell: every command reachable, and the everyday paths start without heavy imports."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from arenalens.app.cli import main_group, registered_commands
from arenalens.stages import STAGES

HEAVY = ("sklearn", "scipy", "torch", "umap", "hdbscan", "streamlit", "pandas", "numpy")
STAGE_PACKAGES = tuple(stage.name for stage in STAGES)


def imported_after(code: str) -> set[str]:
    """Top-level packages present in sys.modules after running `code` in a fresh interpreter."""
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_cli_imports_no_heavy_library_and_no_stage() -> None:
    loaded = imported_after("import arenalens.cli")
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert not loaded & set(STAGE_PACKAGES)


def test_help_lists_every_command_without_importing_any_stage() -> None:
    code = (
        "import contextlib, io\n"
        "from arenalens.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'Commands:' in out.getvalue()"
    )
    loaded = imported_after(code)
    assert not loaded & (set(HEAVY) | set(STAGE_PACKAGES) | {"sqlalchemy", "pydantic"})


def test_help_output_names_every_registered_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from arenalens.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == set(registered_commands())


def test_status_imports_no_stage_and_no_science_stack(tmp_path: Path) -> None:
    code = (
        "import contextlib\n"
        "from arenalens.cli import main\n"
        "with contextlib.suppress(SystemExit):\n"
        f"    main(['--workspace', {str(tmp_path)!r}, 'status', '--json'])"
    )
    loaded = imported_after(code)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "pydantic" not in loaded  # settings are a plain dataclass: ~0.13 s of start-up


@pytest.mark.parametrize("name", sorted(registered_commands()))
def test_registered_help_line_is_the_commands_own(name: str) -> None:
    spec = registered_commands()[name]
    command = main_group.get_command(click.Context(main_group), name)
    assert command is not None, f"{spec.module} does not provide {name!r}"
    assert spec.help == command.get_short_help_str(limit=1000), (
        f"`arenalens --help` lists {name!r} from its line in arenalens/stages.py (or CORE_COMMANDS "
        "in arenalens/app/cli.py): update that line to the command's new first sentence"
    )


def test_every_stage_command_is_registered() -> None:
    registered = registered_commands()
    for stage in STAGES:
        module = importlib.import_module(stage.cli_module)
        names = {command.name for command in module.COMMANDS}
        assert names == set(stage.commands), stage.name
        assert all(registered[name].module == stage.cli_module for name in names)


def test_unknown_command_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from arenalens.cli import main; main()", "rnak"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "No such command 'rnak'" in done.stderr
