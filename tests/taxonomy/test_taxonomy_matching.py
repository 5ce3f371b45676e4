"""Run-to-run matching keeps ids; the diff names splits, merges, appearances and vanishings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from taxonomy.categories import load_categories
from taxonomy.edits import Edit, apply_edits
from taxonomy.matching import diff_runs, match_clusters, stable_ids


def members(spec: dict[int, range]) -> dict[int, set[str]]:
    return {k: {f"q{i}" for i in r} for k, r in spec.items()}


def test_identical_runs_match_every_cluster_to_itself():
    runs = members({0: range(0, 10), 1: range(10, 20)})
    relabelled = {5: runs[1], 7: runs[0]}
    assert match_clusters(runs, relabelled) == {7: 0, 5: 1}


def test_new_clusters_get_fresh_ids_and_matched_ones_keep_theirs():
    assert stable_ids([0, 1, 2], {1: 40}, next_id=100) == {0: 100, 1: 40, 2: 101}


def test_weak_overlap_is_not_a_match():
    previous = members({0: range(0, 10)})
    current = members({3: range(8, 30)})  # only 2 of the 10 previous members are shared
    assert match_clusters(previous, current) == {}


def test_clusters_match_by_centroid_when_the_queries_are_all_new():
    previous = members({0: range(0, 10), 1: range(10, 20)})
    current = members({0: range(100, 110), 1: range(110, 120)})
    a, b = np.eye(4)[0], np.eye(4)[1]
    assert match_clusters(previous, current, {0: a, 1: b}, {0: b * 0.99 + 0.01, 1: a}) == {
        0: 1,
        1: 0,
    }


def test_diff_reports_split_merge_appeared_vanished_and_kept():
    previous = members(
        {1: range(0, 20), 2: range(20, 30), 3: range(30, 40), 4: range(40, 50), 5: range(50, 60)}
    )
    current = members(
        {1: range(0, 10), 9: range(10, 20), 6: range(20, 40), 4: range(40, 50), 7: range(60, 70)}
    )
    names_prev = {k: f"old {k}" for k in previous}
    names_cur = {k: f"new {k}" for k in current}
    events = diff_runs(previous, current, names_prev, names_cur)
    by_kind = {kind: group for kind, group in events.groupby("event")}
    assert by_kind["split"]["previous"].tolist() == [[1]] and by_kind["split"][
        "current"
    ].tolist() == [[1, 9]]
    assert by_kind["merged"]["previous"].tolist() == [[2, 3]] and by_kind["merged"][
        "current"
    ].tolist() == [[6]]
    assert sorted(c[0] for c in by_kind["appeared"]["current"]) == [6, 7, 9]
    assert sorted(p[0] for p in by_kind["vanished"]["previous"]) == [2, 3, 5]
    assert sorted(k[0] for k in by_kind["kept"]["current"]) == [1, 4]
    assert (
        "was 'old 4'"
        in by_kind["kept"].set_index(by_kind["kept"]["current"].str[0]).loc[4, "detail"]
    )


def run_tables():
    clusters = pd.DataFrame(
        {
            "cluster_id": [10, 11, 12, -1, 0], "level": [0, 0, 0, 0, 1], "parent_id": [0, 0, 0, None, None],
            "name": ["a", "b", "c", "unclustered", "p"], "auto_name": ["a", "b", "c", "unclustered", "p"],
            "category": ["knowledge", "novel", "advice", None, None], "size": [2, 2, 1, 1, 5],
            "merged_into": [None] * 5,
        }
    )  # fmt: skip
    assignments = pd.DataFrame(
        {
            "interaction_id": ["q1", "q2", "q3", "q4", "q5", "q6"], "base_cluster_id": [10, 10, 11, 11, 12, -1],
            "cluster_id": [10, 10, 11, 11, 12, -1],
            "category": ["knowledge", "knowledge", "novel", "novel", "advice", "other"],
            "query_modality": ["text_primary"] * 6, "modality": ["text_primary"] * 6,
        }
    )  # fmt: skip
    return clusters, assignments


def test_edits_rename_merge_and_recategorise_in_order():
    clusters, assignments = run_tables()
    edits = [
        Edit("rename", (10,), "Facts"),
        Edit("recategorise", (11,), "paralinguistic"),
        Edit("merge", (10, 12)),
        Edit("rename", (0,), "Everything", level=1),
    ]
    c, a, report = apply_edits(clusters, assignments, edits, load_categories())
    assert len(report.applied) == 4 and not report.skipped
    c = c.set_index(["cluster_id", "level"])
    assert c.loc[(10, 0), "name"] == "Facts" and c.loc[(0, 1), "name"] == "Everything"
    assert c.loc[(12, 0), "merged_into"] == 10 and c.loc[(10, 0), "size"] == 3
    assert a.set_index("interaction_id").loc["q5", "cluster_id"] == 10
    assert a.set_index("interaction_id").loc["q5", "category"] == "knowledge"
    assert (
        a.set_index("interaction_id").loc["q3", "modality"] == "audio_primary"
    )  # paralinguistic is audio-primary
    assert (clusters["name"] == ["a", "b", "c", "unclustered", "p"]).all()  # inputs untouched


def test_edits_naming_absent_clusters_are_skipped_not_forced():
    clusters, assignments = run_tables()
    _, _, report = apply_edits(
        clusters,
        assignments,
        [Edit("merge", (10, 99)), Edit("recategorise", (10, "x"))],
        load_categories(),
    )  # type: ignore[arg-type]
    assert not report.applied and len(report.skipped) == 2
