"""The ranking stage's orchestration: read grouped votes from the store, filter, rank, store a run.

The CLI (`ranking.cli`), the demo and the dashboard call these functions; the maths they call is
pure (`ranking.leaderboard`, `ranking.regression`, `ranking.benchmark_fit`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from arenalens.context import AppContext
from arenalens.store import Store
from arenalens.store.vote_features import SPEECH_FEATURES, VOTE_FEATURES
from ranking import persist
from ranking.board_agreement import BoardAgreement, answer_form_agreement
from ranking.bradley_terry import winner_scores
from ranking.covariates import side_difference
from ranking.errors import RankingError
from ranking.evidence import leader_headline
from ranking.filters import evaluate_where, where_fields
from ranking.leaderboard import Leaderboard, RankingOptions, rank_votes
from ranking.model_inference import DEFAULT_EFFECT, MIN_MODELS, Correction
from ranking.regression import VIF_THRESHOLD, RegressionReport, regress_preferences
from ranking.slices import SliceResult, rank_slices

LENGTH_CONTROL = "response_length"
#: controls for how an answer sounds: `--speech-control` asks for all three
SPEECH_CONTROLS = SPEECH_FEATURES  # answer_duration_s, speaking_rate_wps, time_to_first_audio_s


@dataclass
class VoteSelection:
    """Grouped votes (`n` votes per row) after `--where`, with the covariates asked for."""

    frame: pd.DataFrame
    total_votes: int
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> votes
    raters_excluded: tuple[int, int] | None = None  # raters left out (attention pairs), votes
    covariates: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_votes(self) -> int:
        return int(self.frame["n"].sum())


def _control_fields(store: Store, controls: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """control name -> the metadata field(s) it is computed from ((X_a, X_b) or (X,))."""
    if not controls:
        return {}
    keys = set(persist.metadata_keys(store))
    out: dict[str, tuple[str, ...]] = {}
    for name in controls:
        if f"{name}_a" in keys and f"{name}_b" in keys:
            out[name] = (f"{name}_a", f"{name}_b")
        elif name in keys:
            out[name] = (name,)
        elif name == LENGTH_CONTROL:
            out[name] = ("response_length_a", "response_length_b")  # from the response texts
        elif name in SPEECH_CONTROLS:  # measured from response audio, else the record's field
            out[name] = (f"{name}_a", f"{name}_b")
        else:
            sided = sorted(
                {k[:-2] for k in keys if k.endswith(("_a", "_b"))} | set(SPEECH_CONTROLS)
            )
            raise RankingError(
                f"--control {name}: no vote has {name} or {name}_a/{name}_b; metadata fields: "
                f"{', '.join(sided + sorted(k for k in keys if not k.endswith(('_a', '_b'))))}"
            )
    return out


#: the style and latency controls arena boards use, in the order the hint names them
STYLE_CONTROLS = ("response_length", "time_to_first_token", "total_time")


def available_controls(store: Store) -> tuple[tuple[str, ...], str]:
    """(the style/latency controls this workspace's votes carry, '' ) or ((), why none can
    be fitted): a control needs X_a/X_b metadata on the votes (response length also comes
    from both response texts of every vote) and the board at least MIN_VOTES votes."""
    from ranking.covariates import MIN_VOTES

    votes = persist.vote_total(store)
    if votes < MIN_VOTES:
        return (), f"{votes:,} votes (a controlled board needs at least {MIN_VOTES})"
    keys = set(persist.metadata_keys(store))
    found = [c for c in STYLE_CONTROLS if f"{c}_a" in keys and f"{c}_b" in keys]
    if LENGTH_CONTROL not in found and persist.votes_with_both_responses(store) == votes:
        found.insert(0, LENGTH_CONTROL)
    if not found:
        return (), "the votes carry no response texts, lengths or latencies"
    return tuple(c for c in STYLE_CONTROLS if c in found), ""


def _numeric(frame: pd.DataFrame, column: str, control: str) -> np.ndarray:
    values = persist.numeric_if_possible(frame[column])
    if values.isna().all():
        return np.full(len(values), np.nan)
    if not pd.api.types.is_numeric_dtype(values):
        example = values.dropna().astype(str).iloc[0]
        bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
        raise RankingError(
            f"--control {control}: {int(frame.loc[bad, 'n'].sum())} votes have non-numeric "
            f"{column} (e.g. {example[:40]!r}); expected numbers"
        )
    return values.to_numpy(dtype=float)


def select_votes(
    store: Store,
    *,
    where: str | None = None,
    by: str | None = None,
    controls: tuple[str, ...] = (),
    users: bool = True,
    exclude_users: frozenset[str] | None = None,
) -> VoteSelection:
    """Votes grouped in SQL by what the ranking needs, `--where` applied, raters in
    `exclude_users` left out, covariates computed."""
    wanted = where_fields(where) if where else []
    if by:
        wanted.append(by)
    sources = _control_fields(store, controls)
    # response_length falls back to the stored response texts where metadata lacks it (in SQL);
    # taxonomy fields are joined in SQL; loss reasons (several per vote) are mapped by id, and
    # so are the vote features the core derives (answer form, turn depth, speech features)
    derived = [f for f in wanted if f in VOTE_FEATURES]
    derived += [f for n in sources if n in SPEECH_CONTROLS for f in sources[n]]
    needs_ids = any(f in persist.CODING_FIELDS for f in wanted) or bool(derived)
    fields = [f for f in wanted if f not in persist.CODING_FIELDS and f not in derived]
    fields += [f for cols in sources.values() for f in cols if f not in derived]
    if users or exclude_users is not None:
        fields.append("user_id")
    if needs_ids:
        fields.append("id")
    grouped = persist.vote_counts(store, fields)
    total = int(grouped["n"].sum())
    for name in dict.fromkeys(f for f in wanted if f in persist.CODING_FIELDS):
        grouped[name] = grouped["id"].map(persist.loss_reasons(store))
    if derived:
        features = persist.vote_features(store)
        for name in dict.fromkeys(derived):
            grouped[name] = grouped["id"].map(features[name])
        if "id" not in wanted and not set(persist.CODING_FIELDS) & set(
            wanted
        ):  # votes alike in every field asked for become one row again
            keys = [k for k in grouped.columns if k not in ("id", "n")]
            grouped = grouped.groupby(keys, dropna=False, sort=False, as_index=False)["n"].sum()
    if by == "language":  # a vote without a language is a slice of its own
        grouped["language"] = grouped["language"].astype(object).fillna("unknown")
    selection = VoteSelection(grouped, total)
    if exclude_users is not None:
        dropped = grouped["user_id"].isin(exclude_users)
        selection.raters_excluded = (len(exclude_users), int(grouped.loc[dropped, "n"].sum()))
        grouped = grouped[~dropped].reset_index(drop=True)
        selection.frame = grouped
        if grouped.empty:
            raise RankingError(f"--exclude-raters failing removed all {total} votes")
    if where:
        result = evaluate_where(grouped.drop(columns=["n"]), where, grouped["n"].to_numpy())
        selection.excluded = result.excluded(where)
        if not result.mask.any():
            reasons = "; ".join(f"{n} {why}" for why, n in selection.excluded.items())
            hint = ""
            if {"model_a", "model_b"} & set(wanted):
                names = sorted(set(grouped["model_a"]) | set(grouped["model_b"]))[:6]
                hint = f"; model names are compared after aliases are resolved: {', '.join(names)}"
            raise RankingError(
                f"--where {where!r} matches none of the {total} votes ({reasons}){hint}"
            )
        selection.frame = grouped[result.mask].reset_index(drop=True)
    for name, cols in sources.items():
        frame = selection.frame
        if len(cols) == 2:
            selection.covariates[name] = side_difference(
                _numeric(frame, cols[0], name), _numeric(frame, cols[1], name)
            )
        else:
            selection.covariates[name] = _numeric(frame, cols[0], name)
    return selection


def rank_selection(selection: VoteSelection, options: RankingOptions) -> Leaderboard:
    """The overall leaderboard of a vote selection."""
    frame = selection.frame
    board = rank_votes(
        frame["model_a"].to_numpy(),
        frame["model_b"].to_numpy(),
        winner_scores(frame["winner"]),
        options,
        weights=frame["n"].to_numpy(dtype=float),
        users=frame["user_id"].to_numpy(dtype=object) if "user_id" in frame else None,
        covariates=selection.covariates or None,
    )
    raters, removed = selection.raters_excluded or (0, 0)
    if selection.excluded:
        listed = "; ".join(f"{n} {why}" for why, n in selection.excluded.items())
        board.warnings.insert(0, f"--where left out {selection.total_votes - removed - selection.n_votes} of "
                              f"{selection.total_votes - removed} votes: {listed}")  # fmt: skip
    if selection.raters_excluded is not None:
        board.warnings.insert(0, f"--exclude-raters failing left out {removed} of "
                              f"{selection.total_votes} votes, from {raters} raters below "
                              "80% on the attention pairs")  # fmt: skip
    return board


def compute_rankings(
    app: AppContext,
    options: RankingOptions,
    by: str | None = None,
    where: str | None = None,
    exclude_raters: str | None = None,
) -> dict[str, Any]:
    """Rank the workspace's votes (overall and per slice), store the run, return the JSON payload.
    `exclude_raters="failing"` leaves out raters who fail the rater app's attention pairs."""
    store = app.store
    excluded_users: frozenset[str] | None = None
    if exclude_raters == "failing":
        from arenalens.raters import failing_raters

        excluded_users = frozenset(failing_raters(store))
    selection = select_votes(
        store,
        where=where,
        by=by,
        controls=options.controls,
        users=options.cluster != "none",
        exclude_users=excluded_users,
    )
    if by and by not in selection.frame:
        raise RankingError(f"--by {by}: no vote has this field")
    if by and selection.frame[by].isna().all():
        known = ", ".join(list(persist.CORE_SLICE_FIELDS) + persist.metadata_keys(store))
        raise RankingError(f"--by {by}: no vote has this field; available: {known}")
    config = {**options.__dict__, "by": by, "where": where, "exclude_raters": exclude_raters}
    if options.evidence is not None:  # the rule, as plain values
        config["evidence"] = {
            "min_votes": options.evidence.min_votes,
            "max_ci_width": options.evidence.max_ci_width,
        }
    slices: SliceResult | None = None
    with store.run(persist.STAGE, config) as run:
        board = rank_selection(selection, options)
        persist.save_leaderboard(store, run.id, board)
        if by:
            slice_options = replace(options, controls=(), fragility=False)
            slices = rank_slices(selection.frame.rename(columns={by: "slice"}), by, slice_options)
            for value, slice_board in slices.boards.items():
                persist.save_leaderboard(store, run.id, slice_board, by, value)
        payload = {"run_id": run.id, "where": where, "excluded_votes": selection.excluded,
                   "excluded_raters": dict(zip(("raters", "votes"),
                                               selection.raters_excluded or (0, 0), strict=True)),
                   **board.to_dict()}  # fmt: skip
        if slices is not None:
            payload["by"] = by
            payload["slices"] = slices.to_dict()["slices"]
            payload["skipped_slices"] = slices.skipped
            agreement = slices_agreement(slices, options.seed)
            if agreement is not None:
                payload["board_agreement"] = agreement.to_dict()
        top = board.ratings[0] if board.ratings else None
        controlled = payload.get("controlled") or {}
        run.summary.update(
            {
                "votes": board.n_votes,
                "models": len(board.ratings),
                "top": top.model if top else None,
                "slices": len(slices.boards) if slices else 0,
                "skipped_slices": slices.skipped if slices else {},
                "ci_method": board.ci_method,
                "clustering": board.clustering,
                "fragility": payload["fragility"],
                "status_rule": payload["status_rule"],
                "controls": controlled.get("controls", []),
                "coefficients": controlled.get("coefficients", []),
                "controlled_ci_method": controlled.get("ci_method"),
                "where": where,
                "excluded_votes": selection.excluded,
                "warnings": board.warnings,
                "board_agreement": payload.get("board_agreement"),
            }
        )
    return payload


def slices_agreement(slices: SliceResult, seed: int = 0) -> BoardAgreement | None:
    """How alike the text-answer and spoken-answer boards of `--by output_modality` order the
    models (None for another field, or unless both boards exist)."""
    if slices.field != "output_modality":
        return None
    rows = [
        {"slice_value": value, **asdict(rating)}
        for value, board in slices.boards.items()
        for rating in board.ratings
    ]
    return answer_form_agreement(pd.DataFrame(rows), seed) if rows else None


def compute_regression(
    app: AppContext,
    keep_ties: bool = False,
    vif_threshold: float = VIF_THRESHOLD,
    seed: int = 0,
    select: bool = False,
    min_models: int = MIN_MODELS,
    correction: Correction = "holm",
    effect: float = DEFAULT_EFFECT,
) -> RegressionReport:
    """Run the benchmarks-vs-preferences regression on the workspace and store it."""
    store = app.store
    scores = store.benchmark_frame()
    if scores.empty:
        raise RankingError(
            "no benchmark scores: load some with `arenalens benchmarks ingest FILE.csv`"
        )
    grouped = persist.vote_counts(store)
    # the mixed model needs one row per vote; Talk-Arena-sized rounds are thousands of votes
    votes = grouped.loc[grouped.index.repeat(grouped["n"])].drop(columns="n")
    votes = votes.reset_index(drop=True)
    board = rank_votes(
        grouped["model_a"].to_numpy(),
        grouped["model_b"].to_numpy(),
        winner_scores(grouped["winner"]),
        RankingOptions(bootstrap_rounds=200, per_component=True, seed=seed, fragility=False),
        weights=grouped["n"].to_numpy(dtype=float),
    )
    ratings = {r.model: r.rating for r in board.ratings}
    config = {
        "keep_ties": keep_ties,
        "vif_threshold": vif_threshold,
        "seed": seed,
        "select": select,
        "min_models": min_models,
        "correction": correction,
        "effect": effect,
    }
    with store.run(persist.REGRESSION_STAGE, config) as run:
        report = regress_preferences(
            votes,
            scores,
            ratings,
            keep_ties=keep_ties,
            vif_threshold=vif_threshold,
            seed=seed,
            select=select,
            min_models=min_models,
            correction=correction,
            effect=effect,
        )
        persist.save_regression(store, run.id, report)
        summary = report.to_dict()
        summary.pop("mixed")
        summary.pop("logit")
        run.summary.update(summary)
    return report


def demo(app: AppContext) -> str:
    """Rank the demo workspace and regress its votes on its benchmark scores."""
    options = RankingOptions(
        bootstrap_rounds=1000, seed=app.settings.seed, controls=(LENGTH_CONTROL,)
    )
    # per-category leaderboards when the taxonomy has run (it runs before ranking in the demo)
    by = "category" if app.store.latest_run("taxonomy") else None
    payload = compute_rankings(app, options, by=by)
    ranked = [r for r in payload["ratings"] if r["rank"] > 0]
    line = (
        f"ranking: {len(payload['ratings'])} models from {payload['votes']:,} votes. "
        f"{leader_headline(ranked).rstrip('.')}"
    )
    if by:
        line += f", {len(payload.get('slices') or [])} per-category leaderboards"
    try:
        report = compute_regression(app, seed=app.settings.seed)
    except RankingError as exc:
        return f"{line}; regression skipped: {exc}"
    return f"{line}; benchmarks vs preferences: {report.summary_line}"
