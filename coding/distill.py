"""LLM -> small classifier for scale (`arenalens code --llm-sample N`, after TnT-LLM).

The LLM codes a random, budgeted sample; per code, the `coding.learning` classifier (text
embedding + the zero-shot coder's features) is trained on the LLM's codes of most of that
sample and replaces the zero-shot decision where cross-validation says it reproduces the LLM
better; the part of the sample held back from training measures classifier-vs-LLM agreement.
The calibrated coder, with those decisions, then codes everything (cheap and offline).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from arenalens.labeler.base import Labeler
from arenalens.store import Store
from coding.agreement import code_with_labeler, labeler_agreement
from coding.coder import labeler_usage
from coding.errors import CodingError
from coding.learning import CodeLearning, LearnedModel, learn_codes, zero_shot_inputs
from coding.zeroshot import CalibratedCoder

MIN_SAMPLE = 30  # enough that the part trained on reaches coding.learning.MIN_LABELS


@dataclass
class DistillReport:
    """What the LLM sample cost, what was learned from it, and how well the classifier matches it."""

    llm: str
    sample: int
    trained_on: int
    held_back: int
    llm_seconds: float
    llm_calls: int | None
    prompt_tokens: int | None
    completion_tokens: int | None
    codes: list[CodeLearning] = field(default_factory=list)
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)  # classifier vs LLM, held back

    def overrides(self) -> dict[str, LearnedModel]:
        return {r.code: r.model for r in self.codes if r.decision == "learned" and r.model}

    def savings_line(self, total_items: int, coder_seconds: float) -> str:
        """Cost and time saved versus having the LLM code all `total_items`.

        Estimated per fresh LLM call: answers served from the cache cost (almost) nothing, so
        counting them would understate what coding the rest with the LLM costs.
        """
        rest = max(total_items - self.sample, 0)
        fresh = self.sample if self.llm_calls is None else self.llm_calls
        done = f"LLM coded {self.sample} items in {self.llm_seconds:.1f} s"
        tail = f"the classifier coded all {total_items} in {coder_seconds:.1f} s"
        if fresh == 0:
            return f"{done} (all from the cache: no cost to estimate from); {tail}"
        cached = f" ({self.sample - fresh} from the cache)" if fresh < self.sample else ""
        tokens = ""
        if self.prompt_tokens is not None:
            per_call = (self.prompt_tokens + (self.completion_tokens or 0)) / fresh
            tokens = f", about {per_call * rest:,.0f} LLM tokens"
        return (
            f"{done}{cached}; coding the other {rest} with the LLM would take about "
            f"{self.llm_seconds / fresh * rest:.0f} s{tokens}; {tail}"
        )


def distil_from_llm(
    llm: Labeler,
    coder: CalibratedCoder,
    items: pd.DataFrame,
    sample_size: int,
    *,
    held_back: float = 0.25,
    seed: int = 0,
) -> DistillReport:
    """Code a random sample with `llm`, train on most of it, measure agreement on the rest."""
    if sample_size < MIN_SAMPLE:
        raise CodingError(f"--llm-sample must be at least {MIN_SAMPLE} items, got {sample_size}")
    if len(items) < sample_size:
        raise CodingError(
            f"--llm-sample {sample_size} is more than the {len(items)} feedback items there are"
        )
    codebook = coder.codebook
    names = codebook.code_names
    sample = items.sample(sample_size, random_state=seed).reset_index(drop=True)
    before = labeler_usage(llm)
    started = time.perf_counter()
    llm_codes = code_with_labeler(llm, codebook, sample[["feedback_id", "text"]])
    seconds = time.perf_counter() - started
    after = labeler_usage(llm)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(sample))
    n_back = max(5, int(round(held_back * len(sample))))
    back, train = order[:n_back], order[n_back:]
    inputs = zero_shot_inputs(coder, sample["text"].astype(str).tolist())
    vectors, x, present = inputs.vectors, inputs.features, inputs.present
    labels = {c: llm_codes[c].to_numpy() for c in names}
    results = learn_codes(
        names,
        vectors[train],
        {c: x[c][train] for c in names},
        {c: present[c][train] for c in names},
        {c: labels[c][train] for c in names},
        seed=seed,
    )
    by_code = {r.code: r for r in results}
    predicted = {}
    for c in names:
        r = by_code[c]
        predicted[c] = (
            (r.model.probability(vectors[back], x[c][back]) >= r.model.threshold).astype(int)
            if r.decision == "learned" and r.model
            else present[c][back].astype(int)
        )
    classifier = pd.DataFrame(
        {"feedback_id": sample["feedback_id"].iloc[back].tolist(), **predicted}
    )
    agreement = labeler_agreement(llm_codes.iloc[back], classifier, names, n_boot=500, seed=seed)
    diff = (
        {k: after[k] - before[k] for k in after} if before is not None and after is not None else {}
    )
    if not diff.get("calls") and not diff.get("cached_calls"):
        diff = {}  # a labeler that counts nothing (the base class's zeros): usage unknown
    return DistillReport(
        llm=getattr(llm, "name", type(llm).__name__),
        sample=len(sample),
        trained_on=len(train),
        held_back=len(back),
        llm_seconds=seconds,
        llm_calls=diff.get("calls"),
        prompt_tokens=diff.get("prompt_tokens"),
        completion_tokens=diff.get("completion_tokens"),
        codes=results,
        agreement=agreement,
    )


def distil_coder(
    llm: Labeler, coder: CalibratedCoder, store: Store, sample_size: int, *, seed: int = 0
) -> DistillReport:
    """`distil_from_llm` over the store's feedback; `coder` then uses the decisions learned from
    the LLM's codes, and its name says so."""
    feedback = store.feedback_frame().rename(columns={"id": "feedback_id"})
    report = distil_from_llm(llm, coder, feedback, sample_size, seed=seed)
    coder.overrides = report.overrides()
    coder.name = f"distilled:{report.llm} via {coder.name}"
    return report
