"""The `llm` labeler: group names and label assignments from an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm.auto import tqdm

from arenalens.labeler.base import (
    AssignmentResult,
    BudgetExhausted,
    GroupName,
    LabelAssignment,
    LabelDefinition,
    Labeler,
    LabelerError,
    NamingRequest,
)
from arenalens.labeler.llm_client import LLMClient
from arenalens.labeler.text import MAX_LABELLED_CHARS, verbatim_evidence
from arenalens.privacy import mask_pii

if TYPE_CHECKING:
    from arenalens.config import Settings
    from arenalens.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_SAMPLE_CHARS = 300  # each in/out-group text shown to the model is cut to this length
MAX_GROUP_SAMPLES = 30
MAX_TEXT_CHARS = MAX_LABELLED_CHARS

NAME_SYSTEM = (
    "You name groups of texts for an analytics taxonomy. Read the texts of one group and "
    "samples from other, nearby groups, then give the group a short, specific name (2 to 5 "
    "words) that fits its texts and tells it apart from the others, a one-sentence "
    "description, and a few keywords. Answer with one JSON object only."
)
ASSIGN_SYSTEM = (
    "You code a text with labels from a codebook. A text may have several labels or none. "
    "For each label that applies give: name (from the codebook), evidence (words copied "
    "exactly from the text that show the label), confidence between 0 and 1, and a short "
    "rationale. Label only the text itself; the context is there to help you understand it. "
    "Answer with one JSON object only."
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def group_name_schema(max_chars: int = 300) -> dict[str, Any]:
    """JSON schema of a group name reply."""
    return {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 60},
            "description": {"type": "string", "maxLength": max_chars},
            "keywords": {
                "type": "array",
                "items": {"type": "string", "maxLength": min(40, max_chars)},
                "maxItems": 8,
            },
        },
        "required": ["name", "description", "keywords"],
        "additionalProperties": False,
    }


def assignment_schema(
    label_set: Sequence[LabelDefinition],
    attribute_choices: Mapping[str, Sequence[str]],
    max_chars: int = 300,
) -> dict[str, Any]:
    """JSON schema of a label assignment reply: labels restricted to the set, attributes to their choices."""
    item_properties: dict[str, Any] = {
        "name": {"type": "string", "enum": [label.name for label in label_set]},
        "evidence": {"type": "string", "maxLength": max_chars},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "rationale": {"type": "string", "maxLength": max_chars},
    }
    for attribute, choices in attribute_choices.items():
        item_properties[attribute] = {"type": "string", "enum": list(choices)}
    return {
        "type": "object",
        "properties": {
            "labels": {
                "type": "array",
                "maxItems": len(label_set),
                "items": {
                    "type": "object",
                    "properties": item_properties,
                    "required": list(item_properties),
                    "additionalProperties": False,
                },
            }
        },
        "required": ["labels"],
        "additionalProperties": False,
    }


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def validate_group_name(reply: Any) -> dict[str, Any]:
    """A group-name reply checked against `group_name_schema` (ValueError when it is not)."""
    _require(isinstance(reply, dict), "expected a JSON object")
    name = reply.get("name")
    _require(isinstance(name, str) and name.strip() != "", '"name" must be a non-empty string')
    description = reply.get("description", "")
    _require(isinstance(description, str), '"description" must be a string')
    keywords = reply.get("keywords", [])
    _require(
        isinstance(keywords, list) and all(isinstance(k, str) for k in keywords),
        '"keywords" must be a list of strings',
    )
    return {
        "name": name.strip(),
        "description": description.strip(),
        "keywords": [k.strip() for k in keywords if k.strip()],
    }


def make_assignment_validator(
    text: str, label_set: Sequence[LabelDefinition], attribute_choices: Mapping[str, Sequence[str]]
) -> Callable[[Any], list[LabelAssignment]]:
    """A validator turning an assignment reply for `text` into LabelAssignments (or ValueError)."""
    names = {label.name for label in label_set}

    def validate(reply: Any) -> list[LabelAssignment]:
        _require(
            isinstance(reply, dict) and isinstance(reply.get("labels"), list),
            'expected {"labels": [...]}',
        )
        best: dict[str, LabelAssignment] = {}
        for index, item in enumerate(reply["labels"]):
            _require(isinstance(item, dict), f"labels[{index}] must be an object")
            name = item.get("name")
            _require(name in names, f"labels[{index}].name {name!r} is not one of {sorted(names)}")
            confidence = item.get("confidence")
            _require(
                isinstance(confidence, int | float)
                and not isinstance(confidence, bool)
                and 0 <= confidence <= 1,
                f"labels[{index}].confidence must be a number between 0 and 1, got {confidence!r}",
            )
            evidence = item.get("evidence", "")
            _require(isinstance(evidence, str), f"labels[{index}].evidence must be a string")
            rationale = item.get("rationale", "")
            _require(isinstance(rationale, str), f"labels[{index}].rationale must be a string")
            attributes: dict[str, str] = {}
            for attribute, choices in attribute_choices.items():
                value = item.get(attribute)
                _require(
                    value in choices,
                    f"labels[{index}].{attribute} {value!r} is not one of {list(choices)}",
                )
                attributes[attribute] = str(value)
            assignment = LabelAssignment(
                label=str(name),
                evidence=verbatim_evidence(evidence, text, snap_paraphrase=False),
                confidence=float(confidence),
                rationale=rationale.strip(),
                attributes=attributes,
            )
            if name not in best or assignment.confidence > best[str(name)].confidence:
                best[str(name)] = assignment
        return list(best.values())

    return validate


def _describe_label(label: LabelDefinition) -> str:
    lines = [f"- {label.name}: {label.definition.strip()}"]
    if label.include:
        lines.append("  includes: " + "; ".join(label.include))
    if label.exclude:
        lines.append("  excludes: " + "; ".join(label.exclude))
    if label.positive_examples:
        lines.append(
            "  examples: "
            + " | ".join(json.dumps(e, ensure_ascii=False) for e in label.positive_examples)
        )
    if label.negative_examples:
        lines.append(
            "  not this label: "
            + " | ".join(json.dumps(e, ensure_ascii=False) for e in label.negative_examples)
        )
    return "\n".join(lines)


class LLMLabeler(Labeler):
    """Labels through an OpenAI-compatible chat endpoint (one text per call, concurrent)."""

    def __init__(
        self,
        client: LLMClient,
        *,
        concurrency: int = 4,
        show_progress: bool | None = None,
        max_field_chars: int = 300,
    ):
        """`max_field_chars` caps evidence, rationale and description in the reply schema."""
        self.client = client
        self.max_field_chars = max_field_chars
        self.concurrency = max(1, concurrency)
        self.show_progress = show_progress
        self.name = f"llm:{client.model}"

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store | None, **client_kwargs: Any
    ) -> LLMLabeler:
        """The labeler the settings describe (endpoint, model, key variable, budget, concurrency)."""
        client = LLMClient.from_settings(settings, store, **client_kwargs)
        return cls(client, concurrency=settings.llm_concurrency)

    def usage(self) -> dict[str, int]:
        return self.client.usage()

    # -- naming ---------------------------------------------------------------
    def _name_messages(
        self, in_group: Sequence[str], out_group: Sequence[str], instructions: str
    ) -> list[dict[str, str]]:
        # examples go to the endpoint with personal details masked, like every derived text
        inside = "\n".join(
            f"- {_clip(mask_pii(x), MAX_SAMPLE_CHARS)}" for x in in_group[:MAX_GROUP_SAMPLES]
        )
        outside = "\n".join(
            f"- {_clip(mask_pii(x), MAX_SAMPLE_CHARS)}" for x in out_group[:MAX_GROUP_SAMPLES]
        )
        user = f"Texts in the group:\n{inside}\n\nTexts from other groups (for contrast):\n{outside or '- (none)'}\n"
        if instructions:
            user += f"\nInstructions: {instructions}\n"
        user += '\nReply with JSON: {"name": a short name, "description": one sentence, "keywords": [a few words]}'
        return [{"role": "system", "content": NAME_SYSTEM}, {"role": "user", "content": user}]

    def name_group(
        self, in_group: Sequence[str], out_group: Sequence[str], *, instructions: str = ""
    ) -> GroupName:
        """Name one group of texts (one call, or none when cached)."""
        return self.name_groups([(in_group, out_group)], instructions=instructions)[0]

    def name_groups(
        self, groups: Sequence[tuple[Sequence[str], Sequence[str]]], *, instructions: str = ""
    ) -> list[GroupName]:
        """Name several groups concurrently (bounded by llm_concurrency)."""
        for index, (inside, _) in enumerate(groups):
            if not inside:
                raise LabelerError(f"group #{index} has no texts to name")

        def one(pair: tuple[Sequence[str], Sequence[str]]) -> GroupName:
            return self._group_name(self._name_messages(pair[0], pair[1], instructions))

        return self._map(one, list(groups), "naming groups")

    def _group_name(self, messages: list[dict[str, str]]) -> GroupName:
        """One naming request: a reply in `group_name_schema`, personal details masked."""
        reply = self.client.complete_json(
            messages, group_name_schema(self.max_field_chars), "group_name", validate_group_name
        )
        return GroupName(
            reply["name"], reply["description"], tuple(reply["keywords"]), labeler=self.name
        ).private()

    def _cluster_messages(self, request: NamingRequest, instructions: str) -> list[dict[str, str]]:
        # user texts go to the endpoint with personal details masked, like every derived text
        def listed(texts: Sequence[str]) -> str:
            shown = [f"- {_clip(mask_pii(x), MAX_SAMPLE_CHARS)}" for x in texts[:MAX_GROUP_SAMPLES]]
            return "\n".join(shown) or "- (none)"

        parts = [
            f"Most typical texts of the group:\n{listed(request.central)}",
            "Texts at the edge of the group (members least like the rest; the name should cover "
            f"them too):\n{listed(request.boundary)}",
            f"Texts from nearby groups (for contrast):\n{listed(request.contrast)}",
        ]
        if request.keywords:
            words = ", ".join(mask_pii(w) for w in request.keywords[:8])
            parts.append(f"Words that mark the group (distinctive against the rest): {words}")
        if request.sibling_names:
            taken = "\n".join(f"- {mask_pii(n)}" for n in request.sibling_names)
            parts.append(
                "Names nearby groups already have (say what sets this group apart; do not reuse "
                f"or paraphrase them):\n{taken}"
            )
        if instructions:
            parts.append(f"Instructions: {instructions}")
        parts.append(
            'Reply with JSON: {"name": a short name, "description": one sentence saying what '
            'the texts ask for, "keywords": [a few words]}'
        )
        return [
            {"role": "system", "content": NAME_SYSTEM},
            {"role": "user", "content": "\n\n".join(parts) + "\n"},
        ]

    def name_clusters(
        self, requests: Sequence[NamingRequest], *, instructions: str = ""
    ) -> list[GroupName]:
        """Name groups concurrently from central and boundary texts, contrast texts and the
        sibling names to differ from; replies follow `group_name_schema` and are cached."""
        for index, request in enumerate(requests):
            if not request.central:
                raise LabelerError(f"group #{index} has no texts to name")

        def one(request: NamingRequest) -> GroupName:
            return self._group_name(self._cluster_messages(request, instructions))

        return self._map(one, list(requests), "naming groups")

    # -- labelling ------------------------------------------------------------
    def _assign_messages(
        self,
        text: str,
        label_set: Sequence[LabelDefinition],
        context: str | None,
        instructions: str,
        attribute_choices: Mapping[str, Sequence[str]],
    ) -> list[dict[str, str]]:
        codebook = "\n".join(_describe_label(label) for label in label_set)
        user = f"Codebook:\n{codebook}\n"
        if attribute_choices:
            user += (
                "\nFor each label also give:\n"
                + "\n".join(
                    f"- {name}: one of {', '.join(choices)}"
                    for name, choices in attribute_choices.items()
                )
                + "\n"
            )
        if instructions:
            user += f"\nInstructions: {instructions}\n"
        if context:
            user += f"\nContext (do not label this):\n{_clip(context, MAX_TEXT_CHARS)}\n"
        user += f'\nText to label:\n"""{_clip(text, MAX_TEXT_CHARS)}"""\n'
        fields = [
            '"name": one of ' + ", ".join(json.dumps(x.name) for x in label_set),
            '"evidence": exact words from the text',
            '"confidence": 0 to 1',
            '"rationale": why',
        ]
        fields += [
            f'"{name}": one of ' + ", ".join(json.dumps(c) for c in values)
            for name, values in attribute_choices.items()
        ]
        user += (
            '\nReply with JSON: {"labels": [ {'
            + "; ".join(fields)
            + "} for each label that applies ]}"
        )
        return [{"role": "system", "content": ASSIGN_SYSTEM}, {"role": "user", "content": user}]

    def assign_labels(
        self,
        texts: Sequence[str],
        label_set: Sequence[LabelDefinition],
        *,
        context: Sequence[str] | None = None,
        instructions: str = "",
        attribute_choices: dict[str, Sequence[str]] | None = None,
    ) -> list[AssignmentResult]:
        """One call per text (cached), concurrently; labels and attributes validated against the set."""
        if not label_set:
            raise LabelerError("assign_labels needs a non-empty label set")
        if context is not None and len(context) != len(texts):
            raise LabelerError(
                f"context has {len(context)} entries for {len(texts)} texts; expected one per text"
            )
        choices = {k: tuple(v) for k, v in (attribute_choices or {}).items()}
        for attribute, values in choices.items():
            if not values:
                raise LabelerError(f"attribute {attribute!r} has no choices")
        schema = assignment_schema(label_set, choices, self.max_field_chars)

        def one(index: int) -> AssignmentResult:
            text = texts[index]
            if not text.strip():
                return AssignmentResult(labels=(), labeler=self.name)
            messages = self._assign_messages(
                text,
                label_set,
                context[index] if context is not None else None,
                instructions,
                choices,
            )
            labels = self.client.complete_json(
                messages,
                schema,
                "label_assignment",
                make_assignment_validator(text, label_set, choices),
            )
            return AssignmentResult(labels=tuple(labels), labeler=self.name)

        return self._map(one, list(range(len(texts))), "labelling")

    # -- concurrency ----------------------------------------------------------
    def _map(self, work: Callable[[Any], T], items: list[Any], desc: str) -> list[T]:
        """Run `work` over items with bounded concurrency; usage is recorded however it ends.

        When the budget runs out, in-flight calls finish (and are cached) before
        BudgetExhausted is raised with how much was done.
        """
        results: list[T | None] = [None] * len(items)
        budget_error: BudgetExhausted | None = None
        other_error: BaseException | None = None
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="llm") as pool:
                futures = {pool.submit(work, item): i for i, item in enumerate(items)}
                disable = (
                    (not self.show_progress)
                    if self.show_progress is not None
                    else (True if len(items) < 5 else None)
                )
                with tqdm(
                    total=len(items), desc=f"{desc} ({self.name})", unit="call", disable=disable
                ) as bar:
                    for future in list(futures):
                        try:
                            results[futures[future]] = future.result()
                        except BudgetExhausted as exc:
                            budget_error = budget_error or exc
                        except BaseException as exc:
                            other_error = other_error or exc
                            for pending in futures:
                                pending.cancel()
                        bar.update(1)
        finally:
            self.client.record_usage(self.run_id)
        if other_error is not None:
            raise other_error
        if budget_error is not None:
            done = sum(r is not None for r in results)
            raise BudgetExhausted(
                f"{budget_error} ({done} of {len(items)} items done this run)"
            ) from budget_error
        return [r for r in results if r is not None]
