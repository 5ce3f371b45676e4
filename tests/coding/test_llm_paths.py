"""`code --llm-sample`, `code --few-shot` and `agreement --against llm` run for real.

Against the loopback llama.cpp server (SmolLM2-135M: its codes are poor, so these assert what
the commands do, not how good the codes are) and against the fault server (errors, budgets).
The workspace holds real HALIE explanations ingested as a user would.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from arenalens.app.cli import main, main_group
from arenalens.config import Settings
from arenalens.display import display_name
from arenalens.store import Store
from arenalens.store import tables as t
from coding import persist
from coding.codebook import load_codebook

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labeler"))
from fault_server import FaultServer  # noqa: E402

HALIE = Path(__file__).resolve().parents[3] / "shared" / "data" / "halie" / "survey_feedback.jsonl"
N_ITEMS = 40
SAMPLE = 30  # coding.distill.MIN_SAMPLE


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace holding the first 40 real HALIE explanations, ingested with the CLI."""
    if not HALIE.exists():
        pytest.skip(f"shared data missing: {HALIE}")
    source = tmp_path / "halie.jsonl"
    source.write_text("".join(HALIE.read_text(encoding="utf-8").splitlines(True)[:N_ITEMS]))
    ws = tmp_path / "ws"
    cli(ws, "ingest", str(source), "--map", "why=feedback", "--map", "model=model_a")
    return ws


def cli(ws: Path, *args: str, llm: str | None = None, model: str = "fault-model") -> str:
    flags = ["--llm-base-url", llm, "--llm-model", model] if llm else []
    result = CliRunner().invoke(
        main_group, ["--workspace", str(ws), *flags, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def cli_error(
    ws: Path, capsys: pytest.CaptureFixture[str], *args: str, llm: str
) -> tuple[int, str]:
    """Run the console entry point as a user's shell would; return exit code and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(["--workspace", str(ws), "--llm-base-url", llm, "--llm-model", "fault-model", *args])
    return int(exit_info.value.code), capsys.readouterr().err


def assert_one_error_line(err: str) -> None:
    """The run ends in one `error: ...` line (retry warnings may precede it), no traceback."""
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), err
    assert sum(line.startswith("error: ") for line in lines) == 1 and "Traceback" not in err


def store_of(ws: Path) -> Store:
    return Store.open(Settings(workspace=ws).db_url)


def usage_calls(ws: Path) -> int:
    store = store_of(ws)
    try:
        return int(store.read_table(t.llm_usage)["calls"].sum())
    finally:
        store.engine.dispose()


def codes_and_items(ws: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    store = store_of(ws)
    version = load_codebook().version_key
    try:
        return persist.codes_frame(store, version), persist.items_frame(store, version)
    finally:
        store.engine.dispose()


def assert_distilled_run(ws: Path, payload: dict, runs: int = 1) -> None:
    """Every item coded by the classifier; agreement and savings reported; the run published."""
    assert payload["coded_now"] == N_ITEMS and payload["feedback_total"] == N_ITEMS
    report = payload["llm_sample"]
    assert report["sample"] == SAMPLE and report["held_back"] + 0 >= 5
    codes = {row["code"] for row in report["agreement"]}
    assert codes == set(load_codebook().code_names)
    assert all(row["n"] == report["held_back"] for row in report["agreement"])
    assert f"LLM coded {SAMPLE} items" in report["savings"]
    assert f"coded all {N_ITEMS}" in report["savings"]
    _, items = codes_and_items(ws)
    assert len(items) == N_ITEMS
    # the classifier, not the LLM, wrote every stored item
    assert items["labeler"].str.startswith("distilled:llm:").all()
    assert published_runs(ws) == runs
    from arenalens.display import plural, stage_name

    assert f"{stage_name('coding'):<26}{plural(runs, 'run')}, last" in cli(ws, "status")


def published_runs(ws: Path) -> int:
    """Finished runs of the coding stage (what readers see)."""
    store = store_of(ws)
    try:
        runs = store.read_table(t.runs)
    finally:
        store.engine.dispose()
    return int(((runs["stage"] == "coding") & (runs["status"] == "done")).sum())


@pytest.mark.slow  # 30+ real generations by a 135M model on a shared 2-core machine
def test_llm_sample_on_the_local_server_codes_the_sample_once_and_the_rest_by_classifier(
    workspace: Path, llm_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one request at a time: the server has one slot, queued requests would time out
    monkeypatch.setenv("ARENALENS_LLM_CONCURRENCY", "1")
    monkeypatch.setenv("ARENALENS_LLM_TIMEOUT_S", "240")
    payload = json.loads(
        cli(
            workspace,
            "code",
            "--llm-sample",
            str(SAMPLE),
            "--json",
            llm=llm_server.base_url,
            model=llm_server.model,
        )
    )
    calls = usage_calls(workspace)
    # one call per sampled item, and at most one re-ask each for invalid output
    assert SAMPLE <= calls <= 2 * SAMPLE
    assert_distilled_run(workspace, payload)

    against = cli(
        workspace,
        "agreement",
        "--against",
        "llm",
        "--items",
        "3",
        llm=llm_server.base_url,
        model=llm_server.model,
    )
    assert f"vs llm:{llm_server.model} on 3 items" in against
    for code in load_codebook().code_names:  # each loss reason, in words
        assert display_name(code) in against


NO_LABELS = json.dumps({"labels": []})


def sampled_texts(server: FaultServer) -> list[str]:
    """The feedback text each request asked about (the last line block of the user message)."""
    return [r.body["messages"][-1]["content"] for r in server.requests]


def test_llm_sample_calls_the_llm_once_per_sampled_item_and_publishes(workspace: Path) -> None:
    with FaultServer([("ok", NO_LABELS)]) as server:
        payload = json.loads(
            cli(workspace, "code", "--llm-sample", str(SAMPLE), "--json", llm=server.base_url)
        )
    assert len(server.requests) == SAMPLE
    assert len(set(sampled_texts(server))) == SAMPLE  # 30 different items, none asked twice
    assert usage_calls(workspace) == SAMPLE
    assert_distilled_run(workspace, payload)


def test_llm_sample_prints_agreement_and_savings(workspace: Path) -> None:
    with FaultServer([("ok", NO_LABELS)]) as server:
        out = cli(workspace, "code", "--llm-sample", str(SAMPLE), llm=server.base_url)
    assert "classifier vs LLM on 8 held-back items of the LLM's sample of 30 (trained on 22)" in out
    assert "Cohen's κ" in out and "% agreement" in out
    assert f"LLM coded {SAMPLE} items in" in out and "about 180 LLM tokens" in out  # 10 x 18


FAILURES = {
    "server error": [("status", 500, {})],
    "rate limited": [("status", 429, {"Retry-After": "0"})],
    "timeout": [("hang", 3.0)],
    "not JSON": [("garbage",)],
    "malformed output": [("ok", "{not json")],
}


@pytest.mark.parametrize("failure", FAILURES, ids=list(FAILURES))
def test_llm_sample_on_a_failing_endpoint_ends_in_one_line_and_keeps_the_codes(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    cli(workspace, "code")  # the offline coder's codes, published
    before_codes, before_items = codes_and_items(workspace)
    monkeypatch.setenv("ARENALENS_LLM_MAX_RETRIES", "1")
    monkeypatch.setenv("ARENALENS_LLM_TIMEOUT_S", "1")
    capsys.readouterr()
    with FaultServer(FAILURES[failure]) as server:
        code, err = cli_error(
            workspace, capsys, "code", "--llm-sample", str(SAMPLE), llm=server.base_url
        )
    assert code == 2
    assert_one_error_line(err)
    assert published_runs(workspace) == 1
    after_codes, after_items = codes_and_items(workspace)
    pd.testing.assert_frame_equal(after_codes, before_codes)
    pd.testing.assert_frame_equal(after_items, before_items)


def test_llm_sample_budget_cap_stops_cleanly_and_a_rerun_pays_only_for_the_rest(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli(workspace, "code")
    before_codes, _ = codes_and_items(workspace)
    monkeypatch.setenv("ARENALENS_LLM_MAX_CALLS", "10")
    monkeypatch.setenv("ARENALENS_LLM_CONCURRENCY", "1")
    capsys.readouterr()
    with FaultServer([("ok", NO_LABELS)]) as server:
        code, err = cli_error(
            workspace, capsys, "code", "--llm-sample", str(SAMPLE), llm=server.base_url
        )
        assert code == 2
        assert_one_error_line(err)
        assert "budget" in err and "10 calls" in err
        assert len(server.requests) == 10
        assert published_runs(workspace) == 1
        pd.testing.assert_frame_equal(codes_and_items(workspace)[0], before_codes)

        monkeypatch.setenv("ARENALENS_LLM_MAX_CALLS", "20")
        payload = json.loads(
            cli(workspace, "code", "--llm-sample", str(SAMPLE), "--json", llm=server.base_url)
        )
    assert len(server.requests) == SAMPLE  # the first 10 answers came from the cache
    assert_distilled_run(workspace, payload, runs=2)


def test_few_shot_puts_the_nearest_human_coded_items_in_the_prompt(workspace: Path) -> None:
    from coding.annotations import AnnotationQueue

    cli(workspace, "code")
    cli(workspace, "annotate", "sample", "--annotator", "ann", "--size", "10")
    store = store_of(workspace)
    queue = AnnotationQueue(store, load_codebook())
    texts = store.feedback_frame().set_index("id")["text"]
    human = {}
    while (item := queue.next_item("ann")) is not None:
        queue.save("ann", item.feedback_id, {"helpfulness": True})
        human[item.feedback_id] = texts[item.feedback_id]
    store.engine.dispose()
    assert len(human) == 10

    with FaultServer([("ok", NO_LABELS)]) as server:
        cli(
            workspace,
            "code",
            "--few-shot",
            "2",
            "--recode",
            "--batch-size",
            "1",
            "--limit",
            "3",
            llm=server.base_url,
        )
        with_examples = sampled_texts(server)
        cli(workspace, "code", "--recode", "--limit", "1", llm=server.base_url)
        without = sampled_texts(server)[len(with_examples) :]
    assert len(with_examples) == 3
    for prompt in with_examples:
        assert "Examples coded by people" in prompt
        shown = [line for line in prompt.splitlines() if line.endswith("-> helpfulness")]
        assert len(shown) == 2
        assert all(any(f'"{text[:40]}' in line for text in human.values()) for line in shown)
    assert len(without) == 1 and "Examples coded by people" not in without[0]


def test_savings_are_estimated_from_fresh_llm_calls_not_cached_answers(workspace: Path) -> None:
    with FaultServer([("ok", NO_LABELS)]) as server:
        cli(workspace, "code", "--llm-sample", str(SAMPLE), llm=server.base_url)
        rerun = cli(workspace, "code", "--llm-sample", str(SAMPLE), llm=server.base_url)
    assert len(server.requests) == SAMPLE  # the rerun's sample came from the cache
    assert "about 0 LLM tokens" not in rerun
    assert "all from the cache: no cost to estimate from" in rerun


def test_agreement_against_llm_codes_the_chosen_items_in_memory_and_reports_each_code(
    workspace: Path,
) -> None:
    cli(workspace, "code")
    before_codes, before_items = codes_and_items(workspace)
    with FaultServer([("ok", NO_LABELS)]) as server:
        report = json.loads(
            cli(
                workspace,
                "agreement",
                "--against",
                "llm",
                "--items",
                "5",
                "--json",
                llm=server.base_url,
            )
        )
    assert len(server.requests) == 5
    assert report["other"] == "llm:fault-model" and report["stored"].startswith("calibrated:")
    per_code = {row["code"]: row for row in report["per_code"]}
    assert set(per_code) == set(load_codebook().code_names)
    assert all(row["n"] == 5 and row["rate_other"] == 0 for row in per_code.values())
    # in memory: the stored codes and the published runs are untouched
    after_codes, after_items = codes_and_items(workspace)
    pd.testing.assert_frame_equal(after_codes, before_codes)
    pd.testing.assert_frame_equal(after_items, before_items)
    assert published_runs(workspace) == 1
