"""`arenalens rank` / `arenalens regress`: the --json contract, slices, errors, stored runs, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from ranking_sim import simulate_votes

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import (
    ingest_aliases,
    ingest_benchmark_scores,
    ingest_interactions,
    read_aliases,
)
from arenalens.store import Store
from arenalens.store import tables as t
from ranking import persist
from ranking.cli import demo

ALIASES = Path(__file__).resolve().parents[2] / "data" / "talkarena_aliases.yaml"
RATING_KEYS = {"model", "rating", "ci_low", "ci_high", "rank", "votes"}


def run(workspace: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        return 1, result.stdout, f"{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def synthetic_workspace(tmp_path: Path) -> Path:
    """Votes among four models with language and a metadata field `device`."""
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    a, b, score = simulate_votes(np.array([-0.5, 0.0, 0.2, 0.6]), 400, np.random.default_rng(0))
    winner = np.where(score == 1, "model_a", np.where(score == 0, "model_b", "tie"))
    rows = [
        {
            "id": f"v{k}",
            "model_a": a[k],
            "model_b": b[k],
            "winner": winner[k],
            "language": "en" if k % 3 else "th",
            "extra": {"device": "phone" if k % 2 else "laptop"},
            "content_hash": f"h{k}",
        }
        for k in range(len(a))
    ]
    store.insert_ignore(t.interactions, rows)
    store.engine.dispose()
    return workspace


@pytest.fixture
def talkarena_workspace(tmp_path: Path, shared_data: Path) -> Path:
    workspace = tmp_path / "talkarena"
    store = Store.open(Settings(workspace=workspace).db_url)
    ingest_interactions(
        store, shared_data / "talkarena" / "live_votes.json", "talkarena", progress=False
    )
    ingest_benchmark_scores(store, shared_data / "talkarena" / "static_benchmarks_long.csv")
    ingest_aliases(store, read_aliases(ALIASES))
    store.engine.dispose()
    return workspace


def test_rank_json_prints_one_object_with_the_ratings_contract(synthetic_workspace: Path) -> None:
    code, out, err = run(synthetic_workspace, "rank", "--json", "--bootstrap", "200", "--seed", "3")
    assert code == 0, err
    payload = json.loads(out)
    assert isinstance(payload, dict)
    assert [r["model"] for r in payload["ratings"]][0] == "m3"
    for row in payload["ratings"]:
        assert RATING_KEYS <= set(row)
        assert row["ci_low"] <= row["rating"] <= row["ci_high"]
        assert row["votes"] > 0 and row["rank"] >= 1
    assert sum(r["votes"] for r in payload["ratings"]) == 2 * 400
    assert payload["bootstrap_rounds"] == 200 and payload["win_rates"]


def test_rank_is_reproducible_and_stored_as_a_run(synthetic_workspace: Path) -> None:
    first = json.loads(run(synthetic_workspace, "rank", "--json", "--bootstrap", "100")[1])
    second = json.loads(run(synthetic_workspace, "rank", "--json", "--bootstrap", "100")[1])
    assert first["ratings"] == second["ratings"]
    store = Store.open(Settings(workspace=synthetic_workspace).db_url)
    stored = persist.ratings_frame(store)
    assert int(stored["run_id"].iloc[0]) == second["run_id"]
    assert stored.set_index("model")["rating"].to_dict() == {
        r["model"]: r["rating"] for r in second["ratings"]
    }
    assert store.latest_run("ranking")["config"]["bootstrap_rounds"] == 100
    assert len(persist.win_rates_frame(store, second["run_id"])) == 4 * 3


def test_rank_anchor_and_davidson_ties(synthetic_workspace: Path) -> None:
    code, out, err = run(
        synthetic_workspace,
        "rank",
        "--json",
        "--bootstrap",
        "50",
        "--ties",
        "davidson",
        "--anchor",
        "m0=800",
    )
    assert code == 0, err
    payload = json.loads(out)
    m0 = next(r for r in payload["ratings"] if r["model"] == "m0")
    assert m0["rating"] == 800 and payload["ties_mode"] == "davidson"


def test_rank_by_language_and_metadata_field(synthetic_workspace: Path) -> None:
    payload = json.loads(
        run(synthetic_workspace, "rank", "--json", "--bootstrap", "50", "--by", "language")[1]
    )
    assert {s["value"] for s in payload["slices"]} == {"en", "th"}
    assert all(RATING_KEYS <= set(r) for s in payload["slices"] for r in s["ratings"])
    assert sum(s["votes"] for s in payload["slices"]) == 400
    payload = json.loads(
        run(synthetic_workspace, "rank", "--json", "--bootstrap", "50", "--by", "device")[1]
    )
    assert {s["value"] for s in payload["slices"]} == {"phone", "laptop"}


def test_rank_by_unknown_field_lists_the_available_ones(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--by", "planet")
    assert code != 0 and "--by planet" in err and "device" in err


def test_rank_by_category_before_taxonomy_says_what_to_run(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--by", "category")
    assert code != 0 and "arenalens taxonomy build" in err


def test_rank_by_reason_before_coding_says_what_to_run(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--by", "reason")
    assert code != 0 and "arenalens code" in err


def test_bad_anchor_is_a_usage_error(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--anchor", "m0")
    assert code == 2 and "MODEL=VALUE" in err


def test_rank_with_no_votes_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "empty", "rank")
    assert code != 0 and "no votes" in err


def test_rank_text_output_on_talk_arena(talkarena_workspace: Path) -> None:
    code, out, err = run(talkarena_workspace, "rank", "--bootstrap", "100", "--min-votes", "5")
    assert code == 0, err
    assert "GPT4o" in out and "gemini_2f" not in out
    assert "excluded for fewer than 5 votes: gemini_2f (1)" in err


def test_rank_length_control_on_talk_arena(talkarena_workspace: Path) -> None:
    code, out, err = run(
        talkarena_workspace,
        "rank",
        "--json",
        "--bootstrap",
        "100",
        "--length-control",
        "--min-votes",
        "5",
    )
    assert code == 0, err
    payload = json.loads(out)
    (length,) = payload["controlled"]["coefficients"]
    assert length["covariate"] == "response_length"
    assert length["ci_low"] > 0  # Talk Arena voters favour longer answers
    assert len(payload["ratings"]) == len(payload["controlled"]["ratings"]) == 7


def test_regress_json_on_talk_arena(talkarena_workspace: Path) -> None:
    code, out, err = run(talkarena_workspace, "regress", "--json")
    assert code == 0, err
    payload = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert None in payload["vif_dropped"].values()  # exactly collinear benchmarks: VIF infinite
    assert 0 < payload["r2_marginal"] < 1 and payload["r2_conditional"] is None  # 1 df: not shown
    assert payload["models"] == [
        "Diva",
        "GPT4o",
        "Gemini",
        "Qwen2-audio",
        "Typhoon",
        "Whisper+llama3",
    ]
    store = Store.open(Settings(workspace=talkarena_workspace).db_url)
    terms = persist.regression_terms_frame(store)
    assert set(terms["fit"]) == {"mixed", "logit"}
    assert store.latest_run("regression")["summary"]["r2_marginal"] == pytest.approx(
        payload["r2_marginal"]
    )


def test_regress_without_benchmarks_says_how_to_load_them(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "regress")
    assert code != 0 and "arenalens benchmarks ingest" in err


def test_demo_ranks_and_regresses(talkarena_workspace: Path) -> None:
    app = AppContext(Settings(workspace=talkarena_workspace))
    line = demo(app)
    assert line.startswith("ranking: 8 models from 303 votes")
    assert "no benchmark can be shown to predict preference" in line
    assert app.store.latest_run("ranking") and app.store.latest_run("regression")


def test_rank_without_bootstrap_uses_sandwich_intervals_and_strict_json(
    synthetic_workspace: Path,
) -> None:
    code, out, err = run(synthetic_workspace, "rank", "--json", "--bootstrap", "0")
    assert code == 0, err

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    payload = json.loads(out, parse_constant=refuse)
    assert payload["ci_method"].startswith("sandwich")
    for row in payload["ratings"]:
        assert (row["ci_low"], row["ci_high"]) == (row["sandwich_low"], row["sandwich_high"])
    assert all(r["ci_low"] is None for r in payload["win_rates"])


def test_rank_where_reports_the_votes_it_left_out(synthetic_workspace: Path) -> None:
    code, out, err = run(
        synthetic_workspace, "rank", "--json", "--bootstrap", "50", "--where", "language == 'en'"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["votes"] == 266 and payload["where"] == "language == 'en'"
    assert payload["excluded_votes"] == {"do not match \"language == 'en'\"": 134}


def test_rank_where_matching_nothing_is_one_clear_line(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--where", "device == 'tablet'")
    assert code != 0 and "matches none of the 400 votes" in err


def test_rank_where_that_disconnects_the_models_says_so(synthetic_workspace: Path) -> None:
    expression = "(model_a in ['m0', 'm1'] and model_b in ['m0', 'm1']) or (model_a in ['m2', 'm3'] and model_b in ['m2', 'm3'])"
    code, _, err = run(synthetic_workspace, "rank", "--where", expression)
    assert code != 0 and "2 disconnected groups ({m0, m1}; {m2, m3})" in err


def test_rank_text_output_names_the_uncertainty_fragility_and_controls(
    talkarena_workspace: Path,
) -> None:
    code, out, err = run(
        talkarena_workspace, "rank", "--bootstrap", "100", "--min-votes", "5",
        "--control", "response_length", "--control", "time_to_first_token", "--ties", "davidson",
    )  # fmt: skip
    assert code == 0, err
    assert "CIs treat votes as independent (the votes carry no user ids)" in out
    assert "fragility: the top-rated model (" in out and "of 302 votes (" in out
    assert "Controlled for Response length and Time to first token (302 votes" in out
    assert "preliminary" in out  # under 100 votes per model


def test_rank_control_with_a_non_numeric_field_is_refused(synthetic_workspace: Path) -> None:
    code, _, err = run(synthetic_workspace, "rank", "--control", "device")
    assert code != 0 and "non-numeric device" in err


def test_regress_reports_cross_validation_permutation_and_selection(
    talkarena_workspace: Path,
) -> None:
    code, out, err = run(talkarena_workspace, "regress", "--json", "--select")
    assert code == 0, err
    payload = json.loads(out)
    cv, perm = payload["cross_validation"], payload["permutation"]
    assert cv["log_loss"] > 0 and cv["log_loss_null"] > 0
    assert perm["permutations"] == 720 and perm["kind"] == "all" and 0 < perm["p_value"] <= 1
    # six models: below the minimum, so no interval (resampling six models says little)
    assert all(r["ci_low"] is None and not r["significant"] for r in payload["kendall_tau"])
    assert payload["selection"]["selected"] and payload["summary_line"].startswith(
        "Predicting each model's strength from its benchmarks"
    )


def test_regress_on_talk_arena_reads_as_a_statistician_would_write_it(
    talkarena_workspace: Path,
) -> None:
    """154 votes among 6 models: the held-out figure first, then the caveat about the number of
    models, then the table; no per-vote stars, no scientific notation, no snake_case."""
    code, out, err = run(talkarena_workspace, "regress")
    assert code == 0, err
    first, _, caveat, _, intro, header, *rest = out.splitlines()
    assert first.startswith("Predicting each model's strength from its benchmarks")
    assert "does worse than predicting no difference between models (held-out R² -7.06" in first
    assert first.endswith("with 6 models no benchmark can be shown to predict preference.")
    assert caveat.startswith("The evidence is 6 models, not the votes")
    needed = re.search(r"would take about (\d+) models", caveat)
    assert needed and 30 < int(needed.group(1)) < 120
    assert "all 720 orders of the 6 models" in intro and "Holm" in intro
    assert header.split()[:3] == ["benchmark", "Kendall", "τ"] and "adjusted p" in header
    rows = rest[:18]
    assert all(row.rstrip().endswith(" no") for row in rows)
    assert "*" not in out and not re.search(r"\d\.?\d*e-\d", out)
    assert "_" not in header and "[" not in out
    assert "not identifiable" in out or "too few to estimate" in out
