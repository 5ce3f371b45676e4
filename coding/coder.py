"""Code feedback into loss reasons with a Labeler: batched, resumable, evidence-checked."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from arenalens.display import display_name
from arenalens.labeler.base import AssignmentResult, BudgetExhausted, LabelDefinition, Labeler
from arenalens.labeler.text import MAX_LABELLED_CHARS
from arenalens.store import Store
from arenalens.store.store import utcnow
from coding import persist
from coding.attributes import derive_side_polarity
from coding.codebook import POLARITIES, SIDES, Codebook
from coding.errors import CodingError
from coding.fewshot import FewShotExamples

INSTRUCTIONS = (
    "Each text is a voter's free-text feedback on an A/B battle between two voice assistants; "
    "its context gives the spoken query, both responses and the vote. Assign every code whose "
    "definition the feedback expresses as a reason for the vote (several may apply, or none). "
    "For each code give: evidence = an exact, verbatim substring of the feedback (copy it "
    "character for character, never paraphrase); side = which response the reason is about "
    "(preferred = the response that won the vote, rejected = the one that lost, both, unclear); "
    "polarity = negative when it criticises that response, positive when it praises it; "
    "a one-sentence rationale and a confidence between 0 and 1."
)


@dataclass(frozen=True)
class CodingConfig:
    """How to code: batch size, self-consistency samples, thresholds, limits."""

    batch_size: int = 32
    samples: int = 1  # self-consistency: k labeler samples per item, majority vote
    min_confidence: float = 0.0
    limit: int | None = (
        None  # code at most this many not-yet-coded items (then stop; rerun resumes)
    )
    recode: bool = False  # replace this codebook version's machine codes (once the run succeeds)
    wait: bool = False  # wait for another process coding this workspace instead of stopping
    seed: int = 0
    few_shot: int = 0  # LLM path: nearest human-coded examples added to each batch's instructions


@dataclass(frozen=True)
class MachineCode:
    """One code the machine assigned to one feedback item."""

    code: str
    side: str
    polarity: str
    evidence: str
    rationale: str
    confidence: float
    attribute_source: str  # labeler | rules


@dataclass
class CodedItem:
    """The machine's codes for one feedback item, and the codes rejected for bad evidence."""

    feedback_id: str
    codes: list[MachineCode] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CodingSummary:
    """What a coding run did (stored as the run's summary and printed by the CLI)."""

    codebook_version: str
    labeler: str
    run_id: int
    feedback_total: int = 0
    already_coded: int = 0
    coded_now: int = 0
    remaining: int = 0
    codes_written: int = 0
    evidence_rejected: int = 0
    samples: int = 1
    labeler_calls: int = 0
    llm_calls: int | None = None
    llm_cached_calls: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    stopped: str = ""
    decisions: dict[str, str] = field(default_factory=dict)  # code -> zero-shot | learned | ...
    uncertain: dict[str, int] = field(default_factory=dict)  # code -> items marked uncertain

    def line(self) -> str:
        """One human-readable line."""
        tokens = ""
        if self.llm_calls or self.llm_cached_calls:
            tokens = (
                f", {self.llm_calls} LLM calls ({self.llm_cached_calls} more answered from the cache), "
                f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens"
            )
        text = (
            f"coded {self.coded_now} feedback items ({self.already_coded} already coded, "
            f"{self.remaining} remaining) under {self.codebook_version} with {self.labeler}: "
            f"{self.codes_written} codes, {self.evidence_rejected} rejected for non-verbatim evidence, "
            f"{self.labeler_calls} labeler calls{tokens}"
        )
        if self.uncertain:
            text += "; uncertain (for annotators first): " + ", ".join(
                f"{display_name(code)} {n}" for code, n in sorted(self.uncertain.items()) if n
            )
        if any(d != "zero-shot" for d in self.decisions.values()):
            text += "; decisions: " + ", ".join(
                f"{display_name(c)} {d}" for c, d in self.decisions.items()
            )
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


def clean_evidence(evidence: str) -> str:
    """Strip surrounding whitespace and quote marks an LLM tends to add."""
    return evidence.strip().strip("\"'“”‘’").strip()


def is_verbatim(evidence: str, feedback: str) -> bool:
    """Whether the evidence is a non-empty verbatim substring of the feedback."""
    return bool(evidence) and evidence in feedback


def describe_battle(row: dict[str, Any]) -> str:
    """The context a labeler sees: query, both responses and the vote, in plain text."""
    winner, get = row.get("winner"), row.get
    vote = {
        "model_a": "the voter preferred response A (A = preferred, B = rejected)",
        "model_b": "the voter preferred response B (B = preferred, A = rejected)",
        "tie": "tie (neither response preferred)",
    }.get(str(winner), "no vote recorded")
    parts = [
        f"Query: {_short(get('query'))}",
        f"Response A: {_short(get('response_a'))}",
        f"Response B: {_short(get('response_b'))}",
        f"Vote: {vote}",
    ]
    return "\n".join(parts)


def _short(value: Any, limit: int = 1200) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "(not available)"
    text = str(value)
    return text if len(text) <= limit else text[:limit] + " [...]"


def _attr(attributes: dict[str, str], name: str, allowed: Sequence[str]) -> str | None:
    value = (attributes or {}).get(name)
    return value if value in allowed else None


def build_item(
    feedback_id: str,
    text: str,
    winner: str | None,
    results: Sequence[AssignmentResult],
    min_confidence: float = 0.0,
) -> CodedItem:
    """Check evidence, fill side/polarity, and majority-vote over self-consistency samples."""
    item = CodedItem(feedback_id=feedback_id)
    k = len(results)
    per_code: dict[str, list[MachineCode]] = {}
    for result in results:
        seen: set[str] = set()
        for label in result.labels:
            if label.label in seen:
                continue
            seen.add(label.label)
            evidence = clean_evidence(label.evidence or "")
            if not is_verbatim(evidence, text):
                item.rejected.append(
                    {"code": label.label, "evidence": (label.evidence or "")[:200]}
                )
                continue
            side = _attr(label.attributes, "side", SIDES)
            polarity = _attr(label.attributes, "polarity", POLARITIES)
            source = "labeler" if side and polarity else "rules"
            side, polarity = derive_side_polarity(text, evidence, winner, side, polarity)
            per_code.setdefault(label.label, []).append(
                MachineCode(
                    code=label.label,
                    side=side,
                    polarity=polarity,
                    evidence=evidence,
                    rationale=label.rationale or "",
                    confidence=float(min(1.0, max(0.0, label.confidence))),
                    attribute_source=source,
                )
            )
    for code, votes in per_code.items():
        if k > 1 and len(votes) * 2 <= k:
            continue  # no majority of the samples assigned it
        side = Counter(v.side for v in votes).most_common(1)[0][0]
        polarity = Counter(v.polarity for v in votes).most_common(1)[0][0]
        best = max(votes, key=lambda v: v.confidence)
        confidence = len(votes) / k if k > 1 else best.confidence
        if confidence < min_confidence:
            continue
        item.codes.append(
            MachineCode(
                code,
                side,
                polarity,
                best.evidence,
                best.rationale,
                round(confidence, 4),
                best.attribute_source,
            )
        )
    item.codes.sort(key=lambda c: c.code)
    return item


def labeler_usage(labeler: Labeler) -> dict[str, int] | None:
    """Call/token counters a labeler exposes (`usage` mapping or object), if any."""
    usage = getattr(labeler, "usage", None)
    if callable(usage):
        usage = usage()
    if usage is None:
        return None
    keys = ("calls", "cached_calls", "prompt_tokens", "completion_tokens")
    if isinstance(usage, dict):
        return {k: int(usage.get(k, 0) or 0) for k in keys}
    return {k: int(getattr(usage, k, 0) or 0) for k in keys}


def _label_sets(codebook: Codebook, k: int, seed: int) -> list[list[LabelDefinition]]:
    """One label set per self-consistency sample; later samples shuffle the code order."""
    base = codebook.label_definitions()
    sets = [base]
    for i in range(1, k):
        shuffled = list(base)
        random.Random(seed + i).shuffle(shuffled)
        sets.append(shuffled)
    return sets


def code_feedback(
    store: Store,
    labeler: Labeler,
    codebook: Codebook,
    config: CodingConfig | None = None,
    *,
    progress: bool = True,
    examples: FewShotExamples | None = None,
) -> CodingSummary:
    """Code every not-yet-coded feedback item under `codebook`, committing per batch.

    `examples` (with `config.few_shot` > 0): human-coded items, the nearest of which are added
    to each batch's instructions (for an LLM labeler; the calibrated coder ignores them).
    """
    config = config or CodingConfig()
    if config.batch_size < 1 or config.samples < 1:
        raise CodingError(
            f"batch size and samples must be >= 1, got {config.batch_size} and {config.samples}"
        )
    version = persist.register_codebook(store, codebook)
    labeler_name = getattr(labeler, "name", type(labeler).__name__)
    others = set() if config.recode else persist.labelers_used(store, version) - {labeler_name}
    if others:
        raise CodingError(
            f"feedback under codebook {version} was coded by {sorted(others)}, this run uses "
            f"{labeler_name}; codes of two labelers are not mixed: pass --recode to replace them"
        )
    run_config = {**asdict(config), "codebook_version": version, "codebook_source": codebook.source}
    with store.run(persist.STAGE, run_config, model=labeler_name, wait=config.wait) as run:
        # what is left is read under the lease, so a second process never pays for it again
        feedback = store.feedback_frame()
        done = set() if config.recode else persist.coded_feedback_ids(store, version, any_run=True)
        todo = feedback[~feedback["id"].isin(done)]
        if config.limit is not None:
            todo = todo.head(config.limit)
        if hasattr(labeler, "run_id"):
            labeler.run_id = run.id  # the LLM labeler records its usage under this run
        summary = CodingSummary(
            version,
            labeler_name,
            run.id,
            feedback_total=len(feedback),
            already_coded=len(done),
            samples=config.samples,
        )
        # a recode keeps the old codes until it succeeds: the new ones are swapped in when the
        # run is published (the LLM's answers are cached as they come, so a rerun pays nothing)
        staged: tuple[list, list, list] | None = ([], [], []) if config.recode else None
        if hasattr(labeler, "decision_sources"):
            summary.decisions = labeler.decision_sources()
        usage_before = labeler_usage(labeler)
        label_sets = _label_sets(codebook, config.samples, config.seed)
        try:
            with tqdm(
                total=len(todo), desc="coding feedback", unit="item", disable=not progress
            ) as bar:
                for start in range(0, len(todo), config.batch_size):
                    batch = todo.iloc[start : start + config.batch_size]
                    _code_batch(
                        store, labeler, codebook, config, label_sets, batch, version, run.id,
                        summary, staged, examples,
                    )  # fmt: skip
                    bar.update(len(batch))
        except BudgetExhausted as exc:
            if staged is not None:
                raise CodingError(
                    f"labeler budget exhausted during the recode ({exc}); the previous codes "
                    "are kept; rerun with --recode (answers so far are cached)"
                ) from exc
            summary.stopped = f"labeler budget exhausted ({exc}); rerun to resume"
            run.status = "partial"
        finally:
            _record_usage(summary, labeler, usage_before)
            run.summary.update(asdict(summary))
        if staged is not None:
            items, codes, scores = staged
            run.on_publish(lambda conn: persist.replace_coding(conn, version, items, codes, scores))
            summary.remaining = len(feedback) - summary.coded_now
        else:
            # items saved by earlier runs that died are published with this one
            run.on_publish(lambda conn: persist.adopt_unfinished(conn, version, run.id))
            coded = persist.coded_feedback_ids(store, version, any_run=True)
            summary.remaining = len(feedback) - len(coded)
        run.summary.update(asdict(summary))
    return summary


def _record_usage(summary: CodingSummary, labeler: Labeler, before: dict[str, int] | None) -> None:
    after = labeler_usage(labeler)
    if before is None or after is None:
        return
    summary.llm_calls = after["calls"] - before["calls"]
    summary.llm_cached_calls = after["cached_calls"] - before["cached_calls"]
    summary.prompt_tokens = after["prompt_tokens"] - before["prompt_tokens"]
    summary.completion_tokens = after["completion_tokens"] - before["completion_tokens"]


def _code_batch(
    store: Store,
    labeler: Labeler,
    codebook: Codebook,
    config: CodingConfig,
    label_sets: list[list[LabelDefinition]],
    batch: pd.DataFrame,
    version: str,
    run_id: int,
    summary: CodingSummary,
    staged: tuple[list, list, list] | None = None,
    examples: FewShotExamples | None = None,
) -> None:
    """Code one batch; save it at once (resumable), or into `staged` for a recode."""
    # every labeler reads a bounded start of each text (a 50 MB text is coded from its start)
    texts = [text[:MAX_LABELLED_CHARS] for text in batch["text"].astype(str)]
    contexts = [describe_battle(row) for row in batch.to_dict("records")]
    per_sample: list[list[AssignmentResult]] = []
    scored = labeler.score(texts) if hasattr(labeler, "score") else None
    for i, label_set in enumerate(label_sets):
        if scored is not None:  # calibrated coder: deterministic, one sample is all samples
            if i == 0:
                summary.labeler_calls += 1
            per_sample.append(labeler.results_from_scores(scored))
            continue
        instructions = (
            INSTRUCTIONS
            if i == 0
            else f"{INSTRUCTIONS} (independent sample {i + 1} of {len(label_sets)})"
        )
        if examples is not None and config.few_shot > 0:
            instructions += examples.for_batch(texts, config.few_shot)
        results = labeler.assign_labels(
            texts,
            label_set,
            context=contexts,
            instructions=instructions,
            attribute_choices={"side": list(SIDES), "polarity": list(POLARITIES)},
        )
        summary.labeler_calls += 1
        if len(results) != len(texts):
            raise CodingError(
                f"labeler {summary.labeler} returned {len(results)} results for {len(texts)} texts"
            )
        per_sample.append(results)
    now = utcnow()
    item_rows, code_rows, score_rows = [], [], []
    valid = set(codebook.code_names)
    for j, row in enumerate(batch.itertuples(index=False)):
        results = [sample[j] for sample in per_sample]
        item = build_item(str(row.id), texts[j], row.winner, results, config.min_confidence)
        item.codes = [c for c in item.codes if c.code in valid]
        summary.evidence_rejected += len(item.rejected)
        item_rows.append(
            {
                "codebook_version": version,
                "feedback_id": item.feedback_id,
                "labeler": summary.labeler,
                "samples": config.samples,
                "n_codes": len(item.codes),
                "rejected": item.rejected,
                "run_id": run_id,
                "coded_at": now,
            }
        )
        code_rows.extend(
            {
                "codebook_version": version,
                "feedback_id": item.feedback_id,
                "run_id": run_id,
                **asdict(c),
            }
            for c in item.codes
        )
        kept = {c.code for c in item.codes}
        if scored is not None:
            for s in scored[j]:
                if s.code not in valid:
                    continue
                decision = s.decision
                if decision == "present" and s.code not in kept:
                    decision = "uncertain"  # its evidence failed the verbatim check
                summary.uncertain[s.code] = summary.uncertain.get(s.code, 0) + (
                    decision == "uncertain"
                )
                score_rows.append(
                    {
                        "codebook_version": version,
                        "feedback_id": item.feedback_id,
                        "code": s.code,
                        "probability": s.probability,
                        "decision": decision,
                        "source": s.source,
                        "run_id": run_id,
                    }
                )
        else:  # a labeler reports confidence for the codes it gives only
            score_rows.extend(
                {
                    "codebook_version": version,
                    "feedback_id": item.feedback_id,
                    "code": c.code,
                    "probability": c.confidence,
                    "decision": "present",
                    "source": "llm" if summary.labeler.startswith("llm") else "labeler",
                    "run_id": run_id,
                }
                for c in item.codes
            )
    if staged is None:
        persist.save_coded_batch(store, item_rows, code_rows, score_rows)
    else:
        staged[0].extend(item_rows)
        staged[1].extend(code_rows)
        staged[2].extend(score_rows)
    summary.coded_now += len(item_rows)
    summary.codes_written += len(code_rows)
