"""Loaders for the taxonomy stage: use cases, categories, modality, analyst edits."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from arenalens.context import AppContext
from arenalens.stats import wilson_interval
from dashboard import privacy
from dashboard.loaders import coding
from dashboard.loaders.cache import loader
from dashboard.loaders.workspace import interactions, latest_runs, masked, step_message
from dashboard.ui import Markdown, fmt
from taxonomy import persist
from taxonomy.categories import resolve_categories


def taxonomy_run_ids(app: AppContext) -> list[int]:
    """Finished taxonomy runs, newest first."""
    frame = latest_runs(app, "taxonomy")
    return [int(i) for i in frame["id"]] if len(frame) else []


def taxonomy_ready(app: AppContext) -> Markdown | None:
    """None when a taxonomy run exists; else the line saying what to run."""
    if not taxonomy_run_ids(app):
        return fmt(
            "No taxonomy has been built yet. {}", step_message(app, "Build the use-case taxonomy")
        )
    return None


@loader(human=("taxonomy",))
def category_shares(app: AppContext, run_id: int | None = None) -> pd.DataFrame:
    """Category shares with 95% CIs (and bias-corrected columns when human labels exist)."""
    return persist.category_shares(app.store, run_id)


@loader(human=("taxonomy",))
def conversation_shares(app: AppContext, run_id: int) -> pd.DataFrame:
    """Per category, both shares with 95% CIs, one row each: `counted` is 'query_share' (every
    turn) or 'conversation_share' (each conversation once, by its first turn); empty where the
    run placed no later turn of a conversation."""
    columns = ["label", "counted", "count", "share", "ci_low", "ci_high"]
    per_conversation = persist.conversation_category_shares(app.store, run_id)
    if per_conversation is None:
        return pd.DataFrame(columns=columns)
    per_query = persist.category_shares(app.store, run_id)
    both = [
        per_query.assign(counted="query_share"),
        per_conversation.assign(counted="conversation_share"),
    ]
    return pd.concat(both, ignore_index=True)[columns]


def topic_changes(app: AppContext, run_id: int) -> str | None:
    """'48 conversations clustered by their first turn; 20 of 46 later turns change topic (43%,
    95% CI ...)': the run's count when it holds conversations (numbers only, no user text)."""
    from taxonomy.conversations import TopicChanges

    runs = latest_runs(app, "taxonomy")
    rows = runs[runs["id"] == run_id] if len(runs) else runs
    summary = (rows.iloc[0]["summary"] or {}) if len(rows) else {}
    changes = summary.get("conversations")
    return TopicChanges(**changes).sentence if changes else None


@loader(human=("taxonomy",))
def modality_shares(app: AppContext, run_id: int | None = None) -> pd.DataFrame:
    """Text- vs audio-primary shares with 95% CIs (and bias-corrected columns)."""
    return persist.modality_shares(app.store, run_id)


@loader(human=("taxonomy",))
def clusters(app: AppContext, run_id: int, level: int = 0) -> pd.DataFrame:
    """Clusters (or parents) of a run with names, keywords, sizes, parents, categories."""
    frame = persist.cluster_table(app.store, run_id, level=level)
    return masked(app, frame.drop(columns=["centroid"], errors="ignore"))


@loader(human=("taxonomy",))
def query_clusters(app: AppContext, run_id: int) -> pd.DataFrame:
    """Per query: cluster, parent, category, modality, map x/y, with the interaction's query
    text, models, vote, language and user (what the map and the drill-down show)."""
    frame = persist.query_assignment_table(app.store, run_id)
    xy = persist.read_assignments(app.store, run_id).set_index("interaction_id")[["x", "y"]]
    frame = frame.join(xy, on="interaction_id")
    columns = ["id", "query", "user_id", "language", "model_a", "model_b", "winner"]
    context = interactions(app)[columns]
    merged = frame.merge(context, left_on="interaction_id", right_on="id", how="left")
    return masked(app, merged.drop(columns=["id"]))  # cluster and parent names too


@loader(human=("taxonomy",))
def modality_examples(app: AppContext, per_modality: int = 2) -> dict[str, list[str]]:
    """Up to `per_modality` example queries per modality (text_primary, audio_primary) from the
    latest taxonomy run, taken only from clusters whose queries come from at least
    privacy_min_users distinct users (masked like every query shown)."""
    run_ids = taxonomy_run_ids(app)
    if not run_ids:
        return {}
    frame = query_clusters(app, run_ids[0])
    frame = frame[frame["query"].notna() & (frame["cluster_id"] >= 0)]
    users = privacy.users_per_group(frame, "cluster_id")
    allowed = users[users >= int(app.settings.privacy_min_users)].index
    frame = frame[frame["cluster_id"].isin(allowed)]
    words = frame["query"].str.split().str.len()
    frame = frame[(words >= 3) & (words <= 16)]
    out: dict[str, list[str]] = {}
    for modality, group in frame.groupby("modality"):
        picked = group.drop_duplicates("query").sample(
            min(per_modality, len(group)), random_state=app.settings.seed
        )
        out[str(modality)] = list(picked["query"])
    return out


def win_shares(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per model and value of `by`: battles, share won (ties half) with a 95% Wilson CI, from
    voted rows (model_a, model_b, winner, `by`)."""
    columns = ["model", by, "battles", "win_rate", "ci_low", "ci_high"]
    voted = frame[frame["winner"].isin(["model_a", "model_b", "tie"]) & frame[by].notna()]
    sides = []
    for side in ("model_a", "model_b"):
        part = voted[[side, by]].rename(columns={side: "model"})
        part["score"] = (voted["winner"] == side).astype(float) + 0.5 * (voted["winner"] == "tie")
        sides.append(part)
    battles = pd.concat(sides, ignore_index=True).dropna(subset=["model"])
    rows = []
    for (model, value), group in battles.groupby(["model", by]):
        n, won = len(group), float(group["score"].sum())
        interval = wilson_interval(won, n)
        rows.append((model, value, n, won / n, interval.low, interval.high))
    return pd.DataFrame(rows, columns=columns)


@loader(human=("taxonomy",))
def modality_win_rates(app: AppContext) -> pd.DataFrame:
    """Per model and modality (latest taxonomy run): battles and share won with a 95% CI
    (do audio-primary queries change who wins?)."""
    run_ids = taxonomy_run_ids(app)
    if not run_ids:
        return pd.DataFrame(
            columns=["model", "modality", "battles", "win_rate", "ci_low", "ci_high"]
        )
    return win_shares(query_clusters(app, run_ids[0]), "modality")


@loader(human=("taxonomy",))
def cluster_loss_reasons(app: AppContext, run_id: int) -> pd.DataFrame:
    """Per cluster and loss reason: coded feedback items on the cluster's queries (`items`) and
    the share of them giving that reason with its 95% Wilson CI; empty before the feedback is
    coded."""
    columns = ["cluster_id", "code", "items", "share", "ci_low", "ci_high"]
    if coding.coding_ready(app) is not None:
        return pd.DataFrame(columns=columns)
    items = coding.coded_items(app)
    codes = [c for c in coding.codebook(app).code_names if c in items]
    clusters_of = query_clusters(app, run_id).set_index("interaction_id")["cluster_id"]
    items = items.assign(cluster_id=items["interaction_id"].map(clusters_of)).dropna(
        subset=["cluster_id"]
    )
    if items.empty or not codes:
        return pd.DataFrame(columns=columns)
    grouped = items.groupby("cluster_id")
    shares = grouped[codes].mean().stack().rename("share").reset_index()
    shares.columns = ["cluster_id", "code", "share"]
    shares["items"] = shares["cluster_id"].map(grouped.size())
    shares["cluster_id"] = shares["cluster_id"].astype(int)
    intervals = [
        wilson_interval(round(share * items), int(items))
        for share, items in zip(shares["share"], shares["items"], strict=True)
    ]
    shares["ci_low"] = [i.low for i in intervals]
    shares["ci_high"] = [i.high for i in intervals]
    return shares[columns]


@loader(human=("taxonomy",))
def taxonomy_edits(app: AppContext) -> pd.DataFrame:
    """Active analyst edits, in the order they are applied."""
    return pd.DataFrame(
        [asdict(edit) for edit in persist.list_edits(app.store)],
        columns=["id", "kind", "cluster_ids", "value", "level"],
    )


@loader
def category_names(app: AppContext) -> list[str]:
    """The category set in use (workspace categories.yaml, else the shipped default)."""
    return list(resolve_categories(None, app.settings.workspace).names)
