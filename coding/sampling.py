"""Draw a stratified validation sample and assign it to annotators with a chosen overlap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from arenalens.stats import z_value
from arenalens.store import Store
from coding import persist
from coding.codebook import Codebook
from coding.errors import CodingError


def sample_size_for_ci_width(
    ci_width: float, p: float = 0.5, population: int | None = None, confidence: float = 0.95
) -> int:
    """Items needed so a proportion near `p` has a CI of total width `ci_width` (finite-population corrected)."""
    if not 0 < ci_width < 1:
        raise CodingError(f"target CI width must be between 0 and 1, got {ci_width}")
    z = z_value(confidence)
    p = min(max(p, 0.01), 0.99)
    n0 = z * z * p * (1 - p) / (ci_width / 2) ** 2
    if population:
        n0 = n0 / (1 + (n0 - 1) / population)
    return int(math.ceil(n0))


def stratum_labels(items: pd.DataFrame, code_names: Sequence[str]) -> pd.Series:
    """`<rarest machine code or none>|<rejected model or tie>` per item: the strata of the sample."""
    frequency = {name: int(items[name].sum()) for name in code_names}
    by_rarity = sorted(code_names, key=lambda name: (frequency[name], name))

    def rarest(row: pd.Series) -> str:
        for name in by_rarity:
            if row[name]:
                return name
        return "none"

    codes = items.apply(rarest, axis=1) if len(items) else pd.Series([], dtype=str)
    models = (
        items["rejected_model"].fillna("tie").astype(str)
        if len(items)
        else pd.Series([], dtype=str)
    )
    return codes.astype(str) + "|" + models


def proportional_allocation(stratum_sizes: pd.Series, size: int) -> pd.Series:
    """Per-stratum sample sizes proportional to stratum size (largest remainder), summing to `size`."""
    total = int(stratum_sizes.sum())
    size = min(size, total)
    exact = stratum_sizes.astype(float) * size / total
    alloc = np.floor(exact).astype(int)
    remainder = (exact - alloc).sort_values(ascending=False, kind="stable")
    for key in remainder.index[: size - int(alloc.sum())]:
        alloc[key] += 1
    return alloc.clip(upper=stratum_sizes)


def draw_stratified(items: pd.DataFrame, strata: pd.Series, size: int, seed: int) -> pd.DataFrame:
    """A seeded stratified random sample with proportional allocation (self-weighting)."""
    rng = np.random.default_rng(seed)
    sizes = strata.value_counts().sort_index()
    alloc = proportional_allocation(sizes, size)
    chosen = []
    for stratum, k in alloc.items():
        if k <= 0:
            continue
        members = np.flatnonzero((strata == stratum).to_numpy())
        chosen.extend(rng.choice(members, size=int(k), replace=False).tolist())
    sample = items.iloc[sorted(chosen)].copy()
    sample["stratum"] = strata.iloc[sorted(chosen)].to_numpy()
    return sample.reset_index(drop=True)


def assign_annotators(
    feedback_ids: Sequence[str], annotators: Sequence[str], overlap: float, seed: int
) -> list[dict[str, object]]:
    """Assign each item to one annotator, and a share `overlap` of items to two, balancing load."""
    names = [a.strip() for a in annotators]
    if not names or any(not a for a in names) or len(set(names)) != len(names):
        raise CodingError(f"annotators must be distinct non-empty names, got {list(annotators)}")
    if not 0 <= overlap <= 1:
        raise CodingError(f"overlap must be a share between 0 and 1, got {overlap}")
    rng = np.random.default_rng(seed)
    order = [feedback_ids[i] for i in rng.permutation(len(feedback_ids))]
    n_double = round(overlap * len(order)) if len(names) >= 2 else 0
    load = dict.fromkeys(names, 0)
    rows: list[dict[str, object]] = []
    for index, feedback_id in enumerate(order):
        k = 2 if index < n_double else 1
        ranked = sorted(names, key=lambda a: (load[a], rng.random()))
        for annotator in ranked[:k]:
            rows.append(
                {
                    "feedback_id": feedback_id,
                    "annotator": annotator,
                    "position": load[annotator],
                    "overlap": int(k == 2),
                }
            )
            load[annotator] += 1
    return rows


@dataclass(frozen=True)
class SampleSummary:
    """What `annotate sample` drew and assigned."""

    sample_id: int
    name: str
    codebook_version: str
    population: int
    size: int
    double_coded: int
    strata: int
    annotators: tuple[str, ...]
    target_ci_width: float | None
    seed: int

    def line(self) -> str:
        return (
            f"sample {self.name!r} (id {self.sample_id}): {self.size} of {self.population} coded items "
            f"in {self.strata} strata (code x model), {self.double_coded} double-coded, "
            f"assigned to {', '.join(self.annotators)} under {self.codebook_version}"
        )


def create_validation_sample(
    store: Store,
    codebook: Codebook,
    annotators: Sequence[str],
    *,
    name: str = "validation",
    size: int | None = None,
    ci_width: float = 0.1,
    overlap: float = 0.2,
    seed: int = 0,
    exclude_sampled: bool = True,
) -> SampleSummary:
    """Draw and store a validation sample; its size comes from `ci_width` unless `size` is given."""
    version = codebook.version_key
    items = persist.coded_items_frame(store, codebook)
    if exclude_sampled:
        already = persist.assignments_frame(store, version)
        if len(already):
            items = items[~items["feedback_id"].isin(set(already["feedback_id"]))].reset_index(
                drop=True
            )
    if items.empty:
        raise CodingError(f"no coded feedback left to sample under {version}")
    size_given = size is not None
    if size is None:
        worst_p = max(
            (float(items[c].mean()) for c in codebook.code_names), key=lambda p: p * (1 - p)
        )
        size = sample_size_for_ci_width(ci_width, p=worst_p, population=len(items))
    if size < 1:
        raise CodingError(f"sample size must be >= 1, got {size}")
    strata = stratum_labels(items, codebook.code_names)
    sample = draw_stratified(items, strata, size, seed)
    rows = assign_annotators(sample["feedback_id"].tolist(), annotators, overlap, seed)
    stratum_of = dict(zip(sample["feedback_id"], sample["stratum"], strict=True))
    for row in rows:
        row["stratum"] = stratum_of[row["feedback_id"]]
    config = {
        "size": int(len(sample)),
        "target_ci_width": None if size_given else ci_width,
        "overlap": overlap,
        "seed": seed,
        "annotators": list(annotators),
        "population": int(len(items)),
        "allocation": "proportional (self-weighting) over strata of rarest machine code x rejected model",
    }
    return _record_sample(
        store,
        name,
        version,
        config,
        rows,
        population=int(len(items)),
        size=int(len(sample)),
        double_coded=int(sum(r["overlap"] for r in rows) // 2),
        strata=int(sample["stratum"].nunique()),
        annotators=tuple(annotators),
        target_ci_width=None if size_given else ci_width,
        seed=seed,
    )


def _record_sample(
    store: Store,
    name: str,
    version: str,
    config: dict[str, Any],
    rows: list[dict[str, Any]],
    **summary: Any,
) -> SampleSummary:
    """Store a sample and its assignments as one `coding.sample` run; returns its summary."""
    with store.run(f"{persist.STAGE}.sample", config, model=None) as run:
        sample_id = persist.create_sample(
            store, name=name, version=version, config=config, run_id=run.id, assignments=rows
        )
        recorded = SampleSummary(
            sample_id=sample_id, name=name, codebook_version=version, **summary
        )
        run.summary.update(asdict(recorded))
    return recorded


TRAINING_STRATUM = persist.TRAINING_STRATUM


def items_for_kappa_ci(
    ci_width: float, prevalence: float, kappa: float = 0.6, confidence: float = 0.95
) -> int:
    """Items needed so Cohen's kappa of machine vs human has a CI of total width `ci_width`.

    Large-sample approximation SE(kappa) = sqrt(p_o (1 - p_o) / n) / (1 - p_e), with both raters
    at the code's `prevalence` p (p_e = p^2 + (1 - p)^2) and the expected `kappa` giving
    p_o = kappa (1 - p_e) + p_e. Rare codes need many more items for the same width.
    """
    if not 0 < ci_width < 2:
        raise CodingError(f"target kappa CI width must be between 0 and 2, got {ci_width}")
    if not -1 < kappa < 1:
        raise CodingError(f"expected kappa must be between -1 and 1, got {kappa}")
    p = min(max(prevalence, 0.01), 0.99)
    p_e = p * p + (1 - p) * (1 - p)
    p_o = kappa * (1 - p_e) + p_e
    z = z_value(confidence)
    return int(math.ceil(z * z * p_o * (1 - p_o) / ((ci_width / 2) ** 2 * (1 - p_e) ** 2)))


def kappa_power_table(
    rates: dict[str, float], ci_width: float, kappa: float = 0.6, confidence: float = 0.95
) -> pd.DataFrame:
    """Per code: its machine rate and the items a kappa CI of `ci_width` needs."""
    return pd.DataFrame(
        [
            {
                "code": code,
                "machine_rate": rate,
                "items_needed": items_for_kappa_ci(ci_width, rate, kappa, confidence),
            }
            for code, rate in rates.items()
        ]
    )


def machine_kappa_power(
    store: Store, codebook: Codebook, ci_width: float, kappa: float = 0.6
) -> pd.DataFrame:
    """`kappa_power_table` at each code's machine rate over the items coded under `codebook`."""
    items = persist.coded_items_frame(store, codebook)
    return kappa_power_table(
        {c: float(items[c].mean()) for c in codebook.code_names}, ci_width, kappa
    )


def create_uncertainty_sample(
    store: Store,
    codebook: Codebook,
    annotators: Sequence[str],
    size: int,
    *,
    name: str,
) -> SampleSummary:
    """Extra items the coder is least sure of, flagged training-only (never in prevalence or kappa)."""
    from coding.queue import coder_confidence, uncertain_first

    version = codebook.version_key
    items = persist.coded_items_frame(store, codebook)
    if size < 1:
        raise CodingError(f"uncertainty sample size must be >= 1, got {size}")
    if not annotators:
        raise CodingError("an uncertainty sample needs at least one annotator")
    taken = set(persist.assignments_frame(store, version)["feedback_id"])
    candidates = [fid for fid in items["feedback_id"] if fid not in taken]
    scores = coder_confidence(store, version, candidates)
    uncertain = set(scores.loc[scores["decision"] == "uncertain", "feedback_id"])
    chosen = [fid for fid in uncertain_first(candidates, scores) if fid in uncertain][:size]
    if not chosen:
        raise CodingError(
            f"no unsampled item is uncertain under {version} (the coder stores uncertainty "
            "only with the calibrated offline coder)"
        )
    rows = [
        {
            "feedback_id": fid,
            "annotator": annotators[i % len(annotators)],
            "position": i // len(annotators),
            "overlap": 0,
            "stratum": TRAINING_STRATUM,
        }
        for i, fid in enumerate(chosen)
    ]
    config = {
        "size": len(chosen),
        "purpose": "training only: chosen by the coder's uncertainty, not random",
        "annotators": list(annotators),
        "population": len(candidates),
    }
    return _record_sample(
        store,
        name,
        version,
        config,
        rows,
        population=len(candidates),
        size=len(chosen),
        double_coded=0,
        strata=1,
        annotators=tuple(annotators),
        target_ci_width=None,
        seed=0,
    )


def sample_for_new_annotator(
    store: Store, codebook: Codebook, annotator: str, *, seed: int = 0
) -> SampleSummary:
    """Items for an annotator joining a running campaign, under its rules: as many items as the
    campaign's first sample gave each annotator; the campaign's `overlap` share of them items
    one other person already has (so people's agreement can be measured), the rest drawn from
    items no one has yet, stratified like the first sample. Stored as its own sample."""
    version = codebook.version_key
    name = annotator.strip()
    if not name:
        raise CodingError("annotator name must not be empty")
    samples = persist.samples_frame(store, version)
    if samples.empty:
        raise CodingError(
            "no annotation campaign under this codebook yet: draw the first sample with "
            "`arenalens annotate sample --annotator NAME`"
        )
    first = samples.iloc[0]
    config = first["config"] or {}
    assigned = persist.assignments_frame(store, version)
    if name in set(assigned["annotator"]):
        raise CodingError(f"{name!r} already has items in this campaign")
    in_first = assigned[assigned["sample"] == first["name"]]
    per_person = int(round(in_first.groupby("annotator").size().median())) if len(in_first) else 0
    per_person = max(per_person, 1)
    overlap = float(config.get("overlap", 0.2))
    rng = np.random.default_rng(seed)
    people = assigned.groupby("feedback_id")["annotator"].nunique()
    once = assigned[assigned["feedback_id"].isin(people[people == 1].index)]
    once = once.drop_duplicates("feedback_id").sort_values("feedback_id")
    n_shared = min(round(overlap * per_person), len(once))
    shared = once.iloc[rng.permutation(len(once))[:n_shared]] if n_shared else once.iloc[:0]
    items = persist.machine_items_frame(store, version, codebook.code_names)
    items = items[~items["feedback_id"].isin(set(assigned["feedback_id"]))].reset_index(drop=True)
    n_new = min(per_person - n_shared, len(items))
    if n_new + n_shared == 0:
        raise CodingError(f"no coded feedback left to give {name!r} under {version}")
    picked = [(r.feedback_id, r.stratum, 1) for r in shared.itertuples()]
    if n_new:
        strata = stratum_labels(items, codebook.code_names)
        drawn = draw_stratified(items, strata, n_new, seed)
        picked += [(f, s, 0) for f, s in zip(drawn["feedback_id"], drawn["stratum"], strict=True)]
    order = rng.permutation(len(picked))
    rows = [
        {
            "feedback_id": picked[i][0],
            "annotator": name,
            "position": position,
            "overlap": picked[i][2],
            "stratum": picked[i][1],
        }
        for position, i in enumerate(order)
    ]
    sample_config = {
        "size": len(rows),
        "overlap": overlap,
        "seed": seed,
        "annotators": [name],
        "joined": str(first["name"]),
        "population": int(len(items)),
        "allocation": "as the campaign's first sample; shared items already had one annotator",
    }
    return _record_sample(
        store,
        f"{first['name']}-{name}",
        version,
        sample_config,
        rows,
        population=int(len(items)),
        size=len(rows),
        double_coded=n_shared,
        strata=len({r["stratum"] for r in rows}),
        annotators=(name,),
        target_ci_width=None,
        seed=seed,
    )
