"""What `rank` says around the numbers: who may lead, weak joins, reasons and orderings
(issue 22's findings on the real Talk Arena votes and on small simulated arenas)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from ranking_sim import simulate_votes

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.ingest import (
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)
from arenalens.store import Store
from arenalens.store import tables as t
from ranking.evidence import EvidenceRule
from ranking.leaderboard import RankingOptions, rank_votes

ALIASES = Path(__file__).resolve().parents[2] / "data" / "talkarena_aliases.yaml"


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        return 1, result.stdout, f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def talkarena(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = tmp_path_factory.mktemp("talkarena") / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    ingest_interactions(
        store, shared_data / "talkarena" / "live_votes.json", "talkarena", progress=False
    )
    ingest_benchmark_scores(store, shared_data / "talkarena" / "static_benchmarks_long.csv")
    ingest_aliases(store, read_aliases(ALIASES))
    store.engine.dispose()
    return workspace


def test_a_one_vote_model_is_listed_apart_not_named_leader(talkarena: Path) -> None:
    code, out, err = run(talkarena, "rank", "--bootstrap", "200")
    assert code == 0, err
    assert "Too few votes to rank: gemini_2f (1 vote)" in out
    headline = next(ln for ln in out.splitlines() if ln.startswith(("Leader:", "No single leader")))
    assert "gemini_2f" not in headline and "GPT4o" in headline
    assert "gemini_2f" not in "".join(ln for ln in out.splitlines() if "fragility" in ln)
    code, out, err = run(talkarena, "rank", "--bootstrap", "200", "--json")
    payload = json.loads(out)
    row = next(r for r in payload["ratings"] if r["model"] == "gemini_2f")
    assert (row["rank"], row["status"]) == (0, "too few votes")
    assert payload["too_few_votes"] == [{"model": "gemini_2f", "votes": 1, "component": 0}]
    assert payload["ratings"][0]["model"] == "GPT4o"  # the top of the ranked models


def test_the_rule_is_configurable_in_settings(talkarena: Path, monkeypatch) -> None:
    monkeypatch.setenv("ARENALENS_BOARD_MIN_VOTES", "1")
    monkeypatch.setenv("ARENALENS_BOARD_MAX_CI_WIDTH", "1000")
    code, out, err = run(talkarena, "rank", "--bootstrap", "100", "--json")
    assert code == 0, err
    assert json.loads(out)["too_few_votes"] == []
    assert EvidenceRule(30, 300).admits(30, 0, 300) and not EvidenceRule(30, 300).admits(29, 0, 1)


def test_a_control_that_stands_in_for_another_is_flagged(talkarena: Path) -> None:
    """Latency is 'significant' alone and not once length is controlled."""
    args = ["rank", "--bootstrap", "100", "--no-fragility", "--json"]
    code, out, err = run(talkarena, *args, "--control", "response_length", "--control",
                         "time_to_first_token")  # fmt: skip
    assert code == 0, err
    controlled = json.loads(out)["controlled"]
    latency = next(c for c in controlled["coefficients"] if c["covariate"] == "time_to_first_token")
    assert latency["alone_significant"] and not latency["significant"]
    assert "not once Response length is controlled" in latency["caution"]  # in words
    ratings = [r["rating"] for r in controlled["ratings"] if r["rank"] > 0]
    assert ratings == sorted(ratings, reverse=True)  # by controlled rating, CI-rank beside


def test_cluster_none_on_votes_with_user_ids_says_clustering_was_turned_off(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    a, b, score = simulate_votes(np.array([-0.5, 0.0, 0.5]), 300, np.random.default_rng(0))
    winner = np.where(score == 1, "model_a", "model_b")
    store.insert_ignore(
        t.interactions,
        [
            {
                "id": f"v{k}",
                "model_a": a[k],
                "model_b": b[k],
                "winner": winner[k],
                "user_id": f"u{k % 30}",
                "content_hash": f"h{k}",
            }  # fmt: skip
            for k in range(len(a))
        ],
    )
    store.engine.dispose()
    code, out, err = run(workspace, "rank", "--cluster", "none", "--bootstrap", "50")
    assert code == 0, err
    assert "user clustering was turned off with --cluster none" in out
    assert "carry no user ids" not in out


def two_groups_joined_by(joining: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Two groups of four models, 400 votes within each, `joining` votes between them."""
    rng = np.random.default_rng(seed)
    theta = np.array([0.5, 0.2, 0.0, -0.3])
    a1, b1, s1 = simulate_votes(theta, 400, rng)
    a2, b2, s2 = simulate_votes(theta, 400, rng)
    shift = np.vectorize(lambda name: f"m{int(name[1:]) + 4}", otypes=[object])
    a = np.concatenate([a1, shift(a2), np.array(["m0", "m5"] * joining, dtype=object)[:joining]])
    b = np.concatenate([b1, shift(b2), np.array(["m4", "m1"] * joining, dtype=object)[:joining]])
    return a, b, np.concatenate([s1, s2, np.ones(joining)])


def test_groups_joined_by_two_votes_are_ranked_apart_with_a_warning() -> None:
    a, b, score = two_groups_joined_by(2)
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=200))
    line = next(w for w in board.warnings if "joined by only 2 votes" in w)
    assert "{m0, m1, m2, m3}; {m4, m5, m6, m7}" in line and "bootstrap rounds" in line
    groups = {r.model: r.component for r in board.ratings}
    assert len({groups[f"m{k}"] for k in range(4)}) == 1
    assert groups["m0"] != groups["m4"]
    assert {f.component for f in board.fragility} == {0, 1}  # fragility for both groups
    well_joined = rank_votes(*two_groups_joined_by(60), RankingOptions(bootstrap_rounds=50))
    assert not any("joined by only" in w for w in well_joined.warnings)


def test_per_component_fragility_covers_every_group() -> None:
    a, b, score = two_groups_joined_by(0)
    board = rank_votes(a, b, score, RankingOptions(bootstrap_rounds=0, per_component=True))
    leaders = [f for f in board.fragility if f.kind == "leader"]
    assert len(leaders) == 2
    assert all(f.sentence().startswith(f"in group {f.component + 1} (") for f in leaders)
