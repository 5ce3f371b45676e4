"""Every page renders on an empty workspace; Overview and Outputs show what the store holds."""

from __future__ import annotations

import pytest
from dashboard_testkit import HOSTILE_FEEDBACK, HOSTILE_QUERY, PAGES, page_text


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_on_an_empty_workspace(render, empty_workspace, page):
    at = render(empty_workspace, page)
    assert not at.exception, at.exception
    assert at.title[0].value == PAGES[page]


def test_empty_overview_says_how_to_fill_the_workspace(render, empty_workspace):
    at = render(empty_workspace, "overview.py")
    text = page_text(at)
    assert "arenalens demo" in text
    assert {m.label: m.value for m in at.metric}["Interactions"] == "0"


def test_overview_counts_match_the_store(render, tiny_workspace):
    at = render(tiny_workspace, "overview.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Interactions"] == "2"
    assert metrics["Votes"] == "2"
    assert metrics["Feedback"] == "1"
    assert metrics["Systems"] == "2"


def test_outputs_shows_user_text_literally(render, tiny_workspace):
    at = render(tiny_workspace, "outputs.py")
    assert not at.exception
    at.selectbox(key="outputs_pick").set_value("i-hostile").run()
    texts = [t.value for t in at.text]
    assert HOSTILE_QUERY in texts
    assert HOSTILE_FEEDBACK in texts
    assert "<b>not bold</b> `code`" in texts
    # never handed to a markdown element, where it could render as HTML or formatting
    for element in at.markdown:
        assert "<script>" not in element.value
        assert "**bold**" not in element.value


def test_outputs_filters_by_vote_outcome(render, tiny_workspace):
    at = render(tiny_workspace, "outputs.py")
    at.selectbox(key="outputs_vote").set_value("tie").run()
    assert not at.exception
    assert at.selectbox(key="outputs_pick").options == ["i-plain"]


def test_outputs_search_without_match_says_so(render, tiny_workspace):
    at = render(tiny_workspace, "outputs.py")
    at.text_input(key="outputs_search").input("no such words anywhere").run()
    assert not at.exception
    assert "No interaction matches" in page_text(at)


def test_outputs_compares_systems_side_by_side(render, tiny_workspace):
    pytest.importorskip("inference.persist")
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from inference.persist import write_outputs

    app = AppContext(Settings(workspace=tiny_workspace))
    write_outputs(
        app.store,
        [
            {
                "interaction_id": "i-plain",
                "system": "cascade",
                "output_text": "Paris is the capital.",
                "error": None,
                "latency_s": 0.5,
            },
            {
                "interaction_id": "i-plain",
                "system": "end-to-end",
                "output_text": None,
                "error": "out of memory",
                "latency_s": None,
            },
        ],
    )
    app.store.engine.dispose()
    at = render(tiny_workspace, "outputs.py")
    at.selectbox(key="outputs_pick").set_value("i-plain").run()
    assert not at.exception, at.exception
    assert "Paris is the capital." in [t.value for t in at.text], [c.value for c in at.caption] + [
        i.value for i in at.info
    ]
    assert any("out of memory" in e.value for e in at.error)
    headers = [m.value for m in at.markdown]
    assert headers.index("**cascade**") < headers.index(
        "**end-to-end**"
    )  # a mid-word dash is not markup


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_works_when_only_coding_has_run(render, coded_workspace_template, page):
    at = render(coded_workspace_template, page)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    if page == "use_cases.py":
        assert "arenalens taxonomy build" in page_text(at)
    if page == "leaderboard.py":
        assert "arenalens rank" in page_text(at)


def test_overview_reads_the_database_named_by_url(db_url, tmp_path, monkeypatch):
    """The same pages work on PostgreSQL (ARENALENS_DB) as on the workspace's SQLite file."""
    import json

    from dashboard_testkit import APP_PATH, RENDER_TIMEOUT_S, TINY_RECORDS
    from streamlit.testing.v1 import AppTest

    from arenalens.config import Settings
    from arenalens.context import AppContext
    from arenalens.ingest import ingest_interactions

    source = tmp_path / "tiny.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in TINY_RECORDS) + "\n")
    app = AppContext(Settings(workspace=tmp_path / "ws", db=db_url))
    ingest_interactions(app.store, source, "jsonl", progress=False)
    app.store.engine.dispose()
    monkeypatch.setenv("ARENALENS_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("ARENALENS_DB", db_url)
    at = AppTest.from_file(str(APP_PATH), default_timeout=RENDER_TIMEOUT_S)
    at.switch_page("views/outputs.py")
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="outputs_pick").options == ["i-hostile", "i-plain"]
