"""Conversations in input files: the nested `turns` shape expanded into flat turn records, and the
checks that need every turn of a conversation (turns 1..n, the same two models throughout).

A flat record is a turn when it has `conversation_id` and `turn` (`records.normalise_record`
checks each one alone); `ConversationCheck` collects the turns of a file (or of a batch of
records written by the rater app) and, before the transaction commits, checks each conversation
together with its turns already stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from arenalens.errors import IngestError
from arenalens.ingest.records import (
    NormalisedRecord,
    content_hash,
    derived_id,
    quote,
    shown_conversation,
)
from arenalens.store import tables as t

TURNS_FIELD = "turns"
# Fields of a nested record that go on its last turn only (the vote after the conversation).
LAST_TURN_FIELDS = ("winner", "feedback")
SIDES = ("model_a", "model_b")
LOOKUP_BATCH = 1000  # conversation ids per stored-turns query


def is_nested_conversation(raw: Any) -> bool:
    """A record in the nested shape: an object whose `turns` is a list (any other `turns`, e.g.
    a count in an older export, stays a metadata field as before)."""
    return isinstance(raw, dict) and isinstance(raw.get(TURNS_FIELD), list)


def expand_records(
    located: Iterable[tuple[str, Any]], occurrences: Counter[str]
) -> Iterator[tuple[str, Any]]:
    """(location, record) pairs with each nested conversation replaced by its flat turns."""
    for where, raw in located:
        if is_nested_conversation(raw):
            yield from expand_conversation(raw, where, occurrences)
        else:
            yield where, raw


def expand_conversation(
    raw: dict[str, Any], where: str, occurrences: Counter[str] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """One nested conversation as its flat turns, each located "`where` turn n".

    Top-level fields apply to every turn; a top-level `winner`/`feedback` goes on the last turn.
    The conversation id is `conversation_id`, else `id`, else derived from the record's content
    (`c_...`, counted like `records.derived_id`); a turn's id is `<id or conversation_id>:t<n>`
    unless the turn names its own."""
    turns = raw[TURNS_FIELD]
    if not turns:
        raise IngestError(f"{where}: field 'turns': an empty list; expected at least one turn")
    if raw.get("turn") is not None:
        raise IngestError(
            f"{where}: field 'turn': a record with 'turns' numbers its turns by position; "
            "leave 'turn' out"
        )
    shared = {k: v for k, v in raw.items() if k not in (TURNS_FIELD, "id", *LAST_TURN_FIELDS)}
    record_id = _plain_id(raw.get("id"))
    conversation_id = _plain_id(raw.get("conversation_id")) or record_id
    if conversation_id is None:
        digest = content_hash({"conversation": raw})
        occurrence = 1
        if occurrences is not None:
            occurrences[digest] += 1
            occurrence = occurrences[digest]
        conversation_id = "c_" + derived_id(digest, occurrence)[2:]
    shared["conversation_id"] = conversation_id
    prefix = record_id or (conversation_id if raw.get("conversation_id") is not None else None)
    flat = []
    for number, turn in enumerate(turns, start=1):
        at = f"{where} turn {number}"
        if not isinstance(turn, dict):
            raise IngestError(
                f"{at}: expected an object (query_text or query_audio, response_a, response_b, "
                f"...), got {type(turn).__name__}"
            )
        given = turn.get("turn")
        if given is not None and str(given).strip() != str(number):
            raise IngestError(
                f"{at}: conversation {shown_conversation(conversation_id)}: turns out of "
                f"order: turn {number} of the list says 'turn': {quote(given)}"
            )
        if turn.get("conversation_id") not in (None, raw.get("conversation_id"), conversation_id):
            raise IngestError(
                f"{at}: field 'conversation_id': {quote(turn['conversation_id'])} differs from "
                f"the conversation's {quote(conversation_id)}"
            )
        record = {**shared, **turn, "turn": number}
        if "id" not in turn and prefix is not None:
            record["id"] = f"{prefix}:t{number}"
        flat.append((at, record))
    last_at, last = flat[-1]
    for name in LAST_TURN_FIELDS:
        if raw.get(name) is None:
            continue
        if last.get(name) is not None:
            raise IngestError(
                f"{last_at}: field '{name}': given for the conversation and for its last turn; "
                "give one"
            )
        last[name] = raw[name]
    return flat


def _plain_id(value: Any) -> str | None:
    """An id field as the text it becomes (`records._as_text` checks it later)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class TurnSeen:
    """One turn of a conversation as the check needs it."""

    interaction_id: str
    turn: int
    model_a: str | None
    model_b: str | None
    where: str  # the record's location, or "stored" for a turn of an earlier ingest


class ConversationCheck:
    """Collects the turns of one ingest and checks each conversation as a whole."""

    def __init__(self) -> None:
        self.turns: dict[str, dict[str, TurnSeen]] = {}

    def add(self, records: Sequence[NormalisedRecord]) -> None:
        for record in records:
            row = record.interaction
            if row is None or row.get("conversation_id") is None:
                continue
            seen = self.turns.setdefault(row["conversation_id"], {})
            seen[record.interaction_id] = TurnSeen(
                record.interaction_id,
                int(row["turn"]),
                row.get("model_a"),
                row.get("model_b"),
                record.location,
            )

    def check(self, conn: Connection) -> int:
        """Check every conversation seen (with its stored turns); returns how many there were.
        Call inside the ingest's transaction, after its rows are written."""
        stored = self._stored_turns(conn, list(self.turns))
        for conversation_id, mine in self.turns.items():
            turns = {**stored.get(conversation_id, {}), **mine}
            check_conversation(conversation_id, list(turns.values()))
        return len(self.turns)

    @staticmethod
    def _stored_turns(conn: Connection, ids: list[str]) -> dict[str, dict[str, TurnSeen]]:
        c = t.interactions.c
        found: dict[str, dict[str, TurnSeen]] = {}
        for start in range(0, len(ids), LOOKUP_BATCH):
            part = ids[start : start + LOOKUP_BATCH]
            rows = conn.execute(
                select(c.id, c.conversation_id, c.turn, c.model_a, c.model_b).where(
                    c.conversation_id.in_(part)
                )
            )
            for interaction_id, conversation_id, turn, model_a, model_b in rows:
                found.setdefault(conversation_id, {})[interaction_id] = TurnSeen(
                    interaction_id, int(turn), model_a, model_b, "stored"
                )
        return found


def check_conversation(conversation_id: str, turns: list[TurnSeen]) -> None:
    """Turns numbered 1..n without gaps or repeats, and the same model on each side throughout;
    otherwise IngestError naming the conversation (at the first of its records in the input)."""
    turns = sorted(turns, key=lambda seen: (seen.turn, seen.where == "stored"))
    located = [seen for seen in turns if seen.where != "stored"]
    where = (located or turns)[0].where
    name = shown_conversation(conversation_id)
    numbers = [seen.turn for seen in turns]
    if numbers != list(range(1, len(numbers) + 1)):
        listed = ", ".join(map(str, numbers[:20])) + (", ..." if len(numbers) > 20 else "")
        raise IngestError(f"{where}: conversation {name}: turns out of order: {listed}")
    first: dict[str, TurnSeen] = {}
    for seen in turns:
        for side in SIDES:
            model = getattr(seen, side)
            if model is None:
                continue
            before = first.setdefault(side, seen)
            if getattr(before, side) != model:
                at = seen.where if seen.where != "stored" else where
                raise IngestError(
                    f"{at}: conversation {name}: sides change models mid-way (turn {seen.turn}: "
                    f"{side} is {quote(model)}, turn {before.turn} had "
                    f"{quote(getattr(before, side))})"
                )
