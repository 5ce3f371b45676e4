"""`arenalens codebook`: the codebook in use, and new reasons (`discover`, `accept`)."""

from __future__ import annotations

from pathlib import Path

import click

from arenalens.cli_output import echo_json
from arenalens.context import AppContext
from arenalens.display import display_name
from coding import persist
from coding.cli.options import codebook_path_option, coding_command, frame_table, json_option
from coding.codebook import Codebook, resolve_codebook
from coding.json_values import json_records


@click.group("codebook", invoke_without_command=True)
@codebook_path_option
@json_option
@click.pass_context
def codebook_command(ctx: click.Context, codebook_path: Path | None, as_json: bool) -> None:
    """Show the codebook in use (codes, definitions, version) and the versions coded in the workspace."""
    if ctx.invoked_subcommand is not None:
        return
    app: AppContext = ctx.obj
    codebook = resolve_codebook(app.settings.workspace, codebook_path)
    versions = persist.coded_versions(app.store)
    if as_json:
        echo_json(
            {
                "version_key": codebook.version_key,
                "source": codebook.source,
                **codebook.to_dict(),
                "coded_versions": json_records(versions),
            }
        )
        return
    click.echo(f"{codebook.version_key}  ({codebook.source})")
    for code in codebook.codes:
        click.echo(f"  {display_name(code.name)}: {code.definition}")
    click.echo("coded versions in this workspace:")
    click.echo(
        frame_table(
            versions,
            headings={"codebook_version": "codebook version", "items": "feedback items"},
            empty="(none yet: run `arenalens code`)",
        )
    )


@codebook_command.command("discover")
@coding_command(
    click.option(
        "--min-support", default=3, show_default=True, help="Smallest group kept as a candidate."
    ),
    click.option("--max-candidates", default=8, show_default=True, help="At most this many."),
    click.option(
        "--distance",
        default=0.55,
        show_default=True,
        help="Cosine distance under which texts are grouped (smaller: tighter groups).",
    ),
    click.option(
        "--draft",
        "draft_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Write the codebook plus the candidates as a draft version to this YAML file.",
    ),
)
def discover_command(
    app: AppContext,
    codebook: Codebook,
    min_support: int,
    max_candidates: int,
    distance: float,
    draft_path: Path | None,
    as_json: bool,
) -> None:
    """Cluster feedback left uncoded or coded `other` and name candidate new reasons."""
    from coding.discover import candidates_frame, discover_reasons, draft_codebook, write_draft

    candidates, clustered = discover_reasons(
        app.store,
        codebook,
        app.embedder,
        app.labeler,
        min_support=min_support,
        max_candidates=max_candidates,
        distance_threshold=distance,
    )
    frame = candidates_frame(candidates)
    persist.save_candidates(app.store, codebook.version_key, clustered, json_records(frame))
    if draft_path is not None and candidates:
        write_draft(draft_codebook(codebook, candidates), draft_path)
    if as_json:
        echo_json({"clustered": clustered, "candidates": json_records(frame)})
        return
    click.echo(
        f"{len(candidates)} candidate reasons from {clustered} items left uncoded or coded "
        f"'other' under {codebook.version_key}:"
    )
    click.echo(
        frame_table(
            frame[["code", "name", "support", "share", "keywords"]],
            percent=["share"],
            headings={"code": "proposed code", "support": "feedback items"},
        )
    )
    for c in candidates:
        click.echo(f"  {display_name(c.code)}: " + " | ".join(c.examples))
    if draft_path is not None and candidates:
        click.echo(f"draft written to {draft_path}: edit it, then `arenalens codebook accept`")


@codebook_command.command("accept")
@click.argument("draft", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def accept_command(app: AppContext, draft: Path) -> None:
    """Make a draft from `codebook discover` the workspace codebook, with its version bumped."""
    from coding.codebook import WORKSPACE_CODEBOOK_NAME
    from coding.discover import accept_draft

    destination = Path(app.settings.workspace) / WORKSPACE_CODEBOOK_NAME
    codebook = accept_draft(draft, destination)
    click.echo(
        f"{destination} is now {codebook.version_key}: run `arenalens code` to code under it "
        "(codes of the previous version are kept apart)"
    )
