"""The rater app (AppTest): links refused, votes stored once, no pair twice, text stays text."""

from __future__ import annotations

from pathlib import Path

import pytest
from arena_testkit import HOSTILE, make_pairs
from streamlit.testing.v1 import AppTest

from arena import persist
from arenalens.context import AppContext

APP_PATH = Path(__file__).resolve().parents[2] / "arena" / "app.py"


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch):
    """open_app(app_context, token) -> the rater app after its first run with that link."""

    def _open(app: AppContext, token: str | None) -> AppTest:
        monkeypatch.setenv("ARENALENS_WORKSPACE", str(app.settings.workspace))
        monkeypatch.delenv("ARENALENS_DB", raising=False)
        at = AppTest.from_file(str(APP_PATH), default_timeout=30)
        if token is not None:
            at.query_params["token"] = token
        return at.run()

    return _open


def _texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


def _vote(at: AppTest, choice: str) -> AppTest:
    button = next(b for b in at.button if b.key.startswith(f"vote-{choice}-"))
    return button.click().run()


def _shown_pair(at: AppTest) -> str:
    return next(b.key for b in at.button if b.key.startswith("vote-a-")).removeprefix("vote-a-")


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_a_missing_or_unknown_link_is_refused(open_app, arena_app: AppContext, token) -> None:
    at = open_app(arena_app, token)
    assert len(at.error) == 1 and not at.button and not at.text
    assert "link" in at.error[0].value


def test_a_revoked_link_is_refused(open_app, arena_app: AppContext) -> None:
    token = persist.invite(arena_app.store, "c1", "ann")
    assert open_app(arena_app, token).button  # works before
    persist.revoke(arena_app.store, "c1", "ann")
    at = open_app(arena_app, token)
    assert len(at.error) == 1 and "revoked" in at.error[0].value and not at.button


def test_a_vote_is_stored_once_and_the_next_pair_follows(open_app, arena_app: AppContext) -> None:
    token = persist.invite(arena_app.store, "c1", "ann")
    at = open_app(arena_app, token)
    first = _shown_pair(at)
    assert "S1" not in " ".join(_texts(at) + [m.value for m in at.markdown])  # blind
    at.text_input(key=f"reason-{first}").input("clearer answer")
    at = _vote(at, "b")
    assert "Vote stored" in at.success[0].value
    assert _shown_pair(at) != first
    at.run()  # a reload stores nothing more
    votes = arena_app.store.votes_frame()
    assert len(votes) == 1 and votes.iloc[0]["winner"] == "model_b"
    assert list(arena_app.store.feedback_frame()["text"]) == ["clearer answer"]


def test_replay_never_shows_a_rater_a_pair_twice(open_app, arena_app: AppContext) -> None:
    token = persist.invite(arena_app.store, "c1", "ann")
    at = open_app(arena_app, token)
    shown = []
    for _ in range(6):
        shown.append(_shown_pair(at))
        at = _vote(at, "tie")
    assert len(set(shown)) == 6
    assert not [b for b in at.button if b.key.startswith("vote-")]
    assert any("nothing left to rate" in s.value for s in at.success)
    assert len(arena_app.store.votes_frame()) == 6


def test_names_are_revealed_after_the_vote_only_when_the_campaign_says(
    open_app, tmp_path: Path
) -> None:
    from arenalens.config import Settings

    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "open", "replay", reveal_names=True)
    persist.add_pairs(app.store, "open", make_pairs(2))
    at = open_app(app, persist.invite(app.store, "open", "ann"))
    at = _vote(at, "a")
    assert "A was S" in at.success[0].value


def test_hostile_text_stays_text(open_app, tmp_path: Path) -> None:
    from arenalens.config import Settings

    app = AppContext(Settings(workspace=tmp_path / "ws"))
    persist.create_campaign(app.store, "c1", "replay")
    persist.add_pairs(app.store, "c1", make_pairs(1, hostile=True))
    at = open_app(app, persist.invite(app.store, "c1", f"rater {HOSTILE}"))
    texts = _texts(at)
    assert any(HOSTILE in value for value in texts)  # query, both answers, rater name: st.text
    assert sum(HOSTILE in value for value in texts) == 4
    for element in list(at.markdown) + list(at.caption) + list(at.subheader):
        assert "<script>" not in element.value and "onerror" not in element.value
