"""A model behind an OpenAI-compatible `/chat/completions` endpoint, streamed over SSE.

Works with OpenAI, vLLM, Ollama, llama.cpp's server and anything else that speaks the same
protocol. Only httpx is needed; the server-sent-events framing is parsed here (it is a few
lines, and owning it lets malformed streams fail with a precise message).
"""

from __future__ import annotations

import email.utils
import json
import os
import random
import re
import time
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

import anyio
import anyio.lowlevel
import httpx

from .._core.checks import check_int, check_number, check_type
from ._base import (
    ModelChunk,
    ModelRequest,
    TextChunk,
    ToolCallChunk,
    Usage,
    UsageChunk,
)
from ._errors import (
    ModelAuthError,
    ModelCapabilityError,
    ModelConnectionError,
    ModelContextLengthError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelResponseError,
    ModelServerError,
    ModelStatusError,
    ModelTimeoutError,
)

__all__ = ["OpenAICompatible", "OpenAICompatibleSpec", "parse_model_spec"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_EXCERPT = 200
_CONTEXT_LENGTH = re.compile(
    r"context_length_exceeded|exceed_context_size|maximum context length|context size",
    re.IGNORECASE,
)
"""How OpenAI, llama.cpp's server and vLLM say a prompt does not fit the context."""
_CONTEXT_LIMIT = re.compile(r'maximum context length is (\d+)|"n_ctx"\s*:\s*(\d+)')

# Looked up at call time so tests can replace it and assert the waits without wall time.
_sleep = anyio.sleep


class OpenAICompatibleSpec(TypedDict):
    """Keyword arguments for `OpenAICompatible`, as `parse_model_spec` returns them."""

    model: str
    base_url: str


def parse_model_spec(spec: str) -> OpenAICompatibleSpec | None:
    """Read a model spec string meant for `OpenAICompatible`; `None` if it is for another backend.

    - `"openai:gpt-4o-mini"` → OpenAI's API with that model.
    - `"http://127.0.0.1:8080/v1#my-model"` → that server, with the model named after `#`.
    """
    if spec.startswith("openai:"):
        model = spec.removeprefix("openai:").strip()
        if not model:
            raise ValueError(f"model spec {spec!r} names no model; write e.g. 'openai:gpt-4o-mini'")
        return OpenAICompatibleSpec(model=model, base_url=DEFAULT_BASE_URL)
    if spec.startswith(("http://", "https://")):
        base_url, _, model = spec.partition("#")
        if not model.strip():
            raise ValueError(
                f"model spec {spec!r} names no model; append it after '#', "
                f"e.g. '{base_url}#my-model'"
            )
        return OpenAICompatibleSpec(model=model.strip(), base_url=base_url.rstrip("/"))
    return None


def _check_options(
    *,
    model: str,
    base_url: object,
    api_key: object,
    temperature: object,
    max_tokens: object,
    max_retries: object,
    retry_base_delay: object,
    retry_max_delay: object,
    supports_grammar: object,
    include_usage: object,
) -> None:
    """`OpenAICompatible`'s arguments checked, each error naming the argument."""
    owner = "OpenAICompatible"
    check_type(owner, "model", model, str, "a model name (a string)")
    if not model.strip():
        raise ValueError(f"{owner}: model is empty; give the model's name, e.g. 'gpt-4o-mini'")
    check_type(owner, "base_url", base_url, str, "a URL (a string)")
    check_type(owner, "api_key", api_key, (str, type(None)), "a string or None")
    check_number(owner, "temperature", temperature, minimum=0, optional=True)
    check_int(owner, "max_tokens", max_tokens, minimum=1, optional=True)
    check_int(owner, "max_retries", max_retries, minimum=0)
    check_number(owner, "retry_base_delay", retry_base_delay, minimum=0)
    check_number(owner, "retry_max_delay", retry_max_delay, minimum=0)
    check_type(owner, "supports_grammar", supports_grammar, bool, "True or False")
    check_type(owner, "include_usage", include_usage, bool, "True or False")


def _timeout_of(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    """The client's timeout: 10 s to connect and 120 s otherwise unless given."""
    if isinstance(timeout, (int, float)):
        check_number("OpenAICompatible", "timeout", timeout, positive=True)
    if timeout is None:
        return httpx.Timeout(120.0, connect=10.0)
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class OpenAICompatible:
    """A chat model served over an OpenAI-compatible HTTP API, streamed.

    `stream()` yields `TextChunk`s for `delta.content`, `ToolCallChunk`s for each
    `delta.tool_calls[]` fragment, and finally one `UsageChunk`. Usage comes from the server's
    `usage` object (requested with `stream_options.include_usage`); a server that sends none
    gets `Usage(reported=False)` (zero counts that mean "unknown"), not an estimate.

    Failures before the first chunk (429, 500, 502, 503, 504, connection errors) are retried
    up to `max_retries` times with exponential backoff and jitter, honouring `Retry-After`
    up to `retry_max_delay`. Once a chunk has been yielded nothing is retried: the error is
    raised, since the consumer has already acted on part of the output.

    Closing the generator (e.g. with `contextlib.aclosing`) closes the HTTP response at once.
    The instance owns an `httpx.AsyncClient` unless one is passed in; close it with `aclose()`
    or use the model as an async context manager.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        max_tokens: int | None = None,
        max_tokens_field: str = "max_tokens",
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 3,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        supports_grammar: bool = False,
        include_usage: bool = True,
    ) -> None:
        """
        Args:
            model: the model name the server knows (`gpt-4o-mini`, an Ollama tag, ...).
            base_url: the API root; `/chat/completions` is appended.
            api_key: sent as a bearer token; if omitted, read from `api_key_env`. Local
                servers usually need none, and then no `Authorization` header is sent.
            temperature: the default for requests that do not set one.
            stop: default stop sequences (a request's own are added to these).
            max_tokens: the default for requests that do not set one.
            max_tokens_field: the body field for `max_tokens` (`max_completion_tokens` for
                OpenAI's reasoning models).
            extra_body: merged into every request body last, so it can override anything.
            timeout: seconds or an `httpx.Timeout`; `read` bounds the wait for each chunk.
                Default: 10 s to connect, 120 s otherwise.
            client: an `httpx.AsyncClient` to use (not closed by this object).
            transport: a transport for the client this object creates (e.g.
                `httpx.MockTransport` in tests). Ignored when `client` is given.
            max_retries: retries after the first attempt, for retryable failures.
            retry_base_delay: backoff is `retry_base_delay * 2**attempt`, with jitter.
            retry_max_delay: caps the backoff, and a server's `Retry-After` too.
            supports_grammar: send `request.grammar` as a `grammar` body field (llama.cpp's
                server accepts it). Without it a request with a grammar is refused.
            include_usage: ask for token usage in the stream (`stream_options`); turn off for
                servers that reject the field.
        """
        _check_options(
            model=model,
            base_url=base_url,
            api_key=api_key,
            temperature=temperature,
            max_tokens=max_tokens,
            max_retries=max_retries,
            retry_base_delay=retry_base_delay,
            retry_max_delay=retry_max_delay,
            supports_grammar=supports_grammar,
            include_usage=include_usage,
        )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self._api_key_given = api_key is not None
        self._api_key = api_key if api_key is not None else os.environ.get(api_key_env) or None
        self.temperature = temperature
        self.stop = tuple(stop)
        self.max_tokens = max_tokens
        self.max_tokens_field = max_tokens_field
        self.extra_body = dict(extra_body or {})
        self.supports_grammar = supports_grammar
        self.include_usage = include_usage
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self._headers = dict(headers or {})
        self._timeout = _timeout_of(timeout)
        self._client = client
        self._owns_client = client is None
        self._client_loop: object = None
        self._transport = transport

    @property
    def name(self) -> str:
        """The spec string `parse_model_spec` reads back into this model."""
        if self.base_url == DEFAULT_BASE_URL:
            return f"openai:{self.model}"
        return f"{self.base_url}#{self.model}"

    def __repr__(self) -> str:
        return f"OpenAICompatible(model={self.model!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> OpenAICompatible:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client this object created (a client passed in is left open)."""
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def request_body(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body sent for `request` (public so callers can log or inspect it)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
        }
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        stop = list(dict.fromkeys((*self.stop, *request.stop)))
        if stop:
            body["stop"] = stop
        max_tokens = request.max_tokens if request.max_tokens is not None else self.max_tokens
        if max_tokens is not None:
            body[self.max_tokens_field] = max_tokens
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None:
            body["temperature"] = temperature
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
            # A plan is several calls in one reply; servers default to one (llama.cpp's).
            body["parallel_tool_calls"] = True
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": f"parcall_{request.purpose}",
                    "schema": request.json_schema,
                    "strict": True,
                },
            }
        if request.grammar is not None:
            if not self.supports_grammar:
                raise ModelCapabilityError(
                    f"{self.name} was not created with supports_grammar=True, so it cannot "
                    "constrain output with a grammar; use json_schema, or a llama.cpp server "
                    "with supports_grammar=True"
                )
            body["grammar"] = request.grammar
        body.update(self.extra_body)
        return body

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelChunk, None]:
        body = self.request_body(request)
        if self._api_key is None and self.base_url == DEFAULT_BASE_URL:
            raise ModelAuthError(
                f"no API key for {self.base_url}: set the {self.api_key_env} environment "
                "variable or pass api_key=",
                status_code=0,
            )
        client = self._get_client()
        url = f"{self.base_url}/chat/completions"
        headers = {"Accept": "text/event-stream", **self._headers}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"

        attempt = 0
        while True:
            streamed = False
            try:
                async with client.stream("POST", url, json=body, headers=headers) as response:
                    if response.is_success:
                        async with aclosing(self._read(response)) as chunks:
                            async for chunk in chunks:
                                streamed = True
                                yield chunk
                        return
                    error = await self._status_error(response)
                    if response.status_code not in RETRYABLE_STATUS or attempt >= self.max_retries:
                        raise error
                    delay = self._retry_delay(attempt, _retry_after(response))
            except httpx.TransportError as exc:
                if streamed:
                    raise self._connection_error(
                        exc, "while streaming; not retried because output was already yielded"
                    ) from exc
                if attempt >= self.max_retries:
                    raise self._connection_error(exc, f"after {attempt + 1} attempt(s)") from exc
                delay = self._retry_delay(attempt, None)
            except httpx.DecodingError as exc:
                raise ModelResponseError(f"{url}: could not decode the response: {exc}") from exc
            attempt += 1
            await _sleep(delay)

    def _get_client(self) -> httpx.AsyncClient:
        # A client's connections belong to the event loop that opened them: `run_sync` starts
        # a new loop per call, so a client we own is made anew when the loop changes.
        loop = anyio.lowlevel.current_token()
        if self._owns_client and self._client is not None and self._client_loop is not loop:
            self._client = None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, transport=self._transport)
            self._client_loop = loop
        return self._client

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_max_delay)
        backoff = min(self.retry_base_delay * 2.0**attempt, self.retry_max_delay)
        # Jitter spreads clients that failed together, so they do not retry together.
        return backoff * (0.5 + random.random() / 2)

    def _connection_error(self, exc: httpx.TransportError, when: str) -> ModelConnectionError:
        timed_out = isinstance(exc, httpx.TimeoutException)
        kind = ModelTimeoutError if timed_out else ModelConnectionError
        detail = str(exc) or type(exc).__name__
        return kind(f"{self.base_url}: {type(exc).__name__} {when}: {detail}")

    async def _status_error(self, response: httpx.Response) -> ModelStatusError:
        await response.aread()
        body = response.text
        status = response.status_code
        detail = _error_detail(body)
        where = f"{status} from {response.request.url}"
        if status in (401, 403):
            hint = (
                "the api_key passed was rejected"
                if self._api_key_given
                else f"set the {self.api_key_env} environment variable (or pass api_key=)"
                if self._api_key is None
                else f"the key in {self.api_key_env} was rejected"
            )
            return ModelAuthError(f"{where}: {hint}: {detail}", status_code=status, body=body)
        if status == 404:
            return ModelNotFoundError(
                f"{where}: model {self.model!r} or the endpoint was not found at base_url "
                f"{self.base_url!r}: {detail}",
                status_code=status,
                body=body,
            )
        if status == 429:
            return ModelRateLimitError(
                f"{where}: rate limited after {self.max_retries + 1} attempt(s): {detail}",
                status_code=status,
                body=body,
                retry_after=_retry_after(response),
            )
        if status == 400 and _CONTEXT_LENGTH.search(body):
            limit = _CONTEXT_LIMIT.search(body)
            return ModelContextLengthError(
                f"{where}: the prompt does not fit the model's context: {detail}",
                status_code=status,
                body=body,
                limit=int(limit.group(1) or limit.group(2)) if limit else None,
            )
        if status >= 500:
            return ModelServerError(
                f"{where}: server error after {self.max_retries + 1} attempt(s): {detail}",
                status_code=status,
                body=body,
            )
        return ModelStatusError(f"{where}: {detail}", status_code=status, body=body)

    async def _read(self, response: httpx.Response) -> AsyncGenerator[ModelChunk, None]:
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            # The server ignored `stream: true` and sent the whole completion at once.
            await response.aread()
            for chunk in _whole_completion_chunks(response.text, response):
                yield chunk
            return
        state = _StreamState()
        events = _SSEDecoder()
        # httpx returns an async generator; closing it at once releases the connection.
        lines_gen = cast(AsyncGenerator[str, None], response.aiter_lines())
        async with aclosing(lines_gen) as lines:
            async for line in lines:
                event = events.line(line)
                if event is None:
                    continue
                if state.add(event, response):
                    break
                for chunk in state.take():
                    yield chunk
            else:
                event = events.end()
                if event is not None:
                    state.add(event, response)
                    for chunk in state.take():
                        yield chunk
                if not state.done and state.finish_reason is None:
                    raise ModelResponseError(
                        f"{response.request.url}: the stream ended before the response finished "
                        "(no [DONE] and no finish_reason)"
                    )
        yield UsageChunk(state.usage)


@dataclass(slots=True)
class _SSEEvent:
    event: str
    data: str


@dataclass(slots=True)
class _SSEDecoder:
    """The `text/event-stream` framing: `data:` lines joined by newlines, a blank line ends
    an event, `:` lines are comments. Fields other than `event` and `data` are ignored."""

    _data: list[str] = field(default_factory=list)
    _event: str = ""

    def line(self, line: str) -> _SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def end(self) -> _SSEEvent | None:
        # The spec drops an unterminated last event; we keep it, since a server that omits
        # the final blank line is more common than one that truncates a valid JSON line.
        return self._dispatch()

    def _dispatch(self) -> _SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = _SSEEvent(self._event or "message", "\n".join(self._data))
        self._data.clear()
        self._event = ""
        return event


@dataclass(slots=True)
class _StreamState:
    usage: Usage = field(default_factory=lambda: Usage(reported=False))
    finish_reason: str | None = None
    done: bool = False
    _pending: list[ModelChunk] = field(default_factory=list)

    def add(self, event: _SSEEvent, response: httpx.Response) -> bool:
        """Read one event; True when the stream says it is done."""
        if event.data.strip() == "[DONE]":
            self.done = True
            return True
        payload = None if event.event == "error" else _parse_json(event.data, response)
        if payload is not None and not isinstance(payload, dict):
            raise ModelResponseError(
                f"{response.request.url}: expected a JSON object in the stream, got "
                f"{_excerpt(event.data)!r}"
            )
        if payload is None or "error" in payload:
            raise ModelResponseError(
                f"{response.request.url}: the server reported an error mid-stream: "
                f"{_error_detail(event.data)}"
            )
        self._pending.extend(_delta_chunks(payload, event.data, response))
        finish = _finish_reason(payload)
        if finish is not None:
            self.finish_reason = finish
        usage = payload.get("usage")
        if usage is not None:
            self.usage = _usage(usage, event.data, response)
        return False

    def take(self) -> list[ModelChunk]:
        chunks, self._pending = self._pending, []
        return chunks


def _delta_chunks(payload: dict[str, Any], raw: str, response: httpx.Response) -> list[ModelChunk]:
    choices = payload.get("choices") or []
    if not isinstance(choices, list):
        raise _shape_error("'choices' is not a list", raw, response)
    chunks: list[ModelChunk] = []
    for choice in choices[:1]:  # we never ask for n > 1
        if not isinstance(choice, dict):
            raise _shape_error("a choice is not an object", raw, response)
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise _shape_error("'delta' is not an object", raw, response)
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise _shape_error("'delta.content' is not a string", raw, response)
        if content:
            chunks.append(TextChunk(content))
        chunks.extend(_tool_call_chunks(delta.get("tool_calls"), raw, response))
    return chunks


def _tool_call_chunks(calls: Any, raw: str, response: httpx.Response) -> list[ToolCallChunk]:
    if calls is None:
        return []
    if not isinstance(calls, list):
        raise _shape_error("'tool_calls' is not a list", raw, response)
    chunks = []
    for position, call in enumerate(calls):
        if not isinstance(call, dict):
            raise _shape_error("a tool call is not an object", raw, response)
        function = call.get("function") or {}
        index = call.get("index", position)
        call_id = call.get("id")
        name = function.get("name") if isinstance(function, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if not (
            isinstance(index, int)
            and isinstance(call_id, str | None)
            and isinstance(name, str | None)
            and isinstance(arguments, str | None)
        ):
            raise _shape_error("a tool call fragment has fields of the wrong type", raw, response)
        chunks.append(ToolCallChunk(index, call_id, name, arguments or ""))
    return chunks


def _finish_reason(payload: dict[str, Any]) -> str | None:
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) else None
    return None


def _usage(usage: Any, raw: str, response: httpx.Response) -> Usage:
    if not isinstance(usage, dict):
        raise _shape_error("'usage' is not an object", raw, response)
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    values = (usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), cached or 0)
    if not all(isinstance(v, int) for v in values):
        raise _shape_error("token counts in 'usage' are not integers", raw, response)
    return Usage(*values)


def _whole_completion_chunks(text: str, response: httpx.Response) -> list[ModelChunk]:
    payload = _parse_json(text, response)
    if not isinstance(payload, dict):
        raise _shape_error("expected a chat completion object", text, response)
    if "error" in payload:
        raise ModelResponseError(
            f"{response.request.url}: the server reported an error: {_error_detail(payload)}"
        )
    choices = payload.get("choices") or []
    if isinstance(choices, list):
        # A whole message reads like one big delta, so the streaming checks apply as they are.
        choices = [{"delta": c.get("message")} if isinstance(c, dict) else c for c in choices]
    chunks = _delta_chunks({"choices": choices}, text, response)
    usage = payload.get("usage")
    unreported = Usage(reported=False)
    chunks.append(UsageChunk(unreported if usage is None else _usage(usage, text, response)))
    return chunks


def _parse_json(text: str, response: httpx.Response) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelResponseError(
            f"{response.request.url}: invalid JSON in the response ({exc.msg}): {_excerpt(text)!r}"
        ) from None


def _shape_error(what: str, raw: str, response: httpx.Response) -> ModelResponseError:
    return ModelResponseError(f"{response.request.url}: {what}: {_excerpt(raw)!r}")


def _excerpt(text: str) -> str:
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "…"


def _error_detail(body: Any) -> str:
    """The `error.message` of an OpenAI-style error body, else a short excerpt of it."""
    payload = body
    if isinstance(body, str):
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return repr(_excerpt(body)) if body else "(empty body)"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _excerpt(str(error["message"]))
        if isinstance(error, str):
            return _excerpt(error)
    return repr(_excerpt(json.dumps(payload)))


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from `retry-after-ms` (OpenAI) or `Retry-After` (seconds or a date)."""
    millis = response.headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)
