"""Why a call to a chat endpoint failed, in words, and how long the server asks us to wait."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says nothing listens there (refused) or the host name is unknown."""
    import socket

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError | socket.gaierror):
            return True
        text = str(current).lower()
        if "connection refused" in text or "name or service not known" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def describe_failure(exc: BaseException, scrub: Callable[[str], str]) -> str:
    """A short reason in words: 'timed out', 'connection refused', 'status 503', ..."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "no answer within the timeout"
    if is_unreachable(exc):
        return "connection refused or unknown host"
    if isinstance(exc, openai.APIStatusError):
        return f"status {exc.status_code}: {scrub(str(exc))[:160]}"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection error: {scrub(str(exc.__cause__ or exc))[:160]}"
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return "the reply was not the expected JSON"
    return f"{type(exc).__name__}: {scrub(str(exc))[:160]}"


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Seconds a `Retry-After` (or `retry-after-ms`) header asks to wait, if any."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
