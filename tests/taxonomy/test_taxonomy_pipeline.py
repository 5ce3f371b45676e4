"""Build / rebuild / edit / assign / label-import against a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from taxonomy_fixtures import ingest_rows

from arenalens.labeler.embedding import EmbeddingLabeler
from arenalens.labeler.use_case_bank import load_use_cases
from arenalens.store import Store
from taxonomy import persist
from taxonomy.categories import NOVEL, load_categories
from taxonomy.edits import Edit
from taxonomy.errors import LabelImportError, TaxonomyError
from taxonomy.model import TaxonomyParams
from taxonomy.pipeline import (
    BUILD_STAGES,
    assign_new_queries,
    build_taxonomy,
    diff_two_runs,
    reapply_edits,
)
from taxonomy.query_category import UNCERTAIN

PARAMS = TaxonomyParams(random_state=3)


@pytest.fixture
def slurp_subset(slurp_rows: list[dict]) -> list[dict]:
    return slurp_rows[::7]  # 291 real queries across all scenarios


@pytest.fixture
def built(store: Store, slurp_subset, embedder, encode):
    ingest_rows(store, slurp_subset)
    labeler = EmbeddingLabeler(embedder)
    summary = build_taxonomy(
        store, encode, labeler, load_categories(), PARAMS, embedding_model=embedder.model_id
    )
    return store, summary, labeler


def test_build_persists_a_run_with_every_query_assigned(built, slurp_subset, embedder):
    store, summary, _ = built
    run = store.runs_frame().set_index("id").loc[summary.run_id]
    assert run["status"] == "done" and run["model"] == embedder.model_id and run["code_version"]
    assert run["config"]["random_state"] == 3 and run["config"]["n_neighbors"] == 15
    assert run["summary"]["n_clusters"] >= 5 and 0 <= run["summary"]["outlier_share"] < 0.3
    queries = persist.query_assignment_table(store)
    assert len(queries) == len(slurp_subset)
    assert queries["category"].isin(load_categories().names + [NOVEL, UNCERTAIN]).all()
    assert queries["modality"].isin(["text_primary", "audio_primary"]).all()
    clustered = queries[queries["cluster_id"] >= 0]
    assert clustered["cluster_name"].notna().all() and clustered["parent_name"].notna().all()
    clusters = persist.cluster_table(store)
    leaves = clusters[clusters["cluster_id"] >= 0]
    assert (leaves["keywords"].map(len) > 0).all() and (leaves["central_texts"].map(len) > 0).all()
    assert leaves["labeler"].str.contains("not an LLM").all()
    assert clusters["size"].sum() == len(slurp_subset)
    parents = persist.cluster_table(store, level=1)
    assert len(parents) >= 2 and parents["size"].sum() == clustered.shape[0]
    coords = persist.map_coordinates(store)
    assert coords[["x", "y"]].notna().all().all() and coords["query"].notna().all()
    shares = persist.category_shares(store)
    assert shares["share"].sum() == pytest.approx(1.0)
    assert (shares["ci_low"] <= shares["share"]).all() and (
        shares["share"] <= shares["ci_high"]
    ).all()


def test_build_times_every_stage_and_shows_a_bar_by_stage(built, capsys):
    store, summary, labeler = built
    assert set(summary.timings) == {f"{stage}_s" for stage in BUILD_STAGES}
    assert all(seconds >= 0 for seconds in summary.timings.values())
    stored = store.runs_frame().set_index("id").loc[summary.run_id, "summary"]["timings"]
    assert stored == pytest.approx(summary.timings)
    encode = labeler.embedder.encode
    build_taxonomy(store, encode, labeler, load_categories(), PARAMS, show_progress=True)
    bar = capsys.readouterr().err
    assert f"{len(BUILD_STAGES)}/{len(BUILD_STAGES)}" in bar and "HDBSCAN" in bar


def test_rebuild_keeps_cluster_ids_and_names(built, embedder, encode):
    store, first, labeler = built
    second = build_taxonomy(store, encode, labeler, load_categories(), PARAMS)
    assert second.previous_run_id == first.run_id and second.new_clusters == 0
    before = persist.cluster_table(store, first.run_id).set_index("cluster_id")["name"]
    after = persist.cluster_table(store, second.run_id).set_index("cluster_id")["name"]
    assert before.to_dict() == after.to_dict()
    events = diff_two_runs(store)
    assert set(events["event"]) == {"kept"}


def test_a_rebuild_with_another_use_case_bank_renames_continuing_clusters(built, encode, tmp_path):
    store, first, labeler = built
    bank = tmp_path / "use_cases.yaml"
    bank.write_text(
        "use_cases:\n"
        "  - {name: Smart home, theme: Home, description: Devices., category: task_execution,\n"
        "     examples: [turn off the lights, make the room warmer]}\n"
        "  - {name: Questions, theme: Facts, description: Facts., category: knowledge,\n"
        "     examples: [who is the president, how tall is the eiffel tower]}\n",
        encoding="utf-8",
    )
    second = build_taxonomy(
        store,
        encode,
        labeler,
        load_categories(),
        TaxonomyParams(random_state=3, use_cases=str(bank)),
    )
    assert second.new_clusters == 0  # the same clusters continue...
    shipped = {u.name for u in load_use_cases()}
    before = persist.cluster_table(store, first.run_id)
    after = persist.cluster_table(store, second.run_id)
    named_by_shipped_bank = before["name"].isin(shipped).sum()
    assert named_by_shipped_bank > 0
    # ...but the names the shipped bank gave them are not carried over: this bank made them
    assert not after["name"].isin(shipped - {"Smart home", "Questions"}).any()
    assert after["labeler"].iloc[0] != before["labeler"].iloc[0]
    # and parents, named from their children's names, are named afresh too
    clusters_before = persist.read_clusters(store, first.run_id)
    parents_before = set(clusters_before.loc[clusters_before["level"] == 1, "name"])
    clusters_after = persist.read_clusters(store, second.run_id)
    parents_after = set(clusters_after.loc[clusters_after["level"] == 1, "name"])
    assert parents_after != parents_before


def test_a_different_seed_is_matched_to_the_previous_run(built, encode):
    store, first, labeler = built
    second = build_taxonomy(
        store, encode, labeler, load_categories(), TaxonomyParams(random_state=11)
    )
    assert second.matched >= 0.6 * first.metrics["n_clusters"]
    events = diff_two_runs(store)
    assert events["event"].isin(["kept", "split", "merged", "appeared", "vanished"]).all()
    assert (events["event"] == "kept").sum() == second.matched


def test_analyst_edits_survive_a_rebuild(built, encode):
    store, first, labeler = built
    leaves = persist.cluster_table(store)
    leaves = leaves[leaves["cluster_id"] >= 0]
    a, b, c = (int(k) for k in leaves["cluster_id"].iloc[:3])
    parent = int(persist.cluster_table(store, level=1)["cluster_id"].iloc[0])
    categories = load_categories()
    for edit in [Edit("rename", (a,), "Renamed by analyst"), Edit("merge", (a, b)), Edit("recategorise", (c,), "other"),
                 Edit("rename", (parent,), "Parent renamed", level=1)]:  # fmt: skip
        persist.add_edit(store, edit)
    report = reapply_edits(store, categories)
    assert len(report.applied) == 4
    second = build_taxonomy(store, encode, labeler, categories, PARAMS)
    assert second.edits_applied == 4 and not second.edits_skipped
    clusters = persist.cluster_table(store, second.run_id).set_index("cluster_id")
    assert clusters.loc[a, "name"] == "Renamed by analyst" and b not in clusters.index
    assert clusters.loc[c, "category"] == "other"
    assert (
        persist.cluster_table(store, second.run_id, level=1)
        .set_index("cluster_id")
        .loc[parent, "name"]
        == "Parent renamed"
    )
    queries = persist.query_assignment_table(store, second.run_id)
    # the queries that followed the cluster's category move with it; one that kept its own
    # category (it disagreed confidently with its cluster) keeps it
    in_c = queries.loc[queries["cluster_id"] == c, "category"]
    assert (in_c == "other").mean() > 0.5
    assert not (in_c[in_c != "other"] == clusters.loc[c, "auto_category"]).any()
    assert not (queries["cluster_id"] == b).any()


def test_new_queries_join_an_existing_run_without_reclustering(
    store: Store, slurp_rows, embedder, encode
):
    old, new = slurp_rows[:1200:6], slurp_rows[1:1200:40]
    ingest_rows(store, old)
    summary = build_taxonomy(store, encode, EmbeddingLabeler(embedder), load_categories(), PARAMS)
    clusters_before = set(persist.cluster_table(store)["cluster_id"])
    ingest_rows(store, new)
    assert assign_new_queries(store, encode, load_categories()) == len(new)
    assert assign_new_queries(store, encode, load_categories()) == 0
    queries = persist.query_assignment_table(store)
    assert len(queries) == len(old) + len(new) and persist.latest_run_id(store) == summary.run_id
    added = queries[queries["source"] == "assign"]
    assert len(added) == len(new) and set(added["cluster_id"]) <= clusters_before
    assert persist.map_coordinates(store)[["x", "y"]].notna().all().all()


def test_fitting_on_a_sample_assigns_the_rest(store: Store, slurp_subset, embedder, encode):
    ingest_rows(store, slurp_subset)
    params = TaxonomyParams(random_state=0, max_fit_size=200)
    summary = build_taxonomy(store, encode, EmbeddingLabeler(embedder), load_categories(), params)
    assert summary.metrics["fit_on_sample"] and summary.metrics["n_fit"] == 200
    sources = persist.query_assignment_table(store)["source"].value_counts()
    assert sources["fit"] == 200 and sources["sample-assign"] == len(slurp_subset) - 200


def test_human_labels_give_a_prediction_powered_estimate(built, tmp_path: Path):
    store, _, _ = built
    queries = persist.query_assignment_table(store)
    labelled = queries.head(40)
    path = tmp_path / "labels.csv"
    lines = ["query_id,category,modality,annotator"] + [
        f"{row.interaction_id},{'knowledge' if i % 2 else row.category if row.category in load_categories().names else 'other'},text_primary,ann1"
        for i, row in enumerate(labelled.itertuples())
    ]
    path.write_text("\n".join(lines) + "\n")
    assert persist.import_labels(store, path, load_categories()) == 80
    assert (
        persist.import_labels(store, path, load_categories()) == 80
    )  # re-import replaces, adds nothing
    shares = persist.category_shares(store).set_index("label")
    assert {"ppi_share", "ppi_ci_low", "ppi_ci_high", "n_labelled"} <= set(shares.columns)
    assert shares["n_labelled"].dropna().eq(40).all()
    modality = persist.modality_shares(store).set_index("label")
    assert modality.loc["text_primary", "ppi_share"] == pytest.approx(1.0, abs=0.05)


def test_bad_label_file_is_refused_naming_the_line_and_nothing_is_written(built, tmp_path: Path):
    store, _, _ = built
    first = persist.query_assignment_table(store)["interaction_id"].iloc[0]
    path = tmp_path / "labels.csv"
    path.write_text(f"query_id,category\n{first},knowledge\n{first},cooking\n")
    with pytest.raises(LabelImportError, match=r"line 3: category 'cooking'"):
        persist.import_labels(store, path, load_categories())
    assert not len(persist.human_labels(store, "category"))
    path.write_text("query_id,category\nnot-a-query,knowledge\n")
    with pytest.raises(LabelImportError, match="line 2: query_id 'not-a-query'"):
        persist.import_labels(store, path, load_categories())


def test_reading_a_workspace_without_a_run_says_what_to_do(store: Store):
    with pytest.raises(TaxonomyError, match="taxonomy build"):
        persist.cluster_table(store)


def test_review_sheet_ratings_and_corrected_names_stick_across_rebuilds(
    built, encode, tmp_path: Path
):
    import csv

    from taxonomy.pipeline import evaluate_run, export_review, import_review

    store, _, labeler = built
    sheet = export_review(store)
    assert len(sheet) == int((persist.cluster_table(store)["cluster_id"] >= 0).sum())
    first = sheet.iloc[0]
    assert first["central_1"] and first["boundary_1"] and first["central_5"]
    assert first["boundary_1"] not in {first[f"central_{i}"] for i in range(1, 6)}
    a, b = int(sheet["cluster_id"].iloc[0]), int(sheet["cluster_id"].iloc[1])
    sheet["understandable"] = ""
    sheet.loc[0, ["understandable", "corrected_name"]] = ["yes", "Corrected by analyst"]
    sheet.loc[1, "understandable"] = "no"
    path = tmp_path / "review.csv"
    sheet.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    categories = load_categories()
    ratings, renames, _ = import_review(store, path, categories)
    assert (ratings, renames) == (2, 1)
    second = build_taxonomy(store, encode, labeler, categories, PARAMS)
    clusters = persist.cluster_table(store, second.run_id).set_index("cluster_id")
    assert clusters.loc[a, "name"] == "Corrected by analyst"
    scores = evaluate_run(store, "scenario")
    assert scores["names_rated"] == 2 and scores["names_understandable_share"] == 0.5
    assert 0 < scores["parent_purity"] <= 1 and b in clusters.index
    bad = tmp_path / "bad.csv"
    bad.write_text(f"cluster_id,understandable,corrected_name\n{a},maybe,\n")
    with pytest.raises(TaxonomyError, match=r"line 2: understandable must be yes or no"):
        import_review(store, bad, categories)
