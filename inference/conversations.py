"""Multi-turn inference: a system answers a conversation turn by turn, each turn after the
earlier ones, seeing what the user said and its own earlier answers (never the other side's)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from arenalens.ingest.records import shown_conversation

NO_TRANSCRIPT = "(a spoken message without a transcript)"


def turn_rounds(todo: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
    """Pending queries grouped by turn depth, shallowest first (a single-turn query is depth 1):
    every turn n is answered, and stored, before any turn n + 1 asks for its history."""
    depth = pd.to_numeric(todo["turn"], errors="coerce").fillna(1).astype(int)
    for value in sorted(depth.unique()):
        yield int(value), todo[depth == value].reset_index(drop=True)


def conversation_histories(
    turns: pd.DataFrame, pending: pd.DataFrame, system: str
) -> tuple[dict[str, tuple[tuple[str, str], ...]], list[tuple[str, str]]]:
    """For each pending turn, its conversation's earlier turns as (what the user said, what
    `system` answered) pairs, from `turns` (`persist.system_turns`); and (id, reason) for each
    pending turn an earlier turn of which `system` has not answered.

    What the user said is the text the system read then (its recorded input), else the typed
    or transcribed query."""
    histories: dict[str, tuple[tuple[str, str], ...]] = {}
    failed: list[tuple[str, str]] = []
    by_conversation = {key: group for key, group in turns.groupby("conversation_id")}
    for row in pending.itertuples():
        earlier = by_conversation.get(row.conversation_id)
        before = earlier[earlier["turn"] < row.turn] if earlier is not None else earlier
        pairs: list[tuple[str, str]] = []
        missing = None
        for turn in before.itertuples() if before is not None else ():
            if isinstance(turn.error, str) or not isinstance(turn.output_text, str):
                missing = turn.turn
                break
            said = turn.input_text if isinstance(turn.input_text, str) else turn.query
            pairs.append((said if isinstance(said, str) else NO_TRANSCRIPT, turn.output_text))
        if missing is not None:
            failed.append(
                (
                    row.interaction_id,
                    f"conversation {shown_conversation(row.conversation_id)}: turn {missing} "
                    f"has no answer from {system} yet",
                )
            )
        else:
            histories[row.interaction_id] = tuple(pairs)
    return histories, failed
