"""One error base: every error meant for users derives from ArenalensError, caught once at the edge."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from arenalens.app.cli import main, main_group
from arenalens.config import ConfigError
from arenalens.errors import ArenalensError, IngestError, StageError
from arenalens.labeler.base import LabelerError
from arenalens.stages import STAGES
from arenalens.store import StoreError


def test_core_errors_share_the_base_and_keep_their_builtin_kind() -> None:
    for error, builtin in (
        (ConfigError, ValueError),
        (IngestError, ValueError),
        (StageError, RuntimeError),
        (StoreError, RuntimeError),
        (LabelerError, RuntimeError),
    ):
        assert issubclass(error, ArenalensError) and issubclass(error, builtin), error


def test_every_stage_error_derives_from_the_base() -> None:
    checked = 0
    for stage in STAGES:
        path = Path(importlib.import_module(stage.name).__file__).parent / "errors.py"
        if not path.exists():
            continue
        module = importlib.import_module(f"{stage.name}.errors")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                assert issubclass(cls, ArenalensError), f"{cls.__module__}.{cls.__name__}"
                checked += 1
    assert checked >= 10


def test_cli_edge_turns_a_stage_error_into_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ranking a workspace without votes raises a RankingError: one line, exit code 2
    with pytest.raises(SystemExit) as exit_:
        main(["--workspace", str(tmp_path), "rank"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_edge_lets_unexpected_errors_through(monkeypatch: pytest.MonkeyPatch) -> None:
    # a bug is not a user error: it keeps its traceback
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(main_group, "main", broken)
    with pytest.raises(KeyError):
        main(["status"])
