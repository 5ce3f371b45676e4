"""Ranking votes on spoken answers and conversations (issue 26): `rank --by output_modality`,
`--by turn_depth`, `--where`, and the speech controls (answer duration, speaking rate, time to
first audio), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from speech_arena import SHORTER_WINS, load_speech_arena

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import Store
from ranking.leaderboard import RankingOptions
from ranking.pipeline import SPEECH_CONTROLS, compute_rankings

N_TEXT, N_SPOKEN = 80, 96


@pytest.fixture
def speech_store(store: Store, tmp_path: Path) -> Store:
    load_speech_arena(store, tmp_path / "arena", n_text=N_TEXT, n_conversations=N_SPOKEN)
    return store


def app_for(store: Store, tmp_path: Path) -> AppContext:
    return AppContext(Settings(workspace=tmp_path / "ws"), _store=store)


def test_rank_by_output_modality_gives_a_text_and_a_spoken_board_and_their_agreement(
    speech_store: Store, tmp_path: Path
):
    options = RankingOptions(bootstrap_rounds=0, fragility=False, progress=False)
    payload = compute_rankings(app_for(speech_store, tmp_path), options, by="output_modality")
    votes = {s["value"]: s["votes"] for s in payload["slices"]}
    assert votes == {"text": N_TEXT, "speech": N_SPOKEN}  # one vote per conversation
    agreement = payload["board_agreement"]
    assert len(agreement["models"]) == 4
    assert -1 <= agreement["tau"] <= 1 and agreement["ci_low"] <= agreement["ci_high"]
    assert "With only 4 models no order can be told from chance" in agreement["sentence"]


def test_rank_by_turn_depth_puts_conversation_votes_on_their_last_turn(
    speech_store: Store, tmp_path: Path
):
    options = RankingOptions(bootstrap_rounds=0, fragility=False, progress=False)
    payload = compute_rankings(app_for(speech_store, tmp_path), options, by="turn_depth")
    assert {s["value"]: s["votes"] for s in payload["slices"]} == {"1": N_TEXT, "2": N_SPOKEN}
    spoken_only = compute_rankings(
        app_for(speech_store, tmp_path), options, where="output_modality == 'speech'"
    )
    assert spoken_only["votes"] == N_SPOKEN
    assert f"left out {N_TEXT} of {N_TEXT + N_SPOKEN} votes" in spoken_only["warnings"][0]


def test_speech_controls_fit_on_the_spoken_votes_and_find_the_shorter_answer_winning(
    store: Store, tmp_path: Path
):
    """Is the fast talker winning because it is fast? The shorter spoken answer wins more
    often whoever gives it (simulated), and the duration control says so."""
    spoken = 360  # enough votes for the effect's interval to leave zero
    load_speech_arena(store, tmp_path / "arena", n_text=N_TEXT, n_conversations=spoken)
    options = RankingOptions(
        bootstrap_rounds=0, fragility=False, progress=False, controls=SPEECH_CONTROLS
    )
    payload = compute_rankings(app_for(store, tmp_path), options)
    controlled = payload["controlled"]
    assert controlled["votes"] == spoken
    coefficients = {c["covariate"]: c for c in controlled["coefficients"]}
    assert set(coefficients) == set(SPEECH_CONTROLS)
    assert SHORTER_WINS > 0 and coefficients["answer_duration_s"]["ci_high"] < 0
    assert not coefficients["time_to_first_audio_s"]["significant"]  # no effect simulated
    assert any(f"{N_TEXT} of {N_TEXT + spoken} votes left out" in w for w in payload["warnings"])


def test_rank_cli_prints_both_boards_and_how_alike_they_order_the_models(tmp_path: Path):
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    load_speech_arena(store, tmp_path / "arena", n_text=N_TEXT, n_conversations=N_SPOKEN)
    store.engine.dispose()
    args = ["--workspace", str(workspace), "rank", "--by", "output_modality", "--bootstrap", "0"]
    result = CliRunner().invoke(main_group, [*args, "--speech-control"])
    assert result.exit_code == 0, result.output
    assert f"Answer form: Spoken answers (heard) ({N_SPOKEN} votes)" in result.output
    assert "The text answers (read) and spoken answers (heard) boards order their 4" in (
        result.output
    )
    assert "Speaking rate (words per second)" in result.output
    assert "Time to first audio (seconds)" in result.output
