"""Every page on the demo workspace (sample arena + every installed stage's demo): no
exceptions, and the key numbers shown are the store's."""

from __future__ import annotations

import pandas as pd
import pytest
from dashboard_testkit import PAGES, page_text

pytestmark = pytest.mark.slow


def needs(stage: str) -> None:
    """Skip a stage-specific assertion when that stage's package is absent."""
    pytest.importorskip(f"{stage}.cli")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_on_the_demo_workspace(render, demo_workspace, page):
    at = render(demo_workspace, page)
    assert not at.exception, at.exception
    assert at.title[0].value == PAGES[page]
    assert not at.error, [e.value for e in at.error]


def test_overview_numbers_are_the_stores(render, demo_workspace, demo_app):
    status = demo_app.store.status()
    at = render(demo_workspace, "overview.py")
    metrics = {m.label: m.value for m in at.metric}
    for label, key in (
        ("Interactions", "interactions"),
        ("Votes", "votes"),
        ("Feedback", "feedback"),
        ("Systems", "systems"),
    ):
        assert metrics[label] == f"{status[key]:,}"
    assert "SYNTHETIC" in page_text(at)
    table = at.table[-1].value
    assert set(table["stage"]) == set(demo_app.store.runs_frame()["stage"])
    # dates as people write them ("7 Dec 2026, 00:17"), not "2026-12-07 00:17:13.315118"
    assert table["finished"].str.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d").all()


def test_overview_modality_share_is_the_taxonomys(render, demo_workspace, demo_app):
    needs("taxonomy")
    from taxonomy.persist import modality_shares

    shares = modality_shares(demo_app.store).set_index("label")
    at = render(demo_workspace, "overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Text-primary"] == f"{100 * shares.loc['text_primary', 'share']:.1f}%"


def test_use_cases_counts_clusters_and_queries(render, demo_workspace, demo_app):
    needs("taxonomy")
    from taxonomy.persist import cluster_table

    clusters = cluster_table(demo_app.store)
    at = render(demo_workspace, "use_cases.py")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clusters"] == f"{int((clusters['cluster_id'] >= 0).sum()):,}"
    assert metrics["Queries"] == f"{int(clusters['size'].sum()):,}"


def test_small_clusters_hide_their_queries_but_still_count(render, demo_workspace, monkeypatch):
    needs("taxonomy")
    monkeypatch.setenv("ARENALENS_PRIVACY_MIN_USERS", "1000000")
    at = render(demo_workspace, "use_cases.py")
    assert not at.exception, at.exception
    assert "Example queries hidden" in page_text(at)
    assert not any({"query", "modality", "vote"} <= set(d.value.columns) for d in at.dataframe)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Clusters"] != "0"


def test_large_enough_clusters_show_their_queries(render, demo_workspace, monkeypatch):
    needs("taxonomy")
    monkeypatch.setenv("ARENALENS_PRIVACY_MIN_USERS", "1")
    at = render(demo_workspace, "use_cases.py")
    assert "Example queries hidden" not in page_text(at)
    # the queries grid (its ids are in the detail below a picked row and in the download)
    drill = [d.value for d in at.dataframe if {"query", "modality", "vote"} <= set(d.value.columns)]
    assert drill and drill[0]["query"].notna().all()
    # modality and vote in words, never "text_primary" or "model_a"
    assert set(drill[0]["modality"]) <= {"Text-primary", "Audio-primary", "—"}
    assert set(drill[0]["vote"]) <= {"A preferred", "B preferred", "Tie", "—"}


def test_renaming_a_cluster_is_stored_as_an_edit(render, private_demo_workspace):
    needs("taxonomy")
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from taxonomy.persist import cluster_table, list_edits

    at = render(private_demo_workspace, "use_cases.py")
    chosen = at.selectbox(key="use_cases_cluster").value
    at.text_input(key="use_cases_new_name").input("Weather questions (renamed)")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception, at.exception
    app = AppContext(Settings(workspace=private_demo_workspace))
    edits = list_edits(app.store)
    assert [(e.kind, e.cluster_ids, e.value) for e in edits] == [
        ("rename", (chosen,), "Weather questions (renamed)")
    ]
    names = cluster_table(app.store).set_index("cluster_id")["name"]
    assert names[chosen] == "Weather questions (renamed)"
    app.store.engine.dispose()


def test_feedback_page_shows_the_prevalence_table(render, demo_workspace, demo_app):
    needs("coding")
    from coding.codebook import resolve_codebook
    from coding.prevalence import prevalence_table

    table = prevalence_table(demo_app.store, resolve_codebook(demo_workspace))
    at = render(demo_workspace, "feedback.py")
    assert not at.exception, at.exception
    from arenalens.display import display_name

    shown = at.dataframe[0].value
    assert list(shown["reason"]) == [display_name(c) for c in table["code"]]
    assert "Human-likeness" in set(shown["reason"])  # not "human_likeness"
    assert [s.split(" ")[0] for s in shown["machine share"]] == [
        f"{r:.0%}" for r in table["machine_rate"]
    ]
    # no "None" cells: an empty bias-corrected share says why it is empty
    for value, rate in zip(shown["bias-corrected share"], table["ppi_rate"], strict=True):
        assert value.startswith("— (") if pd.isna(rate) else value.startswith(f"{rate:.0%}")
    assert not any("_" in str(c) for c in shown.columns)


def test_feedback_per_model_and_per_category(render, demo_workspace):
    needs("coding")
    at = render(demo_workspace, "feedback.py")
    for choice in ("Per model (the model that lost)", "Per category"):
        at.radio(key="feedback_by").set_value(choice).run()
        assert not at.exception, at.exception


def test_leaderboard_matches_the_ranking_run(render, demo_workspace, demo_app):
    needs("ranking")
    from ranking.persist import ratings_frame

    stored = ratings_frame(demo_app.store)
    at = render(demo_workspace, "leaderboard.py")
    shown = at.dataframe[0].value.set_index("model")["rating"]
    assert shown.to_dict() == pytest.approx(stored.set_index("model")["rating"].to_dict())


def test_outputs_page_shows_a_vote_and_its_feedback(render, demo_workspace, demo_app):
    feedback = demo_app.store.feedback_frame().iloc[0]
    at = render(demo_workspace, "outputs.py")
    at.text_input(key="outputs_search").input(feedback["interaction_id"]).run()
    at.selectbox(key="outputs_pick").set_value(feedback["interaction_id"]).run()
    assert not at.exception, at.exception
    assert feedback["text"] in [t.value for t in at.text]


@pytest.mark.parametrize(
    ("kind", "ids", "value"),
    [
        ("rename", (987654,), "Nowhere"),
        ("merge", (0, 987654), None),
        ("recategorise", (987654,), None),
    ],
)
def test_an_edit_naming_an_unknown_cluster_is_refused_and_not_stored(
    private_demo_workspace, kind, ids, value
):
    needs("taxonomy")
    from arenalens.config import Settings
    from arenalens.context import AppContext
    from dashboard import loaders, writes
    from taxonomy.errors import EditError
    from taxonomy.persist import list_edits

    app = AppContext(Settings(workspace=private_demo_workspace))
    if kind == "recategorise":
        value = loaders.taxonomy.category_names(app)[0]
    with pytest.raises(EditError, match="987654"):
        writes.record_taxonomy_edit(app, kind, ids, value, "")
    assert list_edits(app.store) == []
    app.store.engine.dispose()


def test_each_clusters_loss_reason_shares_carry_a_95_percent_interval(demo_workspace):
    from dashboard.loaders import cache, taxonomy

    app = cache.context_for(str(demo_workspace), None)
    reasons = taxonomy.cluster_loss_reasons(app, taxonomy.taxonomy_run_ids(app)[0])
    assert len(reasons) and reasons["items"].gt(0).all()
    assert (reasons["ci_low"] <= reasons["share"]).all()
    assert (reasons["share"] <= reasons["ci_high"]).all()
    none_said = reasons[reasons["share"] == 0]
    assert len(none_said) and (none_said["ci_high"] > 0).all()  # no reason seen is no proof of 0
    small, large = reasons["items"].min(), reasons["items"].max()
    width = (reasons["ci_high"] - reasons["ci_low"]).groupby(reasons["items"]).mean()
    assert width[small] > width[large]  # more coded items, a narrower interval
