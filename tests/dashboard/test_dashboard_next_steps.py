"""On a votes-only workspace (the 303 real Talk Arena votes) the pages point to `rank` and
never to stages that would fail (taxonomy build: no queries; code: no feedback)."""

from __future__ import annotations

import re

import pytest
from dashboard_testkit import PAGES, page_text

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions
from arenalens.next_steps import Facts, next_steps


@pytest.fixture
def votes_only(shared_data, tmp_path):
    workspace = tmp_path / "talkarena"
    app = AppContext(Settings(workspace=workspace))
    ingest_interactions(app.store, shared_data / "talkarena" / "live_votes.json", progress=False)
    app.store.engine.dispose()
    return workspace


def test_overview_suggests_rank_and_explains_what_cannot_run(render, votes_only):
    at = render(votes_only, "overview.py")
    assert not at.exception
    text = page_text(at)
    assert "`arenalens rank`" in text
    assert "`arenalens taxonomy build`" not in text and "`arenalens code`" not in text
    assert "cannot run" in text


@pytest.mark.parametrize("page", ["use_cases.py", "feedback.py", "annotate.py", "agreement.py"])
def test_stage_pages_do_not_suggest_commands_that_would_fail(render, votes_only, page):
    at = render(votes_only, page)
    assert not at.exception
    text = page_text(at)
    assert "`arenalens taxonomy build`" not in text and "`arenalens code`" not in text


# -- every hint comes from the one checklist -------------------------------------------------
HINT = re.compile(r"`(arenalens [^`]+)`")


def checklist_commands(workspace) -> dict[str, str]:
    """command -> state for every command (and alternative) of the workspace's checklist, as
    the dashboard's loaders build it."""
    from dashboard.loaders.workspace import workspace_steps

    app = AppContext(Settings(workspace=workspace))
    try:
        steps = workspace_steps(app)
    finally:
        app.store.engine.dispose()
    out = {}
    for step in steps:
        out[step.command] = step.state
        if step.fix:
            out[step.fix] = "ready"
    return out


def hints_on(render, workspace) -> dict[str, set[str]]:
    """page -> the commands its info boxes tell people to run."""
    found = {}
    for page in PAGES:
        at = render(workspace, page)
        assert not at.exception, page
        found[page] = {c for box in at.info for c in HINT.findall(str(box.value))}
    return found


@pytest.fixture
def ranked_votes_only(votes_only):
    """The Talk Arena votes ranked once, without controls (the controlled board not fitted)."""
    from click.testing import CliRunner

    from arenalens.app.cli import main_group

    result = CliRunner().invoke(
        main_group, ["--workspace", str(votes_only), "rank", "--bootstrap", "10", "--no-fragility"]
    )
    assert result.exit_code == 0, result.output
    return votes_only


def test_every_hint_on_a_votes_only_workspace_is_a_step_it_can_run(render, ranked_votes_only):
    commands = checklist_commands(ranked_votes_only)
    hints = hints_on(render, ranked_votes_only)
    for page, shown in hints.items():
        for command in shown:
            assert commands.get(command) in ("ready", "done"), (page, command, commands)
    # the style & latency hint names the controls these votes carry (their latency metadata)
    control = (
        "arenalens rank --control response_length --control time_to_first_token "
        "--control total_time"
    )
    assert control in hints["leaderboard.py"]
    assert commands[control] == "ready"


def test_the_control_hint_names_only_controls_the_data_has(render, tiny_workspace):
    """Votes with response texts and no latency metadata: length only (time to first token
    would fail); too few votes for a controlled board: it says so instead of a command."""
    from dashboard.loaders.workspace import workspace_facts

    app = AppContext(Settings(workspace=tiny_workspace))
    try:
        facts = workspace_facts(app)
    finally:
        app.store.engine.dispose()
    assert facts.controls == () and "needs at least 50" in facts.controls_blocked
    steps = {s.name: s for s in next_steps({"interactions": 2, "votes": 2}, facts=facts)}
    assert steps["Control for style and latency"].state == "blocked"


def test_control_step_from_facts():
    status = {"interactions": 600, "votes": 600, "queries": 600, "systems": 6}
    steps = {s.name: s for s in next_steps(status, facts=Facts(controls=("response_length",)))}
    step = steps["Control for style and latency"]
    assert (step.state, step.command) == ("ready", "arenalens rank --control response_length")
    done = next_steps(status, facts=Facts(controls=("response_length",), controlled=True))
    assert {s.name: s.state for s in done}["Control for style and latency"] == "done"
    # unknown facts (the CLI's status): the step is left out rather than guessed
    assert "Control for style and latency" not in {s.name for s in next_steps(status)}


def test_a_codebook_nothing_is_coded_under_asks_for_code():
    status = {"interactions": 10, "votes": 10, "feedback": 5, "stages": {"coding": {}}}
    facts = Facts(codebook_version="mine@2", coded_versions=("mine@1",))
    step = {s.name: s for s in next_steps(status, facts=facts)}["Code feedback into loss reasons"]
    assert step.state == "ready" and "mine@2" in step.why and "mine@1" in step.why
