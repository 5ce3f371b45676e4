"""The Labeler interface shared by taxonomy (naming groups) and coding (assigning labels)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

from arenalens.errors import ArenalensError
from arenalens.privacy import safe_derived_text, safe_keywords


class LabelerError(ArenalensError, RuntimeError):
    """A labeler could not produce a valid answer (after its retries)."""


class EndpointUnavailable(LabelerError):
    """The endpoint is unreachable, failing or silent: the run stops (nothing is published)."""


class BudgetExhausted(LabelerError):
    """The configured call/token budget is spent; rerun later to resume from the cache."""


@dataclass(frozen=True)
class LabelDefinition:
    """One label of a label set: name, definition and optional examples and rules."""

    name: str
    definition: str
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    positive_examples: Sequence[str] = ()
    negative_examples: Sequence[str] = ()


@dataclass(frozen=True)
class GroupName:
    """A name and one-sentence description for a group of texts."""

    name: str
    description: str
    keywords: Sequence[str] = ()
    # which implementation produced it, e.g. "llm:gpt-4o" or "embedding (not an LLM)"
    labeler: str = ""

    def private(self) -> GroupName:
        """This name with personal details masked in name and description and personal
        keywords dropped (the rule for every text derived from user text)."""
        return GroupName(
            safe_derived_text(self.name),
            safe_derived_text(self.description),
            tuple(safe_keywords(self.keywords)),
            self.labeler,
        )


@dataclass(frozen=True)
class NamingRequest:
    """What a namer reads about one group: its most typical texts, its boundary texts (members
    least like the rest), texts of nearby groups to contrast with, the names nearby groups
    already have (the new name must differ from them) and the words that mark the group."""

    central: Sequence[str]
    boundary: Sequence[str] = ()
    contrast: Sequence[str] = ()
    sibling_names: Sequence[str] = ()
    keywords: Sequence[str] = ()


@dataclass(frozen=True)
class LabelAssignment:
    """One label assigned to a text, with a verbatim evidence quote and a confidence in [0, 1]."""

    label: str
    evidence: str
    confidence: float
    rationale: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # e.g. side, polarity


@dataclass(frozen=True)
class AssignmentResult:
    """All labels assigned to one text (possibly none)."""

    labels: Sequence[LabelAssignment]
    labeler: str = ""


class Labeler(ABC):
    """Names groups of texts and assigns labels from a label set with definitions."""

    #: short identifier stored with results, e.g. "llm:<model>" or "embedding:<model> (not an LLM)"
    name: str = "labeler"
    #: run that API usage is recorded under (`llm_usage.run_id`); stages set it after `start_run`
    run_id: int | None = None

    @abstractmethod
    def name_group(
        self,
        in_group: Sequence[str],
        out_group: Sequence[str],
        *,
        instructions: str = "",
    ) -> GroupName:
        """Name a group of texts, contrasting it with samples from nearby groups."""

    @abstractmethod
    def assign_labels(
        self,
        texts: Sequence[str],
        label_set: Sequence[LabelDefinition],
        *,
        context: Sequence[str] | None = None,
        instructions: str = "",
        attribute_choices: dict[str, Sequence[str]] | None = None,
    ) -> list[AssignmentResult]:
        """Multi-label assignment for each text (with optional per-text context)."""

    def name_groups(
        self,
        groups: Sequence[tuple[Sequence[str], Sequence[str]]],
        *,
        instructions: str = "",
    ) -> list[GroupName]:
        """Name several (in_group, out_group) pairs; implementations may run them concurrently."""
        return [self.name_group(inside, out, instructions=instructions) for inside, out in groups]

    def name_clusters(
        self, requests: Sequence[NamingRequest], *, instructions: str = ""
    ) -> list[GroupName]:
        """Name groups from everything a `NamingRequest` carries. This default hands
        `name_group` the central and boundary texts as the group and the contrast texts as the
        out-group, and says the sibling names in the instructions; the LLM labeler lays all of
        it out in its prompt."""
        out = []
        for request in requests:
            note = instructions
            if request.sibling_names:
                note += " Nearby groups are already named: " + "; ".join(request.sibling_names)
            out.append(
                self.name_group(
                    [*request.central, *request.boundary], request.contrast, instructions=note
                )
            )
        return out

    def usage(self) -> dict[str, int]:
        """API calls and tokens this labeler has spent so far (all zero for offline labelers)."""
        return {"calls": 0, "cached_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
