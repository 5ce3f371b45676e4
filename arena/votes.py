"""A rater's vote as a canonical interaction record, and the tokens of personal links (pure)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

# What a rater can answer, the key that casts it, and the label shown on its button.
CHOICES: dict[str, tuple[str, str]] = {
    "a": ("A", "A is better"),
    "b": ("B", "B is better"),
    "tie": ("T", "Tie"),
    "both_bad": ("X", "Both are bad"),
}
# The canonical `winner` of each choice: "both bad" is a tie (as Chatbot Arena counts it) with
# `both_bad: true` in the record's extra fields, so rankings treat it as a tie and it stays
# countable on its own.
WINNER_OF_CHOICE = {"a": "model_a", "b": "model_b", "tie": "tie", "both_bad": "tie"}


def new_token() -> str:
    """A personal link's secret: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the store keeps of a token: its SHA-256 (a leaked database reveals no link)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def vote_id(campaign: str, rater: str, pair_id: str) -> str:
    """The id of a rater's vote on one pair of a campaign: the same however often it is sent,
    so a reload, a double click or a second tab cannot store it twice."""
    material = f"{campaign}\x1f{rater}\x1f{pair_id}".encode()
    return "arena_" + hashlib.sha256(material).hexdigest()[:24]


def attention_passed(choice: str, bad_side: str | None) -> bool:
    """An attention pair is passed when the rater prefers the answer that is not the bad one."""
    return bad_side in ("a", "b") and choice == ("b" if bad_side == "a" else "a")


def vote_record(
    pair: dict[str, Any],
    *,
    campaign: str,
    rater: str,
    choice: str,
    reason: str | None,
    voted_at: datetime,
    shown_at: datetime | None,
    mode: str = "replay",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The canonical record of one vote on `pair` (a row of arena_pairs).

    model_a is always the system shown as A (left), model_b the one shown as B (right). An
    attention pair is not a vote on its systems (one answer was planted): it is stored without
    a winner or texts, with the rater's choice and whether it passed, so rankings never see it
    while the rater checks can."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}; expected one of {', '.join(CHOICES)}")
    record: dict[str, Any] = {
        "id": vote_id(campaign, rater, pair["pair_id"]),
        "timestamp": voted_at,
        "user_id": rater,
        "model_a": pair["model_a"],
        "model_b": pair["model_b"],
        "arena_campaign": campaign,
        "arena_pair": pair["pair_id"],
        "arena_mode": mode,
        "arena_choice": choice,
        "arena_side_order": "model_a shown as A (left), model_b as B (right)",
    }
    if shown_at is not None:
        if shown_at.tzinfo is None:  # SQLite returns stored times without their zone (UTC)
            shown_at = shown_at.replace(tzinfo=UTC)
        record["arena_vote_seconds"] = round(max((voted_at - shown_at).total_seconds(), 0.0), 3)
    if pair.get("attention"):
        record["arena_attention"] = True
        record["arena_attention_passed"] = attention_passed(choice, pair.get("bad_side"))
        return record
    record.update(
        query_text=pair.get("query_text"),
        query_audio=pair.get("query_audio"),
        response_a=pair["response_a"],
        response_b=pair["response_b"],
        response_audio_a=pair.get("response_audio_a"),
        response_audio_b=pair.get("response_audio_b"),
        winner=WINNER_OF_CHOICE[choice],
        feedback=(reason or "").strip() or None,
    )
    if choice == "both_bad":
        record["both_bad"] = True
    if pair.get("interaction_id"):
        record["arena_source_interaction"] = pair["interaction_id"]
    record.update(extra or {})
    return record


def turn_vote_id(campaign: str, rater: str, battle_id: str, turn: int) -> str:
    """The id of one turn of a rater's conversation: `<vote id of the battle>:t<n>` (the
    canonical record's turn-id rule), the same however often it is sent."""
    return f"{vote_id(campaign, rater, battle_id)}:t{turn}"


def conversation_records(
    battle: dict[str, Any],
    turns: list[int],
    *,
    campaign: str,
    rater: str,
    choice: str,
    reason: str | None,
    voted_at: datetime,
    shown_at: datetime | None,
) -> list[dict[str, Any]]:
    """The flat canonical rows of a live conversation's `turns` (numbers from 1), the last of
    them carrying the vote: after the last turn (a vote per conversation: all turns are written
    at once) or on one turn (a vote per turn: that turn's row). conversation_id is the battle id;
    every row keeps its turn's question, both answers (text, and audio when spoken) and timings.

    `battle`: model_a, model_b, battle_id, turns (a list of dicts with query_text, query_audio,
    response_a, response_b, response_audio_a/_b and `extra` per turn)."""
    if choice not in CHOICES:
        raise ValueError(f"unknown choice {choice!r}; expected one of {', '.join(CHOICES)}")
    rows = []
    for number in turns:
        turn = battle["turns"][number - 1]
        row: dict[str, Any] = {
            "id": turn_vote_id(campaign, rater, battle["battle_id"], number),
            "conversation_id": battle["battle_id"],
            "turn": number,
            "timestamp": voted_at,
            "user_id": rater,
            "model_a": battle["model_a"],
            "model_b": battle["model_b"],
            "query_text": turn.get("query_text"),
            "query_audio": turn.get("query_audio"),
            "response_a": turn["response_a"],
            "response_b": turn["response_b"],
            "response_audio_a": turn.get("response_audio_a"),
            "response_audio_b": turn.get("response_audio_b"),
            "arena_campaign": campaign,
            "arena_pair": battle["battle_id"],
            "arena_mode": "live",
            "arena_side_order": "model_a shown as A (left), model_b as B (right)",
            **(turn.get("extra") or {}),
        }
        if number == turns[-1]:
            row.update(
                winner=WINNER_OF_CHOICE[choice],
                feedback=(reason or "").strip() or None,
                arena_choice=choice,
            )
            if choice == "both_bad":
                row["both_bad"] = True
            if shown_at is not None:
                if shown_at.tzinfo is None:
                    shown_at = shown_at.replace(tzinfo=UTC)
                seconds = max((voted_at - shown_at).total_seconds(), 0.0)
                row["arena_vote_seconds"] = round(seconds, 3)
        rows.append({k: v for k, v in row.items() if v is not None})
    return rows
