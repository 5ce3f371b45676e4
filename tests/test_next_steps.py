"""The next-steps checklist is built from what a workspace holds."""

from __future__ import annotations

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions
from arenalens.next_steps import next_steps


def steps_by_name(status: dict, ranked_by=()) -> dict:
    return {step.name: step for step in next_steps(status, ranked_by)}


def test_the_talk_arena_votes_alone_suggest_rank_and_nothing_that_would_fail(shared_data, tmp_path):
    app = AppContext(Settings(workspace=tmp_path / "ws"))
    ingest_interactions(app.store, shared_data / "talkarena" / "live_votes.json", progress=False)
    steps = steps_by_name(app.store.status())
    app.store.engine.dispose()
    assert steps["Rank models"].state == "ready"
    assert steps["Rank models"].command == "arenalens rank"
    assert steps["Build the use-case taxonomy"].state == "blocked"
    assert steps["Code feedback into loss reasons"].state == "blocked"
    assert "no written feedback" in steps["Code feedback into loss reasons"].why
    # the per-category boards say why they cannot run (no taxonomy), not "run rank --by"
    per_category = steps["Leaderboards per use case"]
    assert per_category.state == "blocked" and "taxonomy" in per_category.why


def test_an_empty_workspace_is_told_to_load_data():
    (only,) = next_steps({"interactions": 0})
    assert only.state == "ready" and "ingest" in only.command


def test_finished_stages_are_marked_done():
    status = {
        "interactions": 2400, "votes": 2400, "queries": 2400, "feedback": 1041,
        "benchmark_scores": 72, "systems": 6,
        "stages": {"ranking": {}, "taxonomy": {}, "coding": {}, "coding.sample": {}, "regression": {}},
    }  # fmt: skip
    steps = steps_by_name(status, ranked_by=["category"])
    required = {name: s for name, s in steps.items() if not name.endswith("(optional)")}
    assert {s.state for s in required.values()} == {"done"}
    steps = steps_by_name(status)
    assert steps["Leaderboards per use case"].state == "ready"
