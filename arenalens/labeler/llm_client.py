"""JSON-structured chat completions from any OpenAI-compatible endpoint, cached and budgeted.

Retries are done here (the `openai` client runs with `max_retries=0`) so they are visible
and testable: 408/409/429/5xx, timeouts and connection errors back off exponentially with
jitter, waiting at least what a `Retry-After` header asks. A refused connection (nothing
listening) or an unknown host is retried once. Nothing hangs: every request's timeout is cut
to what is left of the run's deadline (`llm_deadline_s`), and a circuit breaker stops the run
after `llm_max_consecutive_failures` failed attempts in a row. Retries are logged at debug
level; a person sees one line when the endpoint first fails. The API key is read from the
environment at client creation, handed to `openai` only, and scrubbed from every message.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select

from arenalens.labeler.base import BudgetExhausted, EndpointUnavailable, LabelerError
from arenalens.labeler.llm_failures import describe_failure, is_unreachable, retry_after_s
from arenalens.labeler.llm_replies import (
    InvalidOutput,
    cache_key,
    grammar_ready,
    parse_json_reply,
    strip_bounds,
)
from arenalens.store import tables as t
from arenalens.store.store import utcnow

if TYPE_CHECKING:
    from arenalens.config import Settings
    from arenalens.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

DUMMY_API_KEY = "not-needed"  # local servers (llama.cpp, vLLM, Ollama) accept any key
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER_S = 120.0
# Structured-output modes, best first; a server that rejects one is asked with the next.
RESPONSE_FORMATS = ("json_schema", "json_object_schema", "json_object", "text")


class LLMClient:
    """Asks for JSON matching a schema; validates, re-asks once, retries, caches, budgets."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        store: Store | None = None,
        api_key_env: str = "ARENALENS_LLM_API_KEY",
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        max_calls: int | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        max_output_tokens: int = 1024,
        backoff_base_s: float = 1.0,
        backoff_max_s: float = 30.0,
        deadline_s: float | None = None,
        max_consecutive_failures: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        """`deadline_s`: seconds the client may spend from its first request (None: no limit);
        `max_consecutive_failures`: failed attempts in a row that stop it (None: no breaker)."""
        import openai

        from arenalens.config import check_http_url

        check_http_url("llm_base_url", base_url)
        self.base_url = base_url
        self.model = model
        self.store = store
        self.max_retries = max_retries
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_output_tokens = max_output_tokens
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.sleep = sleep
        self.clock = clock
        self.timeout_s = timeout_s
        self.deadline_s = deadline_s
        self.max_consecutive_failures = max_consecutive_failures
        self._started: float | None = None
        self._failures_in_a_row = 0
        self._stopped: EndpointUnavailable | None = None
        self._warned = False
        self._secret = api_key or None
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or DUMMY_API_KEY,
            timeout=timeout_s,
            max_retries=0,
        )
        self._format_index = 0
        self._lock = threading.Lock()
        self._reserved_calls = 0
        self._usage = {"calls": 0, "cached_calls": 0, "prompt_tokens": 0, "completion_tokens": 0}
        self._recorded = dict(self._usage)
        self.api_key_env = api_key_env

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None, **kwargs: Any) -> LLMClient:
        """A client for `settings.llm_base_url` / `llm_model`, key from `llm_api_key_env`."""
        if not settings.llm_base_url or not settings.llm_model:
            raise LabelerError(
                "the llm labeler needs an endpoint and a model: set llm_base_url and llm_model "
                "(flags --llm-base-url/--llm-model, env ARENALENS_LLM_BASE_URL/ARENALENS_LLM_MODEL)"
            )
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            store=store,
            api_key_env=settings.llm_api_key_env,
            api_key=settings.llm_api_key,
            timeout_s=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            max_calls=settings.llm_max_calls,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            deadline_s=settings.llm_deadline_s,
            max_consecutive_failures=settings.llm_max_consecutive_failures,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.base_url!r}, model={self.model!r})"

    # -- public ---------------------------------------------------------------
    def usage(self) -> dict[str, int]:
        """Calls (billed replies), cache hits and tokens since this client was made."""
        with self._lock:
            return dict(self._usage)

    def record_usage(self, run_id: int | None = None) -> dict[str, int] | None:
        """Write usage since the last record as one `llm_usage` row; returns it (None if idle)."""
        with self._lock:
            delta = {k: self._usage[k] - self._recorded[k] for k in self._usage}
            self._recorded = dict(self._usage)
        if self.store is None or not any(delta.values()):
            return None
        row = {"run_id": run_id, "model": self.model, "recorded_at": utcnow(), **delta}
        with self.store.transaction() as conn:
            conn.execute(t.llm_usage.insert().values(**row))
        return delta

    def complete_json(
        self,
        messages: Sequence[Mapping[str, str]],
        schema: Mapping[str, Any],
        schema_name: str,
        validate: Callable[[Any], T],
    ) -> T:
        """The validated reply to `messages`, from the cache when the same request was made before.

        `validate` turns parsed JSON into the result or raises ValueError; an invalid reply is
        re-asked once with the error, then a LabelerError is raised.
        """
        params = {"temperature": self.temperature, "max_tokens": self.max_output_tokens}
        key = cache_key(self.model, messages, schema, params)
        cached = self._cache_get(key)
        if cached is not None:
            try:
                result = validate(cached)
            except ValueError:
                log.warning("ignoring a cached reply that no longer validates (key %s)", key[:12])
            else:
                with self._lock:
                    self._usage["cached_calls"] += 1
                return result
        tokens = [0, 0]
        error: Exception | None = None
        for _ in range(2):  # a second round only after stepping down from json_schema
            mode = RESPONSE_FORMATS[self._format_index]
            conversation = [dict(m) for m in messages]
            unparsed = 0
            for ask in range(2):
                content, prompt_tokens, completion_tokens = self._send(
                    conversation, schema, schema_name
                )
                tokens[0] += prompt_tokens
                tokens[1] += completion_tokens
                try:
                    try:
                        parsed = parse_json_reply(content)
                    except ValueError:
                        unparsed += 1
                        raise
                    result = validate(parsed)
                except ValueError as exc:
                    error = exc
                    log.info(
                        "invalid reply from %s (ask %d): %s",
                        self.model,
                        ask + 1,
                        self._scrub(str(exc)),
                    )
                    conversation += [
                        {"role": "assistant", "content": content or ""},
                        {
                            "role": "user",
                            "content": f"That reply was invalid: {exc}. Reply again with only a "
                            f"JSON object that follows the schema exactly.",
                        },
                    ]
                    continue
                self._cache_put(key, parsed, *tokens)
                return result
            if not self._step_down_after_unparsed(mode, unparsed):
                break
        raise LabelerError(
            f"{self.model} at {self.base_url} gave invalid output twice for {schema_name}: "
            f"{self._scrub(str(error))}"
        )

    # -- cache ----------------------------------------------------------------
    def _cache_get(self, key: str) -> Any:
        if self.store is None:
            return None
        return self.store.read_scalar(
            select(t.llm_cache.c.response).where(t.llm_cache.c.key == key)
        )

    def _cache_put(
        self, key: str, response: Any, prompt_tokens: int, completion_tokens: int
    ) -> None:
        if self.store is None:
            return
        row = {
            "key": key,
            "model": self.model,
            "response": response,
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "created_at": utcnow(),
        }
        self.store.insert_ignore(t.llm_cache, [row])

    # -- budget ---------------------------------------------------------------
    def _reserve_call(self) -> None:
        with self._lock:
            if self.max_calls is not None and self._reserved_calls >= self.max_calls:
                raise BudgetExhausted(
                    f"LLM budget spent: {self.max_calls} calls (llm_max_calls); finished work is "
                    f"cached, rerun with a larger budget to resume"
                )
            spent = self._usage["prompt_tokens"] + self._usage["completion_tokens"]
            if self.max_tokens is not None and spent >= self.max_tokens:
                raise BudgetExhausted(
                    f"LLM budget spent: {spent} of {self.max_tokens} tokens (llm_max_tokens); "
                    f"finished work is cached, rerun with a larger budget to resume"
                )
            self._reserved_calls += 1

    def _release_call(self) -> None:
        with self._lock:
            self._reserved_calls -= 1

    def _step_down_after_unparsed(self, mode: str, unparsed: int) -> bool:
        """Some servers (older llama.cpp) silently ignore a json_schema response_format and
        reply with free text: after two replies that are not JSON at all, use the next
        structured-output mode (a grammar from the schema) for this and later requests."""
        if mode != "json_schema" or unparsed < 2:
            return False
        with self._lock:
            if RESPONSE_FORMATS[self._format_index] == mode:
                self._format_index += 1
        log.info(
            "%s ignored response_format %s; trying %s",
            self.base_url,
            mode,
            RESPONSE_FORMATS[self._format_index],
        )
        return True

    # -- transport ------------------------------------------------------------
    def _format_kwargs(
        self, mode: str, schema: Mapping[str, Any], schema_name: str
    ) -> dict[str, Any]:
        if mode == "json_schema":
            spec = {"name": schema_name, "schema": strip_bounds(schema), "strict": True}
            return {"response_format": {"type": "json_schema", "json_schema": spec}}
        if mode == "json_object_schema":  # llama.cpp / Anyscale extension: grammar from schema
            return {"response_format": {"type": "json_object", "schema": grammar_ready(schema)}}
        if mode == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {}

    def _is_format_rejection(self, exc: Exception, mode: str) -> bool:
        """Whether an error says the server cannot do this structured-output mode."""
        status = getattr(exc, "status_code", None)
        if mode == "text" or status is None:
            return False
        message = str(exc).lower()
        mentions = any(
            w in message
            for w in ("response_format", "json_schema", "json_object", "schema", "grammar")
        )
        return mentions and (status in (400, 415, 422, 501) or status >= 500)

    def _send(
        self, messages: list[dict[str, str]], schema: Mapping[str, Any], schema_name: str
    ) -> tuple[str | None, int, int]:
        import openai

        attempt = 0
        while True:
            mode = RESPONSE_FORMATS[self._format_index]
            timeout = self._request_timeout()
            self._reserve_call()
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=self.temperature,
                    max_tokens=self.max_output_tokens,
                    timeout=timeout,
                    **self._format_kwargs(mode, schema, schema_name),
                )
            except openai.APIStatusError as exc:
                self._release_call()
                if self._is_format_rejection(exc, mode):
                    with self._lock:
                        if RESPONSE_FORMATS[self._format_index] == mode:
                            self._format_index += 1
                    log.info(
                        "%s rejected response_format %s; trying %s",
                        self.base_url,
                        mode,
                        RESPONSE_FORMATS[self._format_index],
                    )
                    continue
                if exc.status_code not in RETRYABLE_STATUS:
                    self._note_success()  # it answered: the endpoint is up
                    raise LabelerError(
                        f"{self.base_url} refused the request ({exc.status_code}): {self._scrub(str(exc))}"
                    ) from None
                retry_after = retry_after_s(exc.response.headers)
                attempt = self._back_off(attempt, exc, retry_after, counts=exc.status_code != 429)
                continue
            except (
                openai.APITimeoutError,
                openai.APIConnectionError,
                openai.APIResponseValidationError,
                json.JSONDecodeError,  # a body that is not JSON at all (proxy error page)
            ) as exc:
                self._release_call()
                attempt = self._back_off(attempt, exc, None)
                continue
            self._note_success()
            usage = response.usage
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
            with self._lock:
                self._usage["calls"] += 1
                self._usage["prompt_tokens"] += prompt_tokens
                self._usage["completion_tokens"] += completion_tokens
            content = response.choices[0].message.content if response.choices else None
            return content, prompt_tokens, completion_tokens

    # -- deadline and circuit breaker -------------------------------------------
    def _remaining_s(self) -> float | None:
        """Seconds left of the run's deadline (None: no deadline); starts the clock."""
        if self.deadline_s is None:
            return None
        with self._lock:
            if self._started is None:
                self._started = self.clock()
            return self.deadline_s - (self.clock() - self._started)

    def _request_timeout(self) -> float:
        """The next request's timeout: `timeout_s`, cut to what is left of the deadline."""
        if self._stopped is not None:
            raise self._stopped
        remaining = self._remaining_s()
        if remaining is not None and remaining <= 0:
            self._stop(self._deadline_message())
        return self.timeout_s if remaining is None else max(0.001, min(self.timeout_s, remaining))

    def _deadline_message(self) -> str:
        return (
            f"stopped: the run reached its deadline of {self.deadline_s:g} s waiting on "
            f"{self.base_url} (llm_deadline_s); replies received so far are cached, so a rerun "
            "resumes from them"
        )

    def _stop(self, message: str) -> None:
        """Open the circuit: this and every later request of the run raise EndpointUnavailable."""
        with self._lock:
            if self._stopped is None:
                self._stopped = EndpointUnavailable(message)
            stopped = self._stopped
        raise stopped

    def _note_success(self) -> None:
        with self._lock:
            self._failures_in_a_row = 0

    def _back_off(
        self, attempt: int, exc: Exception, retry_after: float | None, *, counts: bool = True
    ) -> int:
        """Sleep before the next attempt (or raise when retries are spent); returns attempt + 1.

        `counts`: whether this failure counts towards the circuit breaker (rate limits do not:
        the endpoint answered)."""
        reason = describe_failure(exc, self._scrub)
        unreachable = is_unreachable(exc)
        with self._lock:
            if counts:
                self._failures_in_a_row += 1
            in_a_row = self._failures_in_a_row
            first_warning = not self._warned
            self._warned = True
        if self.max_consecutive_failures is not None and in_a_row >= self.max_consecutive_failures:
            self._stop(
                f"stopped after {in_a_row} failed attempts in a row at {self.base_url} "
                f"(llm_max_consecutive_failures); last: {reason}; replies received so far are "
                "cached, so a rerun resumes once the endpoint answers"
            )
        limit = min(1, self.max_retries) if unreachable else self.max_retries
        if attempt >= limit:
            if unreachable:
                raise EndpointUnavailable(
                    f"cannot reach {self.base_url} ({reason}); start the server or check "
                    "llm_base_url (--llm-base-url)"
                ) from None
            raise LabelerError(
                f"{self.base_url} failed after {attempt + 1} attempts (llm_max_retries="
                f"{self.max_retries}); last error {reason}"
            ) from None
        delay = min(self.backoff_max_s, self.backoff_base_s * 2**attempt) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        remaining = self._remaining_s()
        if remaining is not None and delay >= remaining:
            self._stop(self._deadline_message())
        if first_warning:  # one line for the person; the rest at debug level
            log.warning(
                "%s is failing (%s); retrying %s per request (details at debug level)",
                self.base_url,
                reason,
                "once" if limit == 1 else f"up to {limit} times",
            )
        log.debug("%s: %s; retry %d/%d in %.2fs", self.base_url, reason, attempt + 1, limit, delay)
        self.sleep(delay)
        return attempt + 1

    def _scrub(self, message: str) -> str:
        """`message` with the API key masked (servers sometimes echo it in errors)."""
        if self._secret and len(self._secret) >= 4:
            message = message.replace(self._secret, "***")
        return message


__all__ = ["InvalidOutput", "LLMClient", "cache_key", "parse_json_reply"]
