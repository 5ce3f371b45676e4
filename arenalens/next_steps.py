"""What to run next, from what a workspace holds: one checklist for `status` and the dashboard.

Each step says whether it has run, whether it can run on this data (and if not, why), and the
command. A workspace with only votes gets `rank`, not `taxonomy build` (no queries) or `code`
(no feedback)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

# Fewer queries than this make too few clusters for a taxonomy worth reading.
MIN_TAXONOMY_QUERIES = 50

State = Literal["done", "ready", "blocked"]


@dataclass(frozen=True)
class Step:
    """One line of the checklist."""

    name: str
    state: State
    why: str
    command: str
    # for a blocked step: the command that would unblock it, if one exists; for a ready one,
    # another command that does it too
    fix: str = ""


def _ran(status: dict[str, Any], stage: str) -> bool:
    return stage in (status.get("stages") or {})


@dataclass(frozen=True)
class Facts:
    """What a reader of the workspace knows beyond `Store.status()`, for the optional steps
    (the dashboard's loaders fill it; the step is left out where a fact is unknown)."""

    # style/latency controls the votes carry (None: unknown), or why none can be fitted
    controls: tuple[str, ...] | None = None
    controls_blocked: str = ""
    controlled: bool = False  # a finished ranking run fitted a controlled board
    # the codebook in use and the versions coded in the store (None: unknown)
    codebook_version: str | None = None
    coded_versions: tuple[str, ...] = ()


#: the step that ranks votes on text answers and on spoken answers apart (the Leaderboard's
#: "Read or heard" section)
SPOKEN_BOARDS = "Boards for text and spoken answers"


def next_steps(
    status: dict[str, Any], ranked_by: Iterable[str] = (), facts: Facts | None = None
) -> list[Step]:
    """The checklist for a workspace, from `Store.status()` (counts and finished stages), the
    slice fields finished ranking runs used (`rank --by category` -> "category") and, where a
    reader knows them, `facts` (which controls the votes carry, which codebook is coded)."""
    facts = facts or Facts()
    n = {
        key: int(status.get(key) or 0)
        for key in (
            "interactions",
            "votes",
            "queries",
            "audio",
            "transcripts",
            "feedback",
            "benchmark_scores",
            "systems",
            "model_outputs",
            "spoken_answers",
        )
    }
    if n["interactions"] == 0:
        return [
            Step(
                "Load data",
                "ready",
                "the workspace holds no interactions yet (the demo loads the synthetic sample arena)",
                "arenalens ingest FILE",
                fix="arenalens demo",
            )
        ]
    steps: list[Step] = []
    untranscribed = max(0, n["audio"] - n["transcripts"])
    if n["audio"]:
        steps.append(
            Step(
                "Transcribe spoken queries",
                "ready" if untranscribed else "done",
                f"{untranscribed:,} of {n['audio']:,} audio queries without a transcript"
                if untranscribed
                else f"all {n['audio']:,} audio queries transcribed",
                "arenalens transcribe",
            )
        )
    if n["votes"] == 0:
        steps.append(
            Step("Rank models", "blocked", "no votes (winner) in the data", "arenalens rank")
        )
    else:
        steps.append(
            Step(
                "Rank models",
                "done" if _ran(status, "ranking") else "ready",
                f"{n['votes']:,} votes between {n['systems']:,} systems",
                "arenalens rank",
            )
        )
    if n["votes"] and facts.controls is not None:
        steps.append(_control_step(facts))
    if n["votes"] and n["spoken_answers"]:
        steps.append(
            Step(
                SPOKEN_BOARDS,
                "done" if "output_modality" in set(ranked_by) else "ready",
                f"{n['spoken_answers']:,} spoken answers beside the text ones",
                "arenalens rank --by output_modality",
            )
        )
    queries = n["queries"] + n["transcripts"]
    if queries < MIN_TAXONOMY_QUERIES:
        why = f"{queries:,} queries with text (needs {MIN_TAXONOMY_QUERIES}+)"
        if untranscribed:
            why += "; transcribe the audio first"
        steps.append(
            Step(
                "Build the use-case taxonomy",
                "blocked",
                why,
                "arenalens taxonomy build",
                fix="arenalens transcribe" if untranscribed else "",
            )
        )
        if n["votes"]:
            steps.append(
                Step(
                    "Leaderboards per use case",
                    "blocked",
                    "needs the use-case taxonomy, which cannot run: " + why,
                    "arenalens rank --by category",
                )
            )
    else:
        steps.append(
            Step(
                "Build the use-case taxonomy",
                "done" if _ran(status, "taxonomy") else "ready",
                f"{queries:,} queries with text",
                "arenalens taxonomy build",
            )
        )
        if n["votes"]:
            steps.append(
                Step(
                    "Leaderboards per use case",
                    "done"
                    if "category" in set(ranked_by)
                    else ("ready" if _ran(status, "taxonomy") else "blocked"),
                    "per-category ratings" if _ran(status, "taxonomy") else "needs the taxonomy",
                    "arenalens rank --by category",
                )
            )
    if n["feedback"] == 0:
        steps.append(
            Step(
                "Code feedback into loss reasons",
                "blocked",
                "no written feedback",
                "arenalens code",
            )
        )
    else:
        coded = _ran(status, "coding")
        stale = (
            coded
            and facts.codebook_version is not None
            and facts.codebook_version not in facts.coded_versions
        )
        why = f"{n['feedback']:,} feedback texts"
        if stale:
            why = (
                f"nothing is coded under the codebook in use ({facts.codebook_version}); the "
                f"store holds codes of {', '.join(facts.coded_versions)}"
            )
        steps.append(
            Step(
                "Code feedback into loss reasons",
                "done" if coded and not stale else "ready",
                why,
                "arenalens code",
            )
        )
        steps.append(
            Step(
                "Validate the codes (annotators)",
                "done" if _ran(status, "coding.sample") else ("ready" if coded else "blocked"),
                "a human sample checks the machine's codes" if coded else "needs coded feedback",
                "arenalens annotate sample --annotator NAME",
            )
        )
        steps.append(
            Step(
                "Look for reasons the codebook lacks (optional)",
                "done" if _ran(status, "coding.discover") else ("ready" if coded else "blocked"),
                "groups feedback left uncoded or coded 'other' into candidate reasons"
                if coded
                else "needs coded feedback",
                "arenalens codebook discover",
            )
        )
    if n["benchmark_scores"] == 0:
        steps.append(
            Step(
                "Benchmarks vs preference",
                "blocked",
                "no benchmark scores",
                "arenalens regress",
                fix="arenalens benchmarks ingest SCORES.csv",
            )
        )
    else:
        steps.append(
            Step(
                "Benchmarks vs preference",
                "done" if _ran(status, "regression") else ("ready" if n["votes"] else "blocked"),
                f"{n['benchmark_scores']:,} benchmark scores" if n["votes"] else "needs votes",
                "arenalens regress",
            )
        )
    steps.append(_outputs_step(n))
    steps.append(
        Step(
            "Collect votes from your own raters (optional)",
            "ready",
            "a campaign in the rater app, then a personal link per rater "
            "(arenalens arena invite RATER --campaign NAME)",
            "arenalens arena campaign create NAME --mode live",
        )
    )
    return steps


def _control_step(facts: Facts) -> Step:
    """The board controlled for answer length and latency, with the controls the votes carry."""
    name = "Control for style and latency"
    if not facts.controls:
        why = facts.controls_blocked or "the votes carry no response lengths or latencies"
        return Step(name, "blocked", why, "arenalens rank --control FIELD")
    command = "arenalens rank " + " ".join(f"--control {c}" for c in facts.controls)
    words = ", ".join(c.replace("_", " ") for c in facts.controls)
    return Step(name, "done" if facts.controlled else "ready", f"the votes carry {words}", command)


def _outputs_step(n: dict[str, int]) -> Step:
    """Answers of your own systems to the arena's queries (optional; GPU or an endpoint)."""
    name = "Generate model outputs (optional)"
    if n["queries"] + n["audio"] == 0:
        return Step(name, "blocked", "no query text or audio to answer", "arenalens infer run")
    if n["model_outputs"]:
        return Step(
            name,
            "done",
            f"{n['model_outputs']:,} outputs stored",
            "arenalens infer run --system NAME",
        )
    return Step(
        name,
        "ready",
        "the systems declared in data/systems.yaml (or your own file) answer the arena's queries",
        "arenalens infer run --system NAME",
    )
