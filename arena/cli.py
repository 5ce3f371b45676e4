"""`arenalens arena ...`: campaigns, personal links, pairs, and serving the rater app."""

from __future__ import annotations

import os
from pathlib import Path

import click
import numpy as np
import pandas as pd

from arena import persist, sources
from arena.errors import ArenaError
from arena.pairs import attention_pairs, read_pair_files
from arena.settings import (
    DEFAULT_EXPIRY_MINUTES,
    MAX_TURNS,
    OUTPUTS,
    VOTE_PER,
    CampaignSettings,
)
from arenalens.context import AppContext
from arenalens.display import plural
from arenalens.streamlit_server import is_loopback, serve_until_stopped, streamlit_run

APP_PATH = Path(__file__).resolve().parent / "app.py"
DEFAULT_PORT = 8502  # the dashboard's is 8501: both can run side by side
NO_LOGIN_WARNING = (
    "warning: on {address} anyone who can reach this machine's port {port} can open the rater "
    "app; only a personal link's token lets them in, and it travels in the URL, so put the app "
    "behind a reverse proxy with TLS (README: 'Serving the rater app to other machines')."
)


def link(base_url: str, token: str) -> str:
    """A rater's personal link."""
    return f"{base_url.rstrip('/')}/?token={token}"


@click.group("arena")
def arena_group() -> None:
    """Run a blind voting campaign: campaigns, personal links, pairs and the rater app (separate from the dashboard)."""


@arena_group.group("campaign")
def campaign_group() -> None:
    """Create and list voting campaigns."""


@campaign_group.command("create")
@click.argument("name")
@click.option("--mode", type=click.Choice(["replay", "live"]), required=True)
@click.option(
    "--raters-per-pair",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Replay: how many different raters see each pair.",
)
@click.option("--reveal-names", is_flag=True, help="Show the two systems' names after a vote.")
@click.option(
    "--attention-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Replay: attention pairs (one side known-bad) per real pair.",
)
@click.option(
    "--votes-per-minute",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Most votes one rater may cast in a minute.",
)
@click.option(
    "--systems",
    default=None,
    help="Live: comma-separated systems to draw pairs from (default: all in systems.yaml).",
)
@click.option(
    "--expire-after",
    "expire_after_minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_EXPIRY_MINUTES,
    show_default=True,
    help="Replay: minutes a rater may hold a pair without voting; then it goes to another "
    "rater (never back to them).",
)
@click.option(
    "--max-turns",
    type=click.IntRange(1, MAX_TURNS),
    default=1,
    show_default=True,
    help="Live: turns a rater may talk to both systems before voting (each system sees its "
    "own earlier answers).",
)
@click.option(
    "--output",
    type=click.Choice(OUTPUTS),
    default="text",
    show_default=True,
    help="Live: 'speech' plays each answer as audio (systems need `output: speech`), its text "
    "shown as transcript.",
)
@click.option(
    "--vote-per",
    type=click.Choice(VOTE_PER),
    default="conversation",
    show_default=True,
    help="Live, with --max-turns above 1: one vote after the conversation, or one per turn.",
)
@click.pass_obj
def campaign_create_command(
    app: AppContext,
    name: str,
    mode: str,
    raters_per_pair: int,
    reveal_names: bool,
    attention_rate: float,
    votes_per_minute: int,
    systems: str | None,
    expire_after_minutes: float,
    max_turns: int,
    output: str,
    vote_per: str,
) -> None:
    """Create a campaign (replay: pairs from `infer pair`; live: raters ask their own queries)."""
    persist.create_campaign(
        app.store,
        name,
        mode,
        raters_per_pair=raters_per_pair,
        reveal_names=reveal_names,
        attention_rate=attention_rate,
        votes_per_minute=votes_per_minute,
        systems=[s.strip() for s in systems.split(",") if s.strip()] if systems else None,
        expire_after_minutes=expire_after_minutes,
        max_turns=max_turns,
        output=output,
        vote_per=vote_per,
    )
    if mode == "live":
        turns = f"up to {max_turns} turns, a vote per {vote_per}" if max_turns > 1 else "1 turn"
        click.echo(f"campaign {name!r} created (live, {turns}, answers as {output})")
    else:
        click.echo(
            f"campaign {name!r} created (replay, {plural(raters_per_pair, 'rater')} per pair)"
        )
    if mode == "replay":
        click.echo(
            f"next: arenalens arena load-pairs --campaign {name} BLIND.jsonl --key KEY.jsonl"
        )


@campaign_group.command("list")
@click.pass_obj
def campaign_list_command(app: AppContext) -> None:
    """List campaigns with their pairs, votes and raters."""
    frame = persist.campaigns(app.store)
    if frame.empty:
        click.echo("no campaigns yet (arenalens arena campaign create NAME --mode replay)")
        return
    for row in frame.itertuples():
        if row.mode == "live":
            settings = CampaignSettings.from_json(row.settings)
            how = f"up to {plural(settings.max_turns, 'turn')}, answers as {settings.output}"
        else:
            how = f"{plural(row.pairs, 'pair')}, {plural(row.raters_per_pair, 'rater')} per pair"
        click.echo(
            f"{row.name}: {row.mode}, {how}, {plural(row.votes, 'vote')} "
            f"from {plural(row.raters, 'rater')}"
        )


@arena_group.command("load-pairs")
@click.argument("blind", type=click.Path(path_type=Path), required=False)
@click.option("--campaign", "campaign_name", required=True)
@click.option("--key", "key_file", type=click.Path(path_type=Path), help="The unblinding key.")
@click.option(
    "--audio-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder query audio and spoken answers must lie in (default: the blind file's folder).",
)
@click.option(
    "--from-store", is_flag=True, help="Load every pair `infer pair` stored, instead of files."
)
@click.option("--seed", type=int, default=None, help="Attention-pair seed (default: settings).")
@click.pass_obj
def load_pairs_command(
    app: AppContext,
    blind: Path | None,
    campaign_name: str,
    key_file: Path | None,
    audio_root: Path | None,
    from_store: bool,
    seed: int | None,
) -> None:
    """Add blind pairs to a replay campaign, from `infer pair --out/--key` files or the store."""
    spec = persist.campaign(app.store, campaign_name)
    if spec["mode"] != "replay":
        raise ArenaError(f"campaign {campaign_name!r} is live: it takes no pairs")
    if from_store:
        pairs = sources.pairs_from_store(app.store)
    elif blind is not None and key_file is not None:
        pairs = read_pair_files(blind, key_file, audio_root)
    else:
        raise click.UsageError("give BLIND and --key KEY, or --from-store")
    rng = np.random.default_rng(app.settings.seed if seed is None else seed)
    planted = attention_pairs(pairs, spec["attention_rate"], rng)
    added = persist.add_pairs(app.store, campaign_name, pairs)
    added_attention = persist.add_pairs(app.store, campaign_name, planted)
    click.echo(
        f"campaign {campaign_name!r}: {added} of {len(pairs)} pairs added "
        f"({len(pairs) - added} there already), {added_attention} attention pairs"
    )


@arena_group.command("invite")
@click.argument("rater")
@click.option("--campaign", "campaign_name", required=True)
@click.option(
    "--base-url",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    help="Where raters reach the app (e.g. your reverse proxy's https:// address).",
)
@click.pass_obj
def invite_command(app: AppContext, rater: str, campaign_name: str, base_url: str) -> None:
    """Print a rater's personal link (shown once: only a hash of its token is stored)."""
    token = persist.invite(app.store, campaign_name, rater)
    click.echo(link(base_url, token))


@arena_group.command("revoke")
@click.argument("rater")
@click.option("--campaign", "campaign_name", required=True)
@click.pass_obj
def revoke_command(app: AppContext, rater: str, campaign_name: str) -> None:
    """Revoke a rater's link: every page refuses it from the next click on."""
    if persist.revoke(app.store, campaign_name, rater):
        click.echo(f"revoked {rater!r} in campaign {campaign_name!r}")
    else:
        raise ArenaError(f"{rater!r} has no live link in campaign {campaign_name!r}")


def streamlit_command(port: int, address: str) -> list[str]:
    """`streamlit run` for the rater app: headless, no usage statistics, no external-IP lookup,
    minimal toolbar."""
    return streamlit_run(
        str(APP_PATH),
        port,
        address,
        "--client.showSidebarNavigation",
        "false",
        "--server.fileWatcherType",
        "none",
    )


def app_environment(app: AppContext) -> dict[str, str]:
    """The environment telling the rater app which workspace (and database) to open."""
    env = dict(os.environ)
    env["ARENALENS_WORKSPACE"] = str(Path(app.settings.workspace).resolve())
    if app.settings.db:
        env["ARENALENS_DB"] = app.settings.db
    else:
        env.pop("ARENALENS_DB", None)
    return env


@arena_group.command("serve")
@click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--address",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on; for other machines, a reverse proxy with TLS in front.",
)
@click.pass_obj
def serve_command(app: AppContext, port: int, address: str) -> None:
    """Serve the rater app on http://127.0.0.1:PORT (or --address) until stopped (Ctrl-C)."""
    frame = persist.campaigns(app.store)  # opens (creates, upgrades) the store: one-line errors
    if not is_loopback(address):
        click.echo(NO_LOGIN_WARNING.format(address=address, port=port), err=True)
    host = f"[{address}]" if ":" in address else address
    click.echo(
        f"arenalens arena: http://{host}:{port}  ({len(frame)} campaign(s); raters need their "
        "personal link from `arenalens arena invite`)"
    )
    serve_until_stopped(streamlit_command(port, address), app_environment(app), "arena")


COMMANDS: list[click.Command] = [arena_group]


DEMO_CAMPAIGN = "sample-replay"
DEMO_RATER = "demo-rater"
DEMO_PAIRS = 40
DEMO_SPOKEN_PAIRS = 10  # battles whose answers were spoken, where the workspace has some


def demo(app: AppContext) -> str:
    """A replay campaign over 40 of the sample arena's battles (and 10 with spoken answers, where
    the workspace has them, listened to in the app) and a link to vote in it."""
    store = app.store
    if DEMO_CAMPAIGN not in set(persist.campaigns(store)["name"]):
        persist.create_campaign(
            store, DEMO_CAMPAIGN, "replay", raters_per_pair=3, attention_rate=0.1
        )
    pairs = sources.pairs_from_battles(store, DEMO_PAIRS, seed=app.settings.seed)
    try:
        spoken = sources.pairs_from_battles(
            store, DEMO_SPOKEN_PAIRS, seed=app.settings.seed, spoken=True
        )
    except ArenaError:  # a workspace without spoken answers: read pairs only
        spoken = pairs.iloc[:0]
    pairs = pd.concat([spoken, pairs[~pairs["pair_id"].isin(spoken["pair_id"])]])
    planted = attention_pairs(pairs, 0.1, np.random.default_rng(app.settings.seed))
    added = persist.add_pairs(store, DEMO_CAMPAIGN, pairs)
    added += persist.add_pairs(store, DEMO_CAMPAIGN, planted)
    token = persist.invite(store, DEMO_CAMPAIGN, DEMO_RATER)
    return (
        f"replay campaign {DEMO_CAMPAIGN!r}: {added} pairs added; vote with "
        f"`arenalens arena serve`, then open {link(f'http://127.0.0.1:{DEFAULT_PORT}', token)}"
    )
