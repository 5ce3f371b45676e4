"""A re-code that fails keeps the previous coding: readers see the last finished run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from coding_fixtures import KeywordLabeler, make_arena

from arenalens.cli import main_group
from arenalens.context import AppContext
from arenalens.store import Store
from coding import persist
from coding.codebook import load_codebook
from coding.coder import CodingConfig, code_feedback


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli(db_url: str, workspace: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), "--db", db_url, *args])
    return result.exit_code, result.output


def test_recode_with_an_unreachable_llm_keeps_the_previous_coding(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(db_url)
    make_arena(store)
    store.engine.dispose()
    with monkeypatch.context() as patch:
        patch.setattr(AppContext, "labeler", property(lambda self: KeywordLabeler()))
        assert _cli(db_url, tmp_path, "code", "--json")[0] == 0
    before = {cmd: _cli(db_url, tmp_path, cmd, "--json") for cmd in ("prevalence", "agreement")}
    assert all(code == 0 for code, _ in before.values())
    status_before = json.loads(_cli(db_url, tmp_path, "status", "--json")[1])
    assert json.loads(before["prevalence"][1])[0]["n_items"] == 40

    monkeypatch.setenv("ARENALENS_LLM_MAX_RETRIES", "1")
    monkeypatch.setenv("ARENALENS_LLM_TIMEOUT_S", "2")
    code, output = _cli(
        db_url, tmp_path, "--labeler", "llm", "--llm-base-url",
        f"http://127.0.0.1:{_closed_port()}/v1", "--llm-model", "down", "code", "--recode",
    )  # fmt: skip
    assert code != 0 and "Traceback" not in output

    after = {cmd: _cli(db_url, tmp_path, cmd, "--json") for cmd in ("prevalence", "agreement")}
    assert after == before  # the same 40 items and codes, not "nothing was coded"
    status = json.loads(_cli(db_url, tmp_path, "status", "--json")[1])
    assert status["stages"]["coding"] == status_before["stages"]["coding"]
    [failed] = status["unfinished_runs"]
    assert (failed["stage"], failed["status"]) == ("coding", "failed") and failed["reason"]


def test_a_successful_recode_swaps_all_codes_at_publish(store: Store) -> None:
    make_arena(store)
    codebook = load_codebook()
    version = codebook.version_key
    code_feedback(store, KeywordLabeler(), codebook, CodingConfig(batch_size=8), progress=False)
    old_runs = set(persist.items_frame(store, version)["run_id"])
    other = KeywordLabeler()
    other.name = "second-labeler"
    summary = code_feedback(
        store, other, codebook, CodingConfig(batch_size=8, recode=True), progress=False
    )
    items = persist.items_frame(store, version)
    assert summary.coded_now == 40 and summary.remaining == 0
    assert set(items["labeler"]) == {"second-labeler"} and set(items["run_id"]) == {summary.run_id}
    assert not old_runs & set(persist.codes_frame(store, version)["run_id"])


def test_a_recode_killed_midway_leaves_the_old_codes_in_place(store: Store) -> None:
    make_arena(store)
    codebook = load_codebook()
    version = codebook.version_key
    code_feedback(store, KeywordLabeler(), codebook, CodingConfig(batch_size=8), progress=False)
    codes_before = persist.codes_frame(store, version)
    with pytest.raises(KeyboardInterrupt):
        code_feedback(
            store,
            KeywordLabeler(fail_after_calls=2),
            codebook,
            CodingConfig(batch_size=8, recode=True),
            progress=False,
        )
    assert persist.codes_frame(store, version).equals(codes_before)
    assert len(persist.coded_feedback_ids(store, version)) == 40
