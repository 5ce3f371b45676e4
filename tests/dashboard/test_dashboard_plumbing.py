"""The dashboard's plumbing: CLI command, cache invalidation, privacy rule, markdown escaping."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from dashboard_testkit import TINY_RECORDS

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.context import AppContext
from arenalens.ingest import ingest_interactions
from dashboard import loaders, prefetch, privacy
from dashboard.cli import dashboard_environment, streamlit_command
from dashboard.ui import escape_markdown


def test_dashboard_command_is_registered_with_a_port_option():
    result = CliRunner().invoke(main_group, ["dashboard", "--help"])
    assert result.exit_code == 0, result.output
    assert "--port" in result.output
    assert "127.0.0.1" in result.output


def test_streamlit_serves_on_loopback_on_the_given_port():
    command = streamlit_command(8765)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[command.index("--server.headless") + 1] == "true"
    assert command[4].endswith("dashboard/app.py")


def test_the_served_app_skips_work_meant_for_editing_it():
    """No full garbage collection after each run (it holds the GIL ~0.5 s at 100k rows) and no
    file watcher (it re-resolves every module's path on each run): both only cost time."""
    command = streamlit_command(8765)
    assert command[command.index("--runner.postScriptGC") + 1] == "false"
    assert command[command.index("--server.fileWatcherType") + 1] == "none"


def test_every_streamlit_option_passed_exists():
    from streamlit import config

    config.get_option("server.port")  # parses the option table
    names = [arg[2:] for arg in streamlit_command(8765) if arg.startswith("--")]
    assert names and set(names) <= set(config._config_options)


def test_the_app_is_told_the_workspace_and_database(tmp_path):
    app = AppContext(Settings(workspace=tmp_path / "ws", db="postgresql://u@127.0.0.1/x"))
    env = dashboard_environment(app, base={"ARENALENS_DB": "sqlite:///old", "PATH": "/bin"})
    assert env["ARENALENS_WORKSPACE"] == str((tmp_path / "ws").resolve())
    assert env["ARENALENS_DB"] == "postgresql://u@127.0.0.1/x"
    assert env["PATH"] == "/bin"
    sqlite_env = dashboard_environment(
        AppContext(Settings(workspace=tmp_path)), base={"ARENALENS_DB": "x"}
    )
    assert "ARENALENS_DB" not in sqlite_env


def test_pages_see_new_data_without_a_restart(render, tiny_workspace, tmp_path):
    at = render(tiny_workspace, "overview.py")
    assert {m.label: m.value for m in at.metric}["Interactions"] == "2"
    extra = tmp_path / "more.jsonl"
    record = {**TINY_RECORDS[1], "id": "i-new", "query_text": "a brand new query"}
    extra.write_text(json.dumps(record) + "\n")
    app = AppContext(Settings(workspace=tiny_workspace))
    ingest_interactions(app.store, extra, "jsonl", progress=False)
    app.store.engine.dispose()
    time.sleep(loaders.cache.VERSION_TTL_S + 0.2)
    at.run()
    assert {m.label: m.value for m in at.metric}["Interactions"] == "3"


def test_store_version_changes_when_a_run_finishes(tiny_workspace):
    app = AppContext(Settings(workspace=tiny_workspace))
    before = loaders.cache.store_version(app)
    run_id = app.store.start_run("example", {})
    loaders.cache.invalidate()
    running = loaders.cache.store_version(app)
    app.store.finish_run(run_id)
    loaders.cache.invalidate()
    finished = loaders.cache.store_version(app)
    assert len({before, running, finished}) == 3
    app.store.engine.dispose()


def test_a_user_without_an_id_counts_as_their_own_user():
    users = pd.Series(["u1", "u1", None, None, ""])
    assert privacy.distinct_users(users) == 4  # u1, and three anonymous queries


def test_small_groups_are_redacted_but_kept():
    frame = pd.DataFrame(
        {
            "cluster_id": [1, 1, 1, 2, 2],
            "user_id": ["a", "b", "c", "a", "a"],
            "query": ["q1", "q2", "q3", "q4", "q5"],
        }
    )
    out = privacy.redact_small_groups(frame, "cluster_id", min_users=3)
    assert list(out["query"].isna()) == [False, False, False, True, True]
    assert len(out) == len(frame)
    assert privacy.may_show(frame["user_id"], 3) and not privacy.may_show(frame["user_id"], 4)


def test_escaped_markdown_has_no_live_formatting():
    escaped = escape_markdown("**bold** <b>x</b> [l](http://e) `c` $x$")
    for raw in ("**", "<b>", "[l](", "`c`", "$x$"):
        assert raw not in escaped
    assert escaped.replace("\\", "") == "**bold** <b>x</b> [l](http://e) `c` $x$"


def test_workspace_label_never_shows_a_password(tmp_path: Path):
    app = AppContext(Settings(workspace=tmp_path, db="postgresql://me:secret@127.0.0.1/db"))
    assert "secret" not in loaders.workspace.workspace_label(app)


def test_prefetch_fills_the_caches_of_the_stages_that_ran(coded_workspace_template):
    app = AppContext(Settings(workspace=coded_workspace_template))
    seconds = prefetch.prefetch(app)
    assert {"status", "interactions", "feedback", "prevalence", "agreement", "coded_items"} <= set(
        seconds
    )
    assert "modality_shares" not in seconds  # the taxonomy has not run on this workspace
    app.store.engine.dispose()


def test_prefetch_runs_only_when_the_dashboard_command_asks(tiny_workspace, monkeypatch):
    import threading

    from dashboard.cli import PREFETCH_ENV

    def prefetch_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "arenalens-prefetch"]

    release = threading.Event()
    monkeypatch.setattr(
        prefetch, "prefetch", lambda _app: release.wait(30)
    )  # stays alive till released
    app = AppContext(Settings(workspace=tiny_workspace))
    monkeypatch.delenv(PREFETCH_ENV, raising=False)
    prefetch.start_prefetch(app)
    assert prefetch_threads() == []
    assert dashboard_environment(app, base={})[PREFETCH_ENV] == "1"
    monkeypatch.setenv(PREFETCH_ENV, "1")
    prefetch.start_prefetch(app)
    started = prefetch_threads()
    assert len(started) == 1
    release.set()
    started[0].join(timeout=30)
    app.store.engine.dispose()


def whole_px(text: str) -> float:
    """The width a cell needs to show `text` whole (its font's width plus the cell's padding,
    as measured in Chromium: 14 px Source Sans, 8 px padding a side)."""
    from dashboard.ui import text_px

    return text_px(text) + 16


def test_table_columns_fit_the_page_width():
    from dashboard.ui import PAGE_WIDTH_PX, fit_columns

    wide = pd.DataFrame(
        {f"column {i}": ["a fairly long piece of text in every cell " * 3] * 30 for i in range(9)}
    )
    widths = [c["width"] for c in fit_columns(wide).values()]
    assert sum(widths) <= PAGE_WIDTH_PX
    narrow = pd.DataFrame({"model": ["Whisper+Llama3 pipeline"], "votes": [790]})
    model_width = fit_columns(narrow)["model"]["width"]
    assert model_width >= whole_px("Whisper+Llama3 pipeline")  # short tables are not squeezed


def test_a_wide_leaderboard_shows_every_model_name_whole():
    from dashboard.ui import PAGE_WIDTH_PX, fit_columns

    columns = ["rank", "model", "rating", "ci_low", "ci_high", "votes", "status"]
    board = pd.DataFrame(
        [[1, "Whisper+Llama3 pipeline", 1070, 1051, 1089, 790, "provisional"]] * 6,
        columns=columns,
    ).assign(wins=433, ties=105, losses=252, flag="a flag that is rather long to show")
    widths = {c: w["width"] for c, w in fit_columns(board).items()}
    assert sum(widths.values()) <= PAGE_WIDTH_PX
    assert widths["model"] >= whole_px("Whisper+Llama3 pipeline")
    assert widths["status"] >= whole_px("provisional")  # "provision" hid the board's verdict


def test_win_shares_count_ties_half_with_a_wilson_interval():
    frame = pd.DataFrame(
        {
            "model_a": ["A", "A", "B"],
            "model_b": ["B", "B", "A"],
            "winner": ["model_a", "tie", "model_a"],
            "modality": ["text", "text", "audio"],
        }
    )
    shares = loaders.taxonomy.win_shares(frame, "modality").set_index(["model", "modality"])
    assert shares.loc[("A", "text"), "win_rate"] == 0.75  # one win, one tie
    assert shares.loc[("B", "audio"), "battles"] == 1
    row = shares.loc[("A", "text")]
    assert 0 <= row["ci_low"] < row["win_rate"] < row["ci_high"] <= 1


def test_the_prefetch_hands_the_interpreter_over_often_while_it_runs_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[float] = []
    before = sys.getswitchinterval()
    monkeypatch.setattr(
        prefetch,
        "prefetch_steps",
        lambda app: [("a", lambda: seen.append(sys.getswitchinterval())), ("b", lambda: 1 / 0)],
    )
    seconds = prefetch.prefetch(AppContext(Settings(workspace=tmp_path / "ws")))
    assert set(seconds) == {"a", "b"}  # a failing loader does not stop the others
    assert seen == [prefetch.PREFETCH_SWITCH_INTERVAL_S] and seen[0] < before
    assert sys.getswitchinterval() == before


def test_names_in_a_table_are_never_cut_to_the_same_string():
    from dashboard.ui import fit_columns

    # Adjudication: two annotators side by side with the feedback text; at 1280 px both
    # annotator columns read "demo-annotator-" when the table was squeezed to fit
    table = pd.DataFrame(
        {
            "item": ["fb-000123"] * 5,
            "loss reason": ["Human-likeness"] * 5,
            "machine": ["present"] * 5,
            "demo-annotator-1": ["present"] * 5,
            "demo-annotator-2": ["absent"] * 5,
            "feedback": ["the answer went on and on about something I did not ask " * 4] * 5,
        }
    )
    widths = {c: w["width"] for c, w in fit_columns(table, 400).items()}
    # each annotator's header shown past the characters that tell the two apart
    for name in ("demo-annotator-1", "demo-annotator-2"):
        assert widths[name] >= whole_px(name), (name, widths[name])
    assert widths["item"] >= whole_px("fb-000123")  # identifiers whole
    assert widths["feedback"] < whole_px("x" * 200)  # the free text gives way
    roomy = {c: w["width"] for c, w in fit_columns(table).items()}  # a full page: all whole
    assert roomy["loss reason"] >= whole_px("Human-likeness")


def test_names_numbers_and_headings_are_whole_and_free_text_takes_the_rest():
    """A cluster's queries: the models, vote and modality whole, numbers and headings whole;
    the query gets the rest of the page (it was cut to ~15 characters, 'so I was watchin')."""
    from dashboard.ui import FREE_TEXT_MIN_PX, PAGE_WIDTH_PX, fit_columns

    table = pd.DataFrame(
        {
            "query": ["so I was watching this documentary about the signing of it " * 2] * 30,
            "modality": ["Text-primary"] * 29 + ["Audio-primary"],
            "model A": ["Whisper+Llama3 pipeline"] * 30,
            "model B": ["Gemini-1.5-Pro"] * 30,
            "vote": ["A preferred"] * 30,
            "votes": [1204] * 30,
        }
    )
    widths = {c: w["width"] for c, w in fit_columns(table).items()}
    assert sum(widths.values()) <= PAGE_WIDTH_PX
    for column in ("modality", "model A", "model B", "vote", "votes"):
        longest = max([column, *map(str, table[column])], key=whole_px)
        assert widths[column] >= whole_px(longest), column
    assert widths["query"] >= FREE_TEXT_MIN_PX
