"""`arenalens taxonomy ...`: build | show | eval | diff | export | assign | edit | review |
label-import."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from arenalens.cli_output import cell_text, echo_json, text_table
from arenalens.context import AppContext
from arenalens.csv_safe import write_csv
from arenalens.display import display_name, join_words, plural, share_with_ci, statistic_label
from arenalens.privacy import mask_derived_columns, safe_derived_text
from taxonomy import persist
from taxonomy.categories import NOVEL, resolve_categories, resolve_use_cases
from taxonomy.edits import Edit
from taxonomy.errors import EditError
from taxonomy.evaluate import load_category_map
from taxonomy.model import TaxonomyParams
from taxonomy.pipeline import (
    assign_new_queries,
    build_taxonomy,
    diff_two_runs,
    evaluate_run,
    export_review,
    import_review,
    reapply_edits,
    record_edit,
)

EXPORT_COLUMNS = ["query_id", "query", "cluster_id", "cluster_name", "parent_id", "parent_name", "category",
                  "modality", "outlier", "reassigned", "source"]  # fmt: skip
categories_option = click.option(
    "--categories", "categories_path", type=click.Path(path_type=Path),
    help="Categories YAML (default: <workspace>/categories.yaml, else the shipped data/categories.yaml).",
)  # fmt: skip
run_option = click.option(
    "--run", "run_id", type=int, help="Taxonomy run id (default: the latest)."
)


def run_build(app: AppContext, params: TaxonomyParams, categories_path: Path | None = None) -> str:
    """Build a taxonomy run on the app's workspace; returns the summary line."""
    categories = resolve_categories(categories_path, app.settings.workspace)
    summary = build_taxonomy(
        app.store,
        app.embedder.encode,
        app.labeler,
        categories,
        params,
        embedding_model=app.embedder.model_id,
    )
    return summary.line()


@click.group("taxonomy")
def taxonomy_group() -> None:
    """Queries -> clusters -> named hierarchy -> categories and text- vs audio-primary share."""


@taxonomy_group.command("build")
@click.option(
    "--min-cluster-size", type=int, help="HDBSCAN min_cluster_size (default: from the data size)."
)
@click.option(
    "--min-samples", type=int, help="HDBSCAN min_samples (default: half min_cluster_size)."
)
@click.option("--reassign-threshold", type=float, default=0.4, show_default=True,
              help="Cosine to the nearest centroid above which an outlier joins that cluster.")  # fmt: skip
@click.option(
    "--keep-outliers", is_flag=True, help="Do not reassign outliers (all stay unclustered)."
)
@click.option("--max-fit-size", type=int, default=20_000, show_default=True,
              help="Fit on a random sample of this size; assign the rest to its clusters.")  # fmt: skip
@click.option(
    "--n-parents", type=int,
    help="Number of parent topics (default: as many as there are coherent themes).",
)  # fmt: skip
@click.option(
    "--use-cases", "use_cases_path", type=click.Path(path_type=Path),
    help="Use-case bank YAML for offline names (default: <workspace>/use_cases.yaml, else the "
    "shipped data/use_cases.yaml).",
)  # fmt: skip
@click.option(
    "--no-theme-split", is_flag=True,
    help="Keep a cluster whose queries divide between use-case themes whole (by default it is "
    "split, one part per theme).",
)  # fmt: skip
@click.option(
    "--category-method",
    type=click.Choice(["auto", "embedding", "labeler"]),
    default="auto",
    show_default=True,
)
@click.option("--seed", type=int, help="Random seed (default: settings.seed).")
@categories_option
@click.pass_obj
def build_command(app: AppContext, min_cluster_size, min_samples, reassign_threshold, keep_outliers,
                  max_fit_size, n_parents, use_cases_path, no_theme_split, category_method,
                  seed, categories_path) -> None:  # fmt: skip
    """Cluster every query, name clusters and parents, map them to categories, persist a run."""
    params = TaxonomyParams(
        min_cluster_size=min_cluster_size, min_samples=min_samples,
        reassign_threshold=None if keep_outliers else reassign_threshold, max_fit_size=max_fit_size,
        n_parents=n_parents, category_method=category_method,
        random_state=app.settings.seed if seed is None else seed,
        use_cases=resolve_use_cases(use_cases_path, app.settings.workspace),
        split_themes=not no_theme_split,
    )  # fmt: skip
    click.echo(run_build(app, params, categories_path))


def _mix_note(category: str, mix: dict[str, float], at_least: float = 0.1) -> str:
    """' (also 20% knowledge, 12% uncertain)' when a tenth or more of a cluster's queries are
    filed under another category than the cluster's (each query keeps its own)."""
    others = [(c, share) for c, share in mix.items() if c != category]
    if sum(share for _, share in others) < at_least:
        return ""
    shown = ", ".join(f"{share:.0%} {display_name(c).lower()}" for c, share in others[:3])
    return f" (also {shown})"


def share_table(table: pd.DataFrame, what: str, unit: str = "queries") -> str:
    """Category or modality shares as a table: the name in words, the share with its 95% CI,
    the queries (or conversations: `unit`) behind it and, where people labelled queries, the
    bias-corrected share."""
    rows = []
    for row in table.to_dict("records"):
        line = {
            what: display_name(row["label"]),
            "share (95% CI)": share_with_ci(row["share"], row["ci_low"], row["ci_high"], ".1%"),
            unit: int(row["count"]),
        }
        if "ppi_share" in row:
            line["bias-corrected share"] = share_with_ci(
                row.get("ppi_share"), row.get("ppi_ci_low"), row.get("ppi_ci_high"), ".1%"
            )
            line["labelled by people"] = row.get("n_labelled")
        rows.append(line)
    return text_table(pd.DataFrame(rows))


@taxonomy_group.command("show")
@run_option
@click.option("--top", type=int, default=0, help="Show only the N largest clusters.")
@click.option("--json", "as_json", is_flag=True, help="Print clusters and shares as JSON.")
@click.pass_obj
def show_command(app: AppContext, run_id: int | None, top: int, as_json: bool) -> None:
    """Print the hierarchy (parents, clusters, categories) and category/modality shares."""
    store = app.store
    run_id = persist.resolve_run(store, run_id)
    # names, descriptions, keywords and example queries masked for sharing (privacy_mask_pii)
    clusters = mask_derived_columns(
        persist.cluster_table(store, run_id, level=None),
        ["central_texts"],
        app.settings.privacy_mask_pii,
    )
    categories, modality = (
        persist.category_shares(store, run_id),
        persist.modality_shares(store, run_id),
    )
    mix = persist.category_mix(store, run_id)
    clusters["category_mix"] = [
        mix.get(int(k), {}) if level == 0 else {}
        for k, level in zip(clusters["cluster_id"], clusters["level"], strict=True)
    ]
    if as_json:
        cols = ["cluster_id", "level", "parent_id", "parent_name", "name", "description", "size", "category",
                "category_mix", "novel", "keywords", "central_texts", "labeler"]  # fmt: skip
        echo_json({"run_id": run_id, "clusters": clusters[cols].to_dict("records"),
                    "category_shares": categories.to_dict("records"), "modality_shares": modality.to_dict("records")})  # fmt: skip
        return
    summary = store.runs_frame().set_index("id").loc[run_id, "summary"] or {}
    total = int(clusters.loc[clusters["level"] == 0, "size"].sum())
    click.echo(f"taxonomy run {run_id}: {total} queries, labeler {summary.get('labeler', '?')}")
    leaves = clusters[(clusters["level"] == 0) & (clusters["cluster_id"] >= 0)]
    if top:
        leaves = leaves.head(top)
    for parent in clusters[clusters["level"] == 1].itertuples():
        children = leaves[leaves["parent_id"] == parent.cluster_id]
        if not len(children):
            continue
        click.echo(f"\n[P{parent.cluster_id}] {parent.name} ({parent.size} queries)")
        for child in children.itertuples():
            flag = " (no category fits: novel)" if child.category == NOVEL else ""
            category = display_name(child.category) if child.category != NOVEL else "Novel"
            keywords = ", ".join((child.keywords or [])[:5])
            click.echo(
                f"  [{child.cluster_id:>3}] {child.name} ({child.size}) → {category}{flag}"
                f"{_mix_note(child.category, child.category_mix)}  | {keywords}"
            )
    loose = clusters[(clusters["level"] == 0) & (clusters["cluster_id"] < 0)]
    if len(loose):
        click.echo(
            f"\n  [ -1] unclustered ({int(loose['size'].iloc[0])} queries, {int(loose['size'].iloc[0]) / max(total, 1):.1%})"
        )
    click.echo("\nCategory shares:")
    click.echo(share_table(categories, "category"))
    per_conversation = persist.conversation_category_shares(store, run_id)
    if per_conversation is not None:
        from taxonomy.conversations import TopicChanges

        changes = summary.get("conversations")
        click.echo("\nCategory shares, each conversation counted once by its first turn:")
        if changes:
            click.echo(f"({TopicChanges(**changes).sentence})")
        click.echo(share_table(per_conversation, "category", "conversations"))
    click.echo("\nModality shares:")
    click.echo(share_table(modality, "modality"))


@taxonomy_group.command("eval")
@click.option(
    "--gold", "gold_field", required=True, help="Metadata field holding gold labels, e.g. intent."
)
@click.option(
    "--category-map", type=click.Path(path_type=Path), help="YAML/CSV: gold label -> category."
)
@run_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def eval_command(
    app: AppContext, gold_field: str, category_map: Path | None, run_id: int | None, as_json: bool
) -> None:
    """ARI, NMI, purity vs gold labels; DBCV, silhouette, outlier share; category accuracy."""
    mapping = load_category_map(category_map) if category_map else None
    result = evaluate_run(app.store, gold_field, run_id, mapping)
    if as_json:
        echo_json(result)
        return
    click.echo(format_evaluation(result))


def format_evaluation(result: dict) -> str:
    """`taxonomy eval`'s figures, one a line under its plain heading (per-category figures
    indented below theirs; categories and lists in words, a missing figure as '—')."""
    width = max(len(statistic_label(k)) for k in result)
    lines = []
    for key, value in result.items():
        label = statistic_label(key)
        if isinstance(value, dict):
            lines.append(f"{label}:")
            inner = max((len(display_name(k)) for k in value), default=0)
            lines += [
                f"  {display_name(k):<{inner}}  {cell_text(v, percent=True)}"
                for k, v in value.items()
            ]
        else:
            share = key.endswith(("_share", "_raw", "accuracy", "_when_filed"))
            shown = value if key == "gold_field" else cell_text(value, percent=share)
            lines.append(f"{label:<{width}}  {shown}")
    return "\n".join(lines)


@taxonomy_group.command("diff")
@click.argument("runs", nargs=-1, type=int)
@click.option("--all", "show_all", is_flag=True, help="Also list clusters that were kept.")
@click.pass_obj
def diff_command(app: AppContext, runs: tuple[int, ...], show_all: bool) -> None:
    """What split, merged, appeared and vanished between two runs (default: the last two)."""
    if len(runs) not in (0, 2):
        raise click.BadParameter("give two run ids (previous, current) or none", param_hint="RUNS")
    events = diff_two_runs(app.store, *(runs or (None, None)))
    counts = events["event"].value_counts().to_dict()
    click.echo(
        ", ".join(
            f"{counts.get(k, 0)} {k}" for k in ("kept", "split", "merged", "appeared", "vanished")
        )
    )
    for row in events.itertuples():
        if row.event != "kept" or show_all:
            click.echo(f"{row.event:<9} {safe_derived_text(row.detail)}")  # names in it


@taxonomy_group.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@run_option
@click.pass_obj
def export_command(app: AppContext, out: Path, run_id: int | None) -> None:
    """Write one CSV row per query: query_id, cluster, parent, category, modality, ..."""
    frame = persist.query_assignment_table(app.store, run_id).rename(
        columns={"interaction_id": "query_id"}
    )
    frame["query"] = frame["query_id"].map(app.store.queries_frame().set_index("id")["query"])
    frame = mask_derived_columns(frame, ["query"], app.settings.privacy_mask_pii)  # for sharing
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(frame[EXPORT_COLUMNS], out)
    click.echo(f"wrote {len(frame)} rows to {out}")


@taxonomy_group.command("assign")
@run_option
@click.option(
    "--threshold", type=float, help="Cosine threshold (default: the run's reassignment threshold)."
)
@click.option(
    "--ray", "use_ray", is_flag=True,
    help="Embed and assign on Ray Data (the cluster in RAY_ADDRESS, else a local Ray).",
)  # fmt: skip
@click.option(
    "--batch-size", type=int, help="Queries per batch (default 1,024 on Ray, else 50,000)."
)
@categories_option
@click.pass_obj
def assign_command(
    app: AppContext, run_id: int | None, threshold: float | None, use_ray: bool,
    batch_size: int | None, categories_path: Path | None,
) -> None:  # fmt: skip
    """Assign queries the run has not seen to its clusters, without re-clustering (a later turn
    of a conversation follows its conversation's first turn, as in the build)."""
    categories = resolve_categories(categories_path, app.settings.workspace)
    embedder = app.embedder
    ray_embedder = None
    if use_ray:
        ray_embedder = {
            "model": embedder.model, "batch_size": embedder.batch_size,
            "backend": embedder.backend, "cache_dir": embedder.cache_dir,
        }  # fmt: skip
    added = assign_new_queries(
        app.store, embedder.encode, categories, run_id, threshold, ray_embedder, batch_size
    )
    click.echo(f"assigned {added} new queries to run {persist.resolve_run(app.store, run_id)}")


@taxonomy_group.group("edit")
def edit_group() -> None:
    """Analyst edits, stored and re-applied after every rebuild."""


def _clusters(ids: object) -> str:
    """'cluster 3' or 'clusters 3, 4 and 7' (not a Python list)."""
    ids = list(ids)  # type: ignore[call-overload]
    return f"{'cluster' if len(ids) == 1 else 'clusters'} {join_words(ids)}"


def _record(app: AppContext, edit: Edit, categories_path: Path | None, note: str | None) -> None:
    categories = resolve_categories(categories_path, app.settings.workspace)
    edit_id, report = record_edit(app.store, edit, categories, note)
    click.echo(
        f"edit {edit_id} stored ({edit.kind} {_clusters(edit.cluster_ids)}); "
        f"{plural(len(report.applied), 'edit')} applied to the latest run"
    )


@edit_group.command("rename")
@click.argument("cluster_id", type=int)
@click.argument("name")
@click.option("--parent", is_flag=True, help="CLUSTER_ID is a parent id.")
@click.option("--note")
@categories_option
@click.pass_obj
def rename_command(
    app: AppContext, cluster_id: int, name: str, parent: bool, note, categories_path
) -> None:
    """Rename a cluster (or, with --parent, a parent)."""
    _record(
        app, Edit("rename", (cluster_id,), name.strip(), 1 if parent else 0), categories_path, note
    )


@edit_group.command("merge")
@click.argument("target", type=int)
@click.argument("sources", type=int, nargs=-1, required=True)
@click.option("--note")
@categories_option
@click.pass_obj
def merge_command(
    app: AppContext, target: int, sources: tuple[int, ...], note, categories_path
) -> None:
    """Merge SOURCES into TARGET (TARGET keeps its id, name and category)."""
    _record(app, Edit("merge", (target, *sources)), categories_path, note)


@edit_group.command("recategorise")
@click.argument("cluster_id", type=int)
@click.argument("category")
@click.option("--note")
@categories_option
@click.pass_obj
def recategorise_command(
    app: AppContext, cluster_id: int, category: str, note, categories_path
) -> None:
    """Set a cluster's category (and so its queries')."""
    _record(app, Edit("recategorise", (cluster_id,), category), categories_path, note)


@edit_group.command("list")
@click.pass_obj
def list_edits_command(app: AppContext) -> None:
    """List active edits in the order they are applied."""
    for edit in persist.list_edits(app.store):
        click.echo(f"{edit.id:>4} {edit.kind:<13} {_clusters(edit.cluster_ids)} {edit.value or ''}")


@edit_group.command("undo")
@click.argument("edit_id", type=int)
@categories_option
@click.pass_obj
def undo_edit_command(app: AppContext, edit_id: int, categories_path: Path | None) -> None:
    """Deactivate an edit (kept in the table, no longer applied) and re-apply the others."""
    if edit_id not in {e.id for e in persist.list_edits(app.store)}:
        raise EditError(f"no active edit with id {edit_id}; see `arenalens taxonomy edit list`")
    persist.deactivate_edit(app.store, edit_id)
    report = reapply_edits(app.store, resolve_categories(categories_path, app.settings.workspace))
    click.echo(
        f"edit {edit_id} undone; {plural(len(report.applied), 'edit')} applied to the latest run"
    )


@taxonomy_group.group("review")
def review_group() -> None:
    """Analysts rate and correct cluster names: export a sheet, fill it in, import it."""


@review_group.command("export")
@click.argument("out", type=click.Path(path_type=Path))
@run_option
@click.pass_obj
def review_export_command(app: AppContext, out: Path, run_id: int | None) -> None:
    """Write a CSV sheet, one row per cluster: name, description, 5 central and 3 boundary
    queries, and empty columns understandable (yes/no), corrected_name and reviewer."""
    sheet = export_review(app.store, run_id)
    text_columns = [c for c in sheet.columns if c.startswith(("central_", "boundary_"))]
    # queries, names and descriptions masked as in `taxonomy show`; cells formula-safe
    sheet = mask_derived_columns(sheet, [*text_columns, "parent"], app.settings.privacy_mask_pii)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(sheet, out)
    click.echo(
        f"wrote {len(sheet)} clusters to {out}; fill in understandable (yes/no: could you guess "
        "what the cluster holds from its name alone?) and corrected_name, then run "
        f"`arenalens taxonomy review import {out}`"
    )


@review_group.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@categories_option
@click.pass_obj
def review_import_command(app: AppContext, path: Path, categories_path: Path | None) -> None:
    """Store a filled-in sheet: ratings for `taxonomy eval`, corrected names as rename edits
    (they stick across rebuilds)."""
    categories = resolve_categories(categories_path, app.settings.workspace)
    ratings, renames, report = import_review(app.store, path, categories)
    click.echo(
        f"stored {ratings} ratings and {renames} corrected names; "
        f"{plural(len(report.applied), 'edit')} applied to the latest run"
    )


def _spreadsheet_safe(value: object) -> object:
    """Text a spreadsheet will not run as a formula (a leading = + - @ gets a quote)."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


@taxonomy_group.command("label-import")
@click.argument("path", type=click.Path(path_type=Path))
@categories_option
@click.pass_obj
def label_import_command(app: AppContext, path: Path, categories_path: Path | None) -> None:
    """Import human category/modality labels (CSV: query_id, category, modality[, annotator])."""
    categories = resolve_categories(categories_path, app.settings.workspace)
    count = persist.import_labels(app.store, path, categories)
    click.echo(f"imported {count} human labels from {path}")


COMMANDS: list[click.Command] = [taxonomy_group]


def demo(app: AppContext) -> str:
    """`arenalens demo`: build the taxonomy on the demo workspace."""
    return run_build(app, TaxonomyParams(random_state=app.settings.seed))
