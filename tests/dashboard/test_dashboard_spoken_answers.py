"""Dashboard pages on spoken answers and conversations (issue 26): Outputs plays both answers
(only files confined to their recorded root) and shows a conversation turn by turn; Leaderboard
puts the text-answer and spoken-answer boards side by side with their rank correlation;
Feedback breaks loss reasons down by answer form."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_testkit import page_text
from speech_arena import load_speech_arena
from sqlalchemy import update

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.store import tables as t
from ranking.leaderboard import RankingOptions
from ranking.pipeline import compute_rankings


@pytest.fixture
def speech_workspace(tmp_path: Path) -> Path:
    """The speech arena, ranked by answer form."""
    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace, labeler="embedding"))
    load_speech_arena(app.store, tmp_path / "arena", n_text=120, n_conversations=120)
    options = RankingOptions(bootstrap_rounds=50, fragility=False, progress=False)
    compute_rankings(app, options, by="output_modality")
    app.store.engine.dispose()
    return workspace


def _pick(render, workspace: Path, interaction_id: str):
    at = render(workspace, "outputs.py")
    at.selectbox(key="outputs_pick").set_value(interaction_id).run()
    assert not at.exception
    return at


def test_outputs_shows_a_conversation_turn_by_turn_and_plays_every_answer(
    render, speech_workspace: Path
):
    at = _pick(render, speech_workspace, "c3:t2")
    text = page_text(at)
    assert "Conversation, turn by turn" in text
    assert "**Turn 1**" in text and "**Turn 2** (the interaction picked above)" in text
    assert "what is the weather in paris today" in text  # turn 1's query
    assert "play some relaxing jazz music" in text  # turn 2's query
    audio = at.get("audio")
    assert len(audio) == 4  # two answers on each of the two turns
    assert "Spoken answer: " in text
    assert "words per second" in text and "first audio after" in text
    assert "**Vote on the whole conversation:** A preferred" in text or (
        "**Vote on the whole conversation:** B preferred" in text
    )


def test_outputs_shows_a_conversations_feedback_from_any_of_its_turns(
    render, speech_workspace: Path
):
    at = _pick(render, speech_workspace, "c0:t1")  # the feedback sits on turn 2, the vote's
    text = page_text(at)
    assert "comfortable pace" in text and "Vote: nan" not in text


def test_outputs_refuses_an_answer_whose_file_left_its_root(render, speech_workspace: Path):
    app = AppContext(Settings(workspace=speech_workspace))
    with app.store.transaction() as conn:
        conn.execute(
            update(t.response_audio)
            .where(t.response_audio.c.interaction_id == "c3:t1", t.response_audio.c.side == "a")
            .values(path="/etc/passwd")
        )
    app.store.engine.dispose()
    at = _pick(render, speech_workspace, "c3:t1")
    assert len(at.get("audio")) == 3
    assert any("audio not played" in c.value for c in at.caption)


def test_outputs_single_turn_text_answers_play_nothing(render, speech_workspace: Path):
    at = _pick(render, speech_workspace, "s1")
    assert len(at.get("audio")) == 0
    assert "Conversation, turn by turn" not in page_text(at)
    assert "**Answer A**" in page_text(at)


def test_leaderboard_puts_text_and_spoken_boards_side_by_side_with_their_correlation(
    render, speech_workspace: Path
):
    at = render(speech_workspace, "leaderboard.py")
    assert not at.exception
    text = page_text(at)
    assert "Read or heard: text answers vs spoken answers" in text
    assert "**Text answers (read)** — 120 votes" in text
    assert "**Spoken answers (heard)** — 120 votes" in text
    assert "boards order their 4 shared models" in text and "Kendall τ" in text
    assert "no order can be told from chance" in text


def test_leaderboard_says_how_to_get_the_two_boards(render, tmp_path: Path):
    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace))
    load_speech_arena(app.store, tmp_path / "arena", n_text=120, n_conversations=120)
    compute_rankings(app, RankingOptions(bootstrap_rounds=0, fragility=False, progress=False))
    app.store.engine.dispose()
    at = render(workspace, "leaderboard.py")
    assert not at.exception
    assert "arenalens rank --by output_modality" in page_text(at)


def test_leaderboard_of_text_answers_only_has_no_read_or_heard_section(render, tiny_workspace):
    app = AppContext(Settings(workspace=tiny_workspace))
    compute_rankings(
        app, RankingOptions(bootstrap_rounds=0, fragility=False, progress=False, min_votes=1)
    )
    app.store.engine.dispose()
    at = render(tiny_workspace, "leaderboard.py")
    assert not at.exception
    assert "Read or heard" not in page_text(at)


def test_feedback_page_breaks_loss_reasons_down_by_answer_form(render, tmp_path: Path):
    from arenalens.embeddings import Embedder
    from coding.codebook import load_codebook
    from coding.coder import code_feedback
    from coding.zeroshot import CalibratedCoder

    workspace = tmp_path / "ws"
    app = AppContext(Settings(workspace=workspace))
    load_speech_arena(app.store, tmp_path / "arena", n_text=30, n_conversations=24)
    codebook = load_codebook()
    code_feedback(app.store, CalibratedCoder(Embedder(), codebook), codebook, progress=False)
    app.store.engine.dispose()
    at = render(workspace, "feedback.py")
    at.radio(key="feedback_by").set_value("Text vs spoken answers").run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert set(shown["group"]) == {"Spoken answers (heard)", "Text answers (read)"}
    pace = shown[
        (shown["group"] == "Spoken answers (heard)") & (shown["reason"] == "Speaking rate")
    ]
    assert pace["feedback items"].iloc[0] == 18
    at.selectbox(key="feedback_code").set_value("speaking_rate").run()
    at.selectbox(key="feedback_group").set_value("text").run()
    assert not at.exception
    assert "0 feedback items coded Speaking rate" in page_text(at)
