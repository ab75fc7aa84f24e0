"""OpenAICompatible against scripted HTTP exchanges (httpx.MockTransport): no network, no key.

The builders below (`sse_response`, `error_response`, `ScriptedStream`, `Exchange`) are meant
to be reused by the fault-injection matrix.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import aclosing
from typing import Any

import anyio
import httpx
import pytest
from typer.testing import CliRunner

import parcall.cli
import parcall.cli._run
from parcall.models import _openai
from parcall.models._base import (
    Message,
    Model,
    ModelChunk,
    ModelRequest,
    TextChunk,
    ToolCallChunk,
    ToolSpec,
    Usage,
    UsageChunk,
)
from parcall.models._errors import (
    ModelAuthError,
    ModelCapabilityError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitError,
    ModelResponseError,
    ModelServerError,
    ModelStatusError,
    ModelTimeoutError,
)
from parcall.models._openai import OpenAICompatible, parse_model_spec
from parcall.models._resolve import is_local_spec, resolve_model

BASE_URL = "http://llm.test/v1"
REQUEST = ModelRequest(messages=(Message("user", "Say hi"),))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- response builders (reusable) -----------------------------------------------------------


def delta(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk` with a single choice."""
    d: dict[str, Any] = {}
    if content is not None:
        d["content"] = content
    if tool_calls is not None:
        d["tool_calls"] = tool_calls
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": d, "finish_reason": finish_reason}],
    }


def usage_event(prompt: int, completion: int, cached: int | None = None) -> dict[str, Any]:
    """The final chunk `stream_options.include_usage` asks for: no choices, only usage."""
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"object": "chat.completion.chunk", "choices": [], "usage": usage}


def sse_bytes(events: Iterable[dict[str, Any] | str], *, done: bool = True) -> bytes:
    """Events framed as `data: ...\\n\\n`; dicts are JSON-encoded, strings sent as they are."""
    out = [f"data: {json.dumps(e) if isinstance(e, dict) else e}\n\n" for e in events]
    if done:
        out.append("data: [DONE]\n\n")
    return "".join(out).encode()


def text_events(*pieces: str, usage: tuple[int, int] | None = (5, 3)) -> list[dict[str, Any]]:
    events = [delta(p) for p in pieces]
    events.append(delta(finish_reason="stop"))
    if usage is not None:
        events.append(usage_event(*usage))
    return events


def sse_response(
    events: Iterable[dict[str, Any] | str], *, done: bool = True, status: int = 200
) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "text/event-stream"},
        content=sse_bytes(events, done=done),
    )


def error_response(
    status: int, message: str = "boom", *, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"error": {"message": message, "type": "test", "code": None}}
    return httpx.Response(status, json=body, headers=headers)


class ScriptedStream(httpx.AsyncByteStream):
    """A response body sent in parts, then optionally an error or an endless trickle;
    records whether the client closed it."""

    def __init__(
        self, parts: Sequence[bytes], *, then: Exception | None = None, endless: bool = False
    ) -> None:
        self.parts = parts
        self.then = then
        self.endless = endless
        self.sent = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.sent += 1
            yield part
        if self.then is not None:
            raise self.then
        while self.endless:
            await anyio.sleep(0.01)
            yield sse_bytes([delta("more")], done=False)

    async def aclose(self) -> None:
        self.closed = True


def streamed_response(stream: ScriptedStream) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)


Step = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Exchange:
    """A MockTransport handler that answers each request with the next scripted step
    (a response, an exception to raise, or a function of the request) and records requests."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            raise AssertionError(f"unexpected request #{len(self.requests)}")
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def body(self, n: int = 0) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.requests[n].content)
        return body


def model_for(exchange: Exchange, **kwargs: Any) -> OpenAICompatible:
    kwargs.setdefault("base_url", BASE_URL)
    return OpenAICompatible("test-model", transport=httpx.MockTransport(exchange), **kwargs)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retry waits, recorded instead of slept."""
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(_openai, "_sleep", fake_sleep)
    return waits


async def collect(model: OpenAICompatible, request: ModelRequest = REQUEST) -> list[ModelChunk]:
    async with model:
        return [chunk async for chunk in model.stream(request)]


def text_of(chunks: Sequence[ModelChunk]) -> str:
    return "".join(c.text for c in chunks if isinstance(c, TextChunk))


# --- streaming ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_streams_text_pieces_in_order() -> None:
    exchange = Exchange(sse_response(text_events("Hel", "lo", ", world")))
    chunks = await collect(model_for(exchange))
    assert [c for c in chunks if isinstance(c, TextChunk)] == [
        TextChunk("Hel"),
        TextChunk("lo"),
        TextChunk(", world"),
    ]
    assert text_of(chunks) == "Hello, world"


@pytest.mark.anyio
async def test_ends_with_one_usage_chunk_including_cached_tokens() -> None:
    events = [delta("hi"), delta(finish_reason="stop"), usage_event(120, 7, cached=96)]
    chunks = await collect(model_for(Exchange(sse_response(events))))
    assert chunks[-1] == UsageChunk(Usage(input_tokens=120, output_tokens=7, cached_tokens=96))
    assert sum(isinstance(c, UsageChunk) for c in chunks) == 1


@pytest.mark.anyio
async def test_usage_is_not_reported_when_the_server_sends_none() -> None:
    chunks = await collect(model_for(Exchange(sse_response(text_events("hi", usage=None)))))
    assert chunks[-1] == UsageChunk(Usage(reported=False))
    assert chunks[-1].usage.describe() == "tokens not reported"


def test_a_sum_of_usages_is_reported_only_if_every_part_was() -> None:
    reported, unknown = Usage(10, 2), Usage(reported=False)
    assert (Usage() + reported).describe() == "10 in / 2 out tokens"
    assert (Usage() + unknown + unknown).describe() == "tokens not reported"
    mixed = Usage() + reported + unknown
    assert (mixed.input_tokens, mixed.reported) == (10, False)
    assert mixed.describe() == "10 in / 2 out tokens (some calls' tokens not reported)"


def test_the_cli_says_tokens_were_not_reported_when_the_server_sent_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = sse_response(
        [delta('1. search(query="Ed Wood")\njoin()\n'), delta(finish_reason="stop")]
    )
    join = sse_response(text_events("Action: Finish(American)", usage=None))
    model = model_for(Exchange(plan, join))
    monkeypatch.setattr(parcall.cli._run, "resolve_model", lambda spec, **_: model)
    result = CliRunner().invoke(parcall.cli.app, ["run", "Who was Ed Wood?", "-m", BASE_URL])
    assert result.exit_code == 0, result.output
    assert result.output.count("tokens not reported") == 2  # the plan call and the join call
    assert " 0 in / 0 out" not in result.output


@pytest.mark.anyio
async def test_yields_tool_call_fragments_as_sent() -> None:
    events = [
        delta(tool_calls=[{"index": 0, "id": "call_a", "type": "function",
                           "function": {"name": "search", "arguments": ""}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '{"q": '}}]),
        delta(tool_calls=[{"index": 0, "function": {"arguments": '"cats"}'}}]),
        delta(tool_calls=[{"index": 1, "id": "call_b",
                           "function": {"name": "add", "arguments": '{"a": 1}'}}]),
        delta(finish_reason="tool_calls"),
        usage_event(10, 20),
    ]  # fmt: skip
    chunks = await collect(model_for(Exchange(sse_response(events))))
    calls = [c for c in chunks if isinstance(c, ToolCallChunk)]
    assert calls == [
        ToolCallChunk(0, "call_a", "search", ""),
        ToolCallChunk(0, None, None, '{"q": '),
        ToolCallChunk(0, None, None, '"cats"}'),
        ToolCallChunk(1, "call_b", "add", '{"a": 1}'),
    ]
    assert "".join(c.arguments for c in calls if c.index == 0) == '{"q": "cats"}'


@pytest.mark.anyio
async def test_sse_framing_multiline_data_comments_and_crlf() -> None:
    # One JSON object split over two data: lines (joined by a newline, which JSON allows),
    # a keep-alive comment, an event without a space after the colon, CRLF line ends.
    body = (
        b": keep-alive\r\n\r\n"
        b'data: {"choices": [{"delta":\r\ndata: {"content": "a"}}]}\r\n\r\n'
        b'data:{"choices": [{"delta": {"content": "b"}, "finish_reason": "stop"}]}\r\n\r\n'
        b"id: 7\r\nretry: 100\r\n\r\n"
        b"data: [DONE]\r\n\r\n"
    )
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    chunks = await collect(model_for(Exchange(response)))
    assert text_of(chunks) == "ab"


@pytest.mark.anyio
async def test_accepts_a_whole_json_completion_from_a_server_that_ignores_stream() -> None:
    completion = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1},
    }  # fmt: skip
    chunks = await collect(model_for(Exchange(httpx.Response(200, json=completion))))
    assert chunks == [TextChunk("whole"), UsageChunk(Usage(4, 1))]
    del completion["usage"]
    exchange = Exchange(httpx.Response(200, json=completion))
    chunks = await collect(model_for(exchange))
    assert chunks[-1] == UsageChunk(Usage(reported=False))


def test_is_a_model() -> None:
    model = OpenAICompatible("gpt-4o-mini", api_key="sk-test")
    assert isinstance(model, Model)
    assert model.name == "openai:gpt-4o-mini"
    assert OpenAICompatible("m", base_url=BASE_URL + "/").name == f"{BASE_URL}#m"
    assert "sk-test" not in repr(model)


# --- request body ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_body_carries_messages_options_tools_and_schema() -> None:
    exchange = Exchange(sse_response(text_events("ok")))
    model = model_for(
        exchange,
        api_key="sk-test",
        stop=["\nObservation:"],
        temperature=0.5,
        max_tokens=64,
        extra_body={"seed": 7},
    )
    tool = ToolSpec("search", "Search the web.", {"type": "object", "properties": {}})
    request = ModelRequest(
        messages=(Message("system", "be brief"), Message("user", "hi")),
        purpose="plan",
        stop=("join()",),
        temperature=0.0,
        tools=(tool,),
        json_schema={"type": "object"},
    )
    await collect(model, request)
    sent = exchange.requests[0]
    assert sent.url == f"{BASE_URL}/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert exchange.body() == {
        "model": "test-model",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["\nObservation:", "join()"],
        "max_tokens": 64,
        "temperature": 0.0,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "search",
                    "description": "Search the web.",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ],
        "parallel_tool_calls": True,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "parcall_plan", "schema": {"type": "object"}, "strict": True},
        },
        "seed": 7,
    }


@pytest.mark.anyio
async def test_grammar_is_sent_only_when_the_server_supports_it() -> None:
    request = ModelRequest(messages=(Message("user", "hi"),), grammar='root ::= "yes"')
    exchange = Exchange(sse_response(text_events("yes")))
    await collect(model_for(exchange, supports_grammar=True), request)
    assert exchange.body()["grammar"] == 'root ::= "yes"'

    unused = Exchange()
    with pytest.raises(ModelCapabilityError, match="supports_grammar=True"):
        await collect(model_for(unused), request)
    assert unused.requests == []


@pytest.mark.anyio
async def test_local_server_needs_no_key_and_gets_no_auth_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    exchange = Exchange(sse_response(text_events("ok")))
    await collect(model_for(exchange))
    assert "authorization" not in exchange.requests[0].headers


@pytest.mark.anyio
async def test_api_key_is_read_from_the_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROQ_KEY", "gk-1")
    exchange = Exchange(sse_response(text_events("ok")))
    await collect(model_for(exchange, api_key_env="GROQ_KEY"))
    assert exchange.requests[0].headers["authorization"] == "Bearer gk-1"


@pytest.mark.anyio
async def test_openai_without_a_key_fails_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    exchange = Exchange()
    model = OpenAICompatible("gpt-4o-mini", transport=httpx.MockTransport(exchange))
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY"):
        await collect(model)
    assert exchange.requests == []


# --- retries --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_429_waits_for_retry_after_seconds_then_succeeds(sleeps: list[float]) -> None:
    exchange = Exchange(
        error_response(429, "slow down", headers={"retry-after": "2"}),
        sse_response(text_events("ok")),
    )
    chunks = await collect(model_for(exchange))
    assert text_of(chunks) == "ok"
    assert sleeps == [2.0]
    assert len(exchange.requests) == 2


@pytest.mark.anyio
async def test_retry_after_as_http_date_is_honoured(sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    exchange = Exchange(
        error_response(503, headers={"retry-after": when}),
        sse_response(text_events("ok")),
    )
    await collect(model_for(exchange))
    assert len(sleeps) == 1
    assert 3.0 <= sleeps[0] <= 5.0  # whole seconds in the date, and time passes


@pytest.mark.anyio
async def test_retry_after_ms_is_preferred(sleeps: list[float]) -> None:
    exchange = Exchange(
        error_response(429, headers={"retry-after-ms": "250", "retry-after": "1"}),
        sse_response(text_events("ok")),
    )
    await collect(model_for(exchange))
    assert sleeps == [0.25]


@pytest.mark.anyio
async def test_retry_after_is_capped(sleeps: list[float]) -> None:
    exchange = Exchange(
        error_response(429, headers={"retry-after": "3600"}),
        sse_response(text_events("ok")),
    )
    await collect(model_for(exchange, retry_max_delay=10.0))
    assert sleeps == [10.0]


@pytest.mark.anyio
async def test_500_is_retried_with_backoff_then_succeeds(sleeps: list[float]) -> None:
    exchange = Exchange(error_response(500), error_response(502), sse_response(text_events("ok")))
    chunks = await collect(model_for(exchange, retry_base_delay=1.0))
    assert text_of(chunks) == "ok"
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0  # base * 2**0, jittered down by at most half
    assert 1.0 <= sleeps[1] <= 2.0  # base * 2**1


@pytest.mark.anyio
async def test_rate_limit_after_all_retries_raises_typed_error(sleeps: list[float]) -> None:
    exchange = Exchange(
        *[error_response(429, "quota", headers={"retry-after": "1"}) for _ in range(3)]
    )
    with pytest.raises(ModelRateLimitError, match="quota") as caught:
        await collect(model_for(exchange, max_retries=2))
    assert caught.value.status_code == 429
    assert caught.value.retry_after == 1.0
    assert len(exchange.requests) == 3
    assert sleeps == [1.0, 1.0]


@pytest.mark.anyio
async def test_server_error_after_all_retries_raises_typed_error(sleeps: list[float]) -> None:
    exchange = Exchange(*[error_response(503, "overloaded") for _ in range(4)])
    with pytest.raises(ModelServerError, match="overloaded"):
        await collect(model_for(exchange))
    assert len(exchange.requests) == 4  # max_retries=3 by default


@pytest.mark.anyio
async def test_connection_errors_are_retried_then_raise_typed_error(sleeps: list[float]) -> None:
    refused = httpx.ConnectError("connection refused")
    exchange = Exchange(refused, refused)
    with pytest.raises(ModelConnectionError, match="connection refused"):
        await collect(model_for(exchange, max_retries=1))
    assert len(exchange.requests) == 2


@pytest.mark.anyio
async def test_connection_error_then_success(sleeps: list[float]) -> None:
    exchange = Exchange(httpx.ConnectError("refused"), sse_response(text_events("ok")))
    assert text_of(await collect(model_for(exchange))) == "ok"
    assert len(sleeps) == 1


@pytest.mark.anyio
async def test_read_timeout_is_a_timeout_error(sleeps: list[float]) -> None:
    exchange = Exchange(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ModelTimeoutError):
        await collect(model_for(exchange, max_retries=0))


@pytest.mark.anyio
async def test_400_is_not_retried(sleeps: list[float]) -> None:
    exchange = Exchange(error_response(400, "context length exceeded"))
    with pytest.raises(ModelStatusError, match="context length exceeded") as caught:
        await collect(model_for(exchange))
    assert caught.value.status_code == 400
    assert sleeps == []


# --- typed errors ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_401_names_the_env_var_to_set(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    exchange = Exchange(error_response(401, "Incorrect API key"))
    with pytest.raises(ModelAuthError, match="MY_LLM_KEY") as caught:
        await collect(model_for(exchange, api_key_env="MY_LLM_KEY"))
    assert caught.value.status_code == 401
    assert len(exchange.requests) == 1


@pytest.mark.anyio
async def test_404_names_the_model_and_base_url() -> None:
    exchange = Exchange(error_response(404, "The model does not exist"))
    with pytest.raises(ModelNotFoundError) as caught:
        await collect(model_for(exchange))
    assert "'test-model'" in str(caught.value)
    assert BASE_URL in str(caught.value)


@pytest.mark.anyio
async def test_invalid_json_chunk_raises_response_error_with_excerpt() -> None:
    exchange = Exchange(sse_response([delta("a"), '{"choices": [{"delta": {"content": "b"']))
    with pytest.raises(ModelResponseError, match=r"invalid JSON.*content\\?\": \\?\"b"):
        await collect(model_for(exchange))


@pytest.mark.anyio
async def test_error_object_inside_a_200_stream_raises_response_error() -> None:
    events = [delta("partial"), {"error": {"message": "The server had an error", "type": "x"}}]
    exchange = Exchange(sse_response(events, done=False))
    with pytest.raises(ModelResponseError, match="The server had an error"):
        await collect(model_for(exchange))


@pytest.mark.anyio
async def test_sse_error_event_raises_response_error() -> None:
    body = b"event: error\ndata: upstream model crashed\n\n"
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    with pytest.raises(ModelResponseError, match="upstream model crashed"):
        await collect(model_for(Exchange(response)))


@pytest.mark.anyio
async def test_wrongly_shaped_chunk_raises_response_error() -> None:
    exchange = Exchange(sse_response([{"choices": [{"delta": {"content": 42}}]}]))
    with pytest.raises(ModelResponseError, match="not a string"):
        await collect(model_for(exchange))


@pytest.mark.anyio
async def test_stream_cut_before_done_raises_response_error() -> None:
    exchange = Exchange(sse_response([delta("half")], done=False))
    with pytest.raises(ModelResponseError, match="ended before"):
        await collect(model_for(exchange))


@pytest.mark.anyio
async def test_connection_reset_mid_stream_raises_and_is_not_retried(sleeps: list[float]) -> None:
    stream = ScriptedStream(
        [sse_bytes([delta("one")], done=False), sse_bytes([delta("two")], done=False)],
        then=httpx.ReadError("connection reset by peer"),
    )
    exchange = Exchange(streamed_response(stream), sse_response(text_events("never")))
    received: list[ModelChunk] = []
    model = model_for(exchange)
    with pytest.raises(ModelConnectionError, match="not retried"):
        async with model:
            async for chunk in model.stream(REQUEST):
                received.append(chunk)
    assert text_of(received) == "onetwo"
    assert len(exchange.requests) == 1
    assert sleeps == []


def test_every_error_is_a_model_error() -> None:
    for error in (ModelAuthError, ModelRateLimitError, ModelResponseError, ModelTimeoutError):
        assert issubclass(error, ModelError)


# --- early close ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_closing_the_stream_early_closes_the_response() -> None:
    stream = ScriptedStream([sse_bytes([delta("1. search()\n"), delta("join()")], done=False)],
                            endless=True)  # fmt: skip
    model = model_for(Exchange(streamed_response(stream)))
    async with model:
        with anyio.fail_after(5):
            async with aclosing(model.stream(REQUEST)) as chunks:
                async for chunk in chunks:
                    if isinstance(chunk, TextChunk) and "join()" in chunk.text:
                        break
    assert stream.closed


@pytest.mark.anyio
async def test_cancelling_the_consumer_closes_the_response() -> None:
    stream = ScriptedStream([], endless=True)
    model = model_for(Exchange(streamed_response(stream)))
    async with model:
        with anyio.move_on_after(0.1):
            async with aclosing(model.stream(REQUEST)) as chunks:
                async for _ in chunks:
                    pass
    assert stream.closed


# --- model specs ----------------------------------------------------------------------------


def test_parse_model_spec_openai_prefix() -> None:
    assert parse_model_spec("openai:gpt-4o-mini") == {
        "model": "gpt-4o-mini",
        "base_url": "https://api.openai.com/v1",
    }


def test_parse_model_spec_url_with_model_fragment() -> None:
    spec = parse_model_spec("http://127.0.0.1:8080/v1#my-model")
    assert spec == {"model": "my-model", "base_url": "http://127.0.0.1:8080/v1"}
    assert spec is not None
    assert OpenAICompatible(**spec).name == "http://127.0.0.1:8080/v1#my-model"


@pytest.mark.parametrize("spec", ["local:smollm2", "./model.gguf", "/models/x.gguf", "gpt-4o"])
def test_parse_model_spec_leaves_other_backends_alone(spec: str) -> None:
    assert parse_model_spec(spec) is None


@pytest.mark.parametrize("name", ["/models/qwen.gguf", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"])
def test_a_server_spec_whose_model_name_is_a_gguf_path_is_a_server(name: str) -> None:
    # llama.cpp's server names its model by the file it loaded; that name is not a local file.
    spec = f"http://127.0.0.1:8080/v1#{name}"
    assert not is_local_spec(spec)
    model = resolve_model(spec)
    assert isinstance(model, OpenAICompatible)
    assert (model.model, model.base_url) == (name, "http://127.0.0.1:8080/v1")
    assert model.name == spec


@pytest.mark.parametrize("spec", ["openai:", "http://127.0.0.1:8080/v1"])
def test_parse_model_spec_without_a_model_name_is_an_error(spec: str) -> None:
    with pytest.raises(ValueError, match="names no model"):
        parse_model_spec(spec)
