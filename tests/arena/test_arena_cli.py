"""`arenalens arena campaign create/list` as users run them: the campaign settings they set are
the ones the rater app reads, and settings a replay campaign cannot have are one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from arena import persist
from arena.settings import campaign_settings
from arenalens.app.cli import main, main_group
from arenalens.config import Settings
from arenalens.store import Store


def _run(workspace: Path, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), "arena", *args])
    assert result.exit_code == code, result.output
    return result.output


def _settings(workspace: Path, name: str):
    store = Store.open(Settings(workspace=workspace).db_url)
    try:
        return campaign_settings(persist.campaign(store, name))
    finally:
        store.engine.dispose()


def test_campaign_settings_from_the_command_line(tmp_path: Path) -> None:
    out = _run(tmp_path, "campaign", "create", "study", "--mode", "replay", "--expire-after", "10")
    assert "campaign 'study' created (replay, 1 rater per pair)" in out
    assert _settings(tmp_path, "study").expire_after_minutes == 10
    out = _run(
        tmp_path,
        *("campaign", "create", "talk", "--mode", "live", "--max-turns", "3"),
        *("--output", "speech", "--vote-per", "turn", "--systems", "x,y"),
    )
    assert (
        "campaign 'talk' created (live, up to 3 turns, a vote per turn, answers as speech)" in out
    )
    settings = _settings(tmp_path, "talk")
    assert (settings.max_turns, settings.output, settings.vote_per) == (3, "speech", "turn")
    assert settings.systems == ("x", "y")
    listed = _run(tmp_path, "campaign", "list")
    assert "talk: live, up to 3 turns, answers as speech, 0 votes from 0 raters" in listed
    assert "study: replay, 0 pairs, 1 rater per pair, 0 votes from 0 raters" in listed


def test_settings_a_replay_campaign_cannot_have_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--workspace", str(tmp_path), "arena", "campaign", "create", "r", "--mode",
              "replay", "--max-turns", "2"])  # fmt: skip
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "error: a replay campaign cannot have 2 turns: only a live one can"
    )
    out = _run(tmp_path, "campaign", "create", "r", "--mode", "live", "--max-turns", "99", code=2)
    assert "99 is not in the range 1<=x<=20" in out
