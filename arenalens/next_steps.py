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
    # for a blocked step: the command that would unblock it, if one exists
    fix: str = ""


def _ran(status: dict[str, Any], stage: str) -> bool:
    return stage in (status.get("stages") or {})


def next_steps(status: dict[str, Any], ranked_by: Iterable[str] = ()) -> list[Step]:
    """The checklist for a workspace, from `Store.status()` (counts and finished stages) and
    the slice fields finished ranking runs used (`rank --by category` -> "category")."""
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
        )
    }
    if n["interactions"] == 0:
        return [
            Step(
                "Load data",
                "ready",
                "the workspace is empty",
                "arenalens ingest FILE   (or: arenalens demo)",
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
        steps.append(
            Step(
                "Code feedback into loss reasons",
                "done" if coded else "ready",
                f"{n['feedback']:,} feedback texts",
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
    return steps
