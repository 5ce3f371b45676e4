"""The `arenalens taxonomy ...` commands end to end on a small real workspace."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from taxonomy_fixtures import ingest_rows

from arenalens.app.cli import main_group
from arenalens.config import Settings
from arenalens.store import Store


@pytest.fixture
def workspace(tmp_path: Path, slurp_rows: list[dict]) -> Path:
    workspace = tmp_path / "ws"
    store = Store.open(Settings(workspace=workspace).db_url)
    ingest_rows(store, slurp_rows[::12])
    store.engine.dispose()
    return workspace


def invoke(workspace: Path, *args: str) -> str:
    result = CliRunner().invoke(
        main_group, ["--workspace", str(workspace), "--labeler", "embedding", *args]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_taxonomy_commands_end_to_end(workspace: Path, tmp_path: Path, slurp_rows: list[dict]):
    line = invoke(workspace, "taxonomy", "build", "--seed", "1")
    assert "taxonomy run 1:" in line and "clusters in" in line and "unclustered" in line
    shown = invoke(workspace, "taxonomy", "show")
    assert "[P" in shown and "Category shares:" in shown and "Text-primary" in shown
    assert "share (95% CI)" in shown and "text_primary" not in shown  # words, not stored names
    data = json.loads(invoke(workspace, "taxonomy", "show", "--json"))
    leaf = next(c for c in data["clusters"] if c["level"] == 0 and c["cluster_id"] >= 0)
    # each query keeps its own category: a cluster shows how its queries are filed
    assert abs(sum(leaf["category_mix"].values()) - 1) < 1e-9

    out = tmp_path / "export.csv"
    invoke(workspace, "taxonomy", "export", str(out))
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(slurp_rows[::12])
    assert {"query_id", "cluster_id", "cluster_name", "parent_name", "category", "modality"} <= set(
        rows[0]
    )

    mapping = tmp_path / "map.yaml"
    mapping.write_text("qa: knowledge\nweather: knowledge\ncalendar: task_execution\n")
    scores = json.loads(
        invoke(
            workspace,
            "taxonomy",
            "eval",
            "--gold",
            "scenario",
            "--category-map",
            str(mapping),
            "--json",
        )
    )
    assert {
        "ari",
        "nmi",
        "purity",
        "outlier_share",
        "category_accuracy",
        "category_unsure_share",
        "silhouette",
        "dbcv",
    } <= set(scores)
    assert 0 < scores["purity"] <= 1

    edited = invoke(
        workspace, "taxonomy", "edit", "rename", str(leaf["cluster_id"]), "Analyst name"
    )
    assert "edit 1 stored" in edited
    assert "Analyst name" in invoke(workspace, "taxonomy", "show")
    assert "rename" in invoke(workspace, "taxonomy", "edit", "list")
    assert "edit 1 undone" in invoke(workspace, "taxonomy", "edit", "undo", "1")
    assert "Analyst name" not in invoke(workspace, "taxonomy", "show")
    invoke(workspace, "taxonomy", "edit", "rename", str(leaf["cluster_id"]), "Analyst name")

    invoke(workspace, "taxonomy", "build", "--seed", "1")
    diff = invoke(workspace, "taxonomy", "diff")
    assert diff.splitlines()[0].startswith(
        f"{len([c for c in data['clusters'] if c['level'] == 0]) - 1} kept"
    )
    assert "Analyst name" in invoke(workspace, "taxonomy", "show")

    store = Store.open(Settings(workspace=workspace).db_url)
    ingest_rows(store, slurp_rows[1::100])
    store.engine.dispose()
    assert f"assigned {len(slurp_rows[1::100])} new queries" in invoke(
        workspace, "taxonomy", "assign"
    )


def test_edit_of_an_unknown_cluster_is_refused_with_one_line(workspace: Path):
    invoke(workspace, "taxonomy", "build")
    result = CliRunner().invoke(
        main_group,
        ["--workspace", str(workspace), "taxonomy", "edit", "recategorise", "999", "advice"],
    )
    assert result.exit_code != 0 and "999" in str(result.exception)
    result = CliRunner().invoke(
        main_group,
        ["--workspace", str(workspace), "taxonomy", "edit", "recategorise", "0", "cooking"],
    )
    assert result.exit_code != 0 and "cooking" in str(result.exception)


def test_commands_before_a_build_say_what_to_do(workspace: Path):
    result = CliRunner().invoke(main_group, ["--workspace", str(workspace), "taxonomy", "show"])
    assert result.exit_code != 0 and "arenalens taxonomy build" in str(result.exception)
