"""Leaderboard and Benchmarks pages on the real Talk Arena votes: numbers match the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_testkit import page_text

from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_aliases, ingest_benchmark_scores, ingest_interactions

pytest.importorskip("ranking.cli")

TALKARENA_ALIASES = {
    "diva_3_8b": "Diva",
    "gpt4o": "GPT4o",
    "gemini_1.5p": "Gemini",
    "qwen2": "Qwen2-audio",
    "typhoon_audio": "Typhoon",
    "pipe_l3.0": "Whisper+llama3",
}


@pytest.fixture(scope="module")
def talkarena_workspace(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Talk Arena's 303 real votes and benchmark scores, ranked (overall and by language) and regressed."""
    from ranking.cli import compute_rankings, compute_regression
    from ranking.leaderboard import RankingOptions

    workspace = tmp_path_factory.mktemp("talkarena") / "workspace"
    app = AppContext(Settings(workspace=workspace))
    folder = shared_data / "talkarena"
    ingest_interactions(app.store, folder / "live_votes.json", "talkarena", progress=False)
    ingest_benchmark_scores(app.store, folder / "static_benchmarks_long.csv")
    ingest_aliases(app.store, TALKARENA_ALIASES)
    compute_rankings(app, RankingOptions(bootstrap_rounds=100, seed=0), by="language")
    controls = ("response_length", "time_to_first_token")
    compute_rankings(app, RankingOptions(bootstrap_rounds=100, seed=0, controls=controls))
    compute_regression(app, seed=0, select=True)
    app.store.engine.dispose()
    return workspace


@pytest.fixture(scope="module")
def talkarena_app(talkarena_workspace: Path):
    app = AppContext(Settings(workspace=talkarena_workspace))
    yield app
    app.store.engine.dispose()


def test_leaderboard_shows_the_latest_runs_ratings(render, talkarena_workspace, talkarena_app):
    from ranking.persist import ratings_frame

    stored = ratings_frame(talkarena_app.store)
    at = render(talkarena_workspace, "leaderboard.py")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Models"] == str(len(stored))
    assert metrics["Votes ranked"] == "303"
    table = at.dataframe[0].value
    ranked = stored[stored["rank"] > 0]  # gemini_2f (1 vote) is listed apart, not ranked
    assert list(table["model"]) == list(ranked["model"])  # best rank first
    assert "gemini_2f" not in set(table["model"])
    assert list(table["rank"]) == sorted(table["rank"])
    shown = table.set_index("model")["rating"]
    for row in ranked.itertuples():
        assert shown[row.model] == pytest.approx(row.rating)
    assert len(at.get("vega_lite_chart")) >= 3  # ratings, raw vs controlled, win-rate heatmap
    text = page_text(at)
    assert "CIs treat votes as independent (the votes carry no user ids)" in text
    assert "The top-rated model (" in text and " votes (" in text  # fragility, as plain text
    from dashboard.ui import escape_markdown

    assert "Too few votes to rank: " + escape_markdown("gemini_2f (1 vote)") in text
    assert "No single leader: the intervals of GPT4o" in text
    assert "the top-rated model (gemini" not in text.lower()
    statuses = set(table["status"])
    assert statuses <= {"preliminary", "provisional", "established"} and statuses


def test_leaderboard_shows_the_controlled_board_beside_the_raw_one(
    render, talkarena_workspace, talkarena_app
):
    from ranking.persist import CONTROLLED, ratings_frame

    controlled = ratings_frame(talkarena_app.store, slice_field=CONTROLLED)
    at = render(talkarena_workspace, "leaderboard.py")
    tables = [d.value for d in at.dataframe]
    side = next(t for t in tables if "controlled rating" in t.columns)
    ranked = controlled[controlled["rank"] > 0]
    assert side.set_index("model")["controlled rating"].to_dict() == pytest.approx(
        ranked.set_index("model")["rating"].to_dict()
    )
    assert list(side["controlled rating"]) == sorted(side["controlled rating"], reverse=True)
    coefficients = next(t for t in tables if "control" in t.columns)
    assert list(coefficients["control"]) == ["Response length", "Time to first token"]
    assert "odds ratio per SD" in coefficients.columns  # not "odds_ratio_per_sd"


def test_leaderboard_offers_the_sliced_run(render, talkarena_workspace):
    at = render(talkarena_workspace, "leaderboard.py")
    assert at.selectbox(key="leaderboard_slice").options == ["language"]
    assert not at.exception


def test_leaderboard_without_a_ranking_run_names_the_command(render, tiny_workspace):
    at = render(tiny_workspace, "leaderboard.py")
    assert not at.exception
    assert "arenalens rank" in page_text(at)


def test_benchmarks_page_shows_the_stored_regression(render, talkarena_workspace, talkarena_app):
    run = talkarena_app.store.latest_run("regression")
    at = render(talkarena_workspace, "benchmarks.py")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    summary = run["summary"]
    assert metrics["Held-out strength R²"] == f"{summary['cross_validation']['r2_strength']:.2f}"
    from arenalens.display import readable_p

    assert metrics["Permutation p-value"] == readable_p(summary["permutation"]["p_value"])
    assert "e-" not in metrics["Permutation p-value"]  # not "1.6e-01"
    text = page_text(at)
    assert "no benchmark can be shown to predict preference" in text
    assert "The evidence is 6 models, not the votes" in text
    from dashboard.ui import escape_markdown

    # readable benchmark names, escaped so that user data never renders as markdown
    assert escape_markdown("Intent Detection (SLURP)") in text
    assert metrics["Marginal R²"] == f"{run['summary']['r2_marginal']:.2f}"
    assert metrics["Conditional R²"] == "—"  # the random effect has 1 degree of freedom
    taus = at.table[-1].value  # a wrapping table: benchmark names are read in full
    assert len(taus) == len(run["summary"]["kendall_tau"])
    assert set(taus["95% interval of τ"]) == {"needs 8+ models"}  # 6 models, never "None"


def test_benchmarks_page_without_scores_says_what_to_ingest(render, tiny_workspace):
    at = render(tiny_workspace, "benchmarks.py")
    assert not at.exception
    assert "arenalens benchmarks ingest" in page_text(at)


def test_benchmarks_page_shows_a_regression_stored_by_an_older_version(
    render, talkarena_workspace, talkarena_app, tmp_path
):
    """A workspace regressed before τ had CIs and before cross-validation still renders."""
    import shutil

    workspace = tmp_path / "older"
    shutil.copytree(talkarena_workspace, workspace)
    app = AppContext(Settings(workspace=workspace))
    summary = dict(talkarena_app.store.latest_run("regression")["summary"])
    for key in ("cross_validation", "permutation", "selection", "summary_line"):
        summary.pop(key, None)
    summary["kendall_tau"] = [
        {k: v for k, v in row.items() if k not in ("ci_low", "ci_high")}
        for row in summary["kendall_tau"]
    ]
    run_id = app.store.start_run("regression", {"seed": 0})
    app.store.finish_run(run_id, summary=summary)
    app.store.engine.dispose()
    at = render(workspace, "benchmarks.py")
    assert not at.exception, at.exception
    assert len(at.table[-1].value) == len(summary["kendall_tau"])


def test_overview_names_no_leader_with_one_vote(render, talkarena_workspace):
    """gemini_2f (1 vote, never lost) tops the ratings; the Overview lists it apart instead."""
    from dashboard.ui import escape_markdown

    at = render(talkarena_workspace, "overview.py")
    assert not at.exception, at.exception
    text = page_text(at)
    assert "No single leader: the intervals of GPT4o" in text
    assert "Too few votes to rank: " + escape_markdown("gemini_2f (1 vote)") in text
