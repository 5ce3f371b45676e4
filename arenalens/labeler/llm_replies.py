"""Structured replies from chat models: schema preparation, JSON parsing, the cache key."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_BOUND_KEYWORDS = {"maxLength", "minLength", "maxItems", "minItems", "minimum", "maximum"}


class InvalidOutput(ValueError):
    """The model's reply is not JSON of the requested shape."""


def strip_bounds(schema: Any) -> Any:
    """The schema without length/range keywords (OpenAI's strict mode rejects some of them)."""
    if isinstance(schema, Mapping):
        return {k: strip_bounds(v) for k, v in schema.items() if k not in _BOUND_KEYWORDS}
    if isinstance(schema, list):
        return [strip_bounds(v) for v in schema]
    return schema


def grammar_ready(schema: Any) -> Any:
    """The schema with each bounded number turned into an enum of 0.05 steps.

    llama.cpp's grammar ignores minimum/maximum, so a confidence of 2.5 would pass the
    grammar and fail validation; an enum of allowed values is enforced.
    """
    if isinstance(schema, list):
        return [grammar_ready(v) for v in schema]
    if not isinstance(schema, Mapping):
        return schema
    if schema.get("type") == "number" and "minimum" in schema and "maximum" in schema:
        low, high = float(schema["minimum"]), float(schema["maximum"])
        steps = max(1, round((high - low) / 0.05))
        return {"enum": [round(low + k * (high - low) / steps, 4) for k in range(steps + 1)]}
    return {k: grammar_ready(v) for k, v in schema.items()}


def parse_json_reply(content: str | None) -> Any:
    """The JSON object in a reply, tolerating Markdown code fences and text around it."""
    if content is None or not content.strip():
        raise InvalidOutput("the reply was empty")
    body = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1).strip()
    try:
        return json.loads(body, strict=False)  # raw newlines inside strings too
    except json.JSONDecodeError:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(body[start : end + 1], strict=False)
            except json.JSONDecodeError:
                pass
    raise InvalidOutput(f"the reply is not valid JSON: {content[:200]!r}")


def cache_key(
    model: str, messages: Sequence[Mapping[str, str]], schema: Any, params: Mapping[str, Any]
) -> str:
    """sha256 over everything that determines a reply: model, messages, schema, parameters."""
    payload = json.dumps(
        {"model": model, "messages": list(messages), "schema": schema, "params": dict(params)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
