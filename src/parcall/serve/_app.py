"""The ASGI app behind `parcall serve`: an OpenAI-compatible endpoint whose model is an agent.

Starlette (routing, requests, streamed responses) on any ASGI server; `parcall serve` runs it
with uvicorn. One `Agent` — one loaded model — answers every request. Limits: the body size
(413), the runs at once plus the runs waiting for a slot (429 beyond that), and an optional
API key (401). Every error is an OpenAI-style JSON body with a message saying what is wrong.
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from pydantic import ValidationError

from .._agent import Agent
from .._core.events import AnswerDelta, Event
from .._core.extras import missing_extra
from .._core.history import Turn, dump_turns
from .._core.tool import validation_message
from ..models._errors import ModelContextLengthError
from ._protocol import (
    ChatCompletionRequest,
    Ids,
    answer_pieces,
    chunk,
    completion,
    error_body,
    history_of,
    question_of,
    usage_of,
)
from ._response_format import output_type_of

try:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route
    from starlette.types import Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_extra("starlette", needed_for="parcall serve") from exc

__all__ = ["Limits", "ServerState", "create_app"]


@dataclass(frozen=True, slots=True)
class Limits:
    """What one server accepts. `max_running` runs go at once; up to `max_waiting` more wait
    for a slot; beyond that a request gets 429 at once."""

    max_body_bytes: int = 1_000_000
    max_running: int = 32
    max_waiting: int = 256

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_running"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_waiting < 0:
            raise ValueError("max_waiting must be >= 0")


class ServerState:
    """Admission (running + waiting, bounded) and counters, shared by all requests."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._slots = anyio.Semaphore(limits.max_running)
        self.admitted = 0
        """Requests holding or waiting for a slot."""
        self.running = 0
        self.peak_running = 0
        self.peak_admitted = 0
        self.served = 0
        self.rejected = 0

    def admit(self) -> bool:
        if self.admitted >= self.limits.max_running + self.limits.max_waiting:
            self.rejected += 1
            return False
        self.admitted += 1
        self.peak_admitted = max(self.peak_admitted, self.admitted)
        return True

    def release(self) -> None:
        self.admitted -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._slots:
            self.running += 1
            self.peak_running = max(self.peak_running, self.running)
            try:
                yield
            finally:
                self.running -= 1
                self.served += 1


_KEY = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An `Idempotency-Key` a run may be journaled under."""


def _error(status: int, message: str, *, kind: str, code: str) -> JSONResponse:
    return JSONResponse(error_body(message, kind=kind, code=code), status_code=status)


def _bad_request(message: str, code: str = "invalid_request") -> JSONResponse:
    return _error(400, message, kind="invalid_request_error", code=code)


def _run_failed(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and error body of a failed run: 400 when the prompt does not fit the
    model's context (the client can shorten it), else 500."""
    if isinstance(exc, ModelContextLengthError):
        limit = f" ({exc.limit} tokens)" if exc.limit else ""
        message = f"the request does not fit the model's context{limit}: {exc}"
        return 400, error_body(
            message, kind="invalid_request_error", code="context_length_exceeded"
        )
    message = f"the run failed: {type(exc).__name__}: {exc}"
    return 500, error_body(message, kind="server_error", code="run_failed")


class _RunResponse(StreamingResponse):
    """Server-sent chunks made by a run in a task of this response's own task group, so the
    run ends with the response (client gone: cancelled) and the admission is released even
    if the body is never read."""

    def __init__(
        self,
        produce: Callable[[MemoryObjectSendStream[str]], Any],
        release: Callable[[], None],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._produce = produce
        self._release = release
        self._send, self._receive = anyio.create_memory_object_stream[str](16)
        super().__init__(
            self._receive,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._produce, self._send)
                try:
                    await super().__call__(scope, receive, send)
                except (ClientDisconnect, OSError):
                    pass  # the client left: nobody to tell
                tg.cancel_scope.cancel()  # a no-op if the run finished
        finally:
            self._send.close()
            self._receive.close()
            self._release()


def create_app(
    agent: Agent,
    *,
    name: str = "parcall",
    api_key: str | None = None,
    limits: Limits | None = None,
    on_run: Callable[[str, Sequence[Event], BaseException | None], Any] | None = None,
    events: bool = True,
    spans: bool = False,
    tracer_provider: Any = None,
) -> Starlette:
    """The app serving `agent` as the model `name`.

    `api_key`: when set, requests to `/v1/...` need `Authorization: Bearer <key>`.
    `on_run(request, events, error)` is called after each run, finished or failed (e.g. to
    log it); it may be async. `events=False` leaves the run's events out of streamed chunks.
    The model is loaded (if it has `load()`) once, when the app starts.
    """
    state = ServerState(limits or Limits())
    runs = _Runs(agent, name, state, on_run, events, spans, tracer_provider)
    if spans:
        from ..observe import record_spans

        record_spans((), model=runs.model_name)  # fails here, naming the extra, if it is missing
    endpoints = _Endpoints(runs, api_key)
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", endpoints.chat_completions, methods=["POST"]),
            Route("/v1/models", endpoints.list_models, methods=["GET"]),
            Route("/health", endpoints.health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=runs.lifespan,
    )
    app.state.parcall = state
    return app


@dataclass(frozen=True, slots=True)
class _Asked:
    """A chat completion request, read and checked."""

    request: ChatCompletionRequest
    question: str
    output_type: Any
    history: tuple[Turn, ...]


class _Runs:
    """The agent's runs for one app: in a slot, journaled, reported when they end."""

    def __init__(
        self,
        agent: Agent,
        name: str,
        state: ServerState,
        on_run: Callable[[str, Sequence[Event], BaseException | None], Any] | None,
        events: bool,
        spans: bool,
        tracer_provider: Any,
    ) -> None:
        self.agent = agent
        self.name = name
        self.state = state
        self.on_run = on_run
        self.events = events
        self.spans = spans
        self.tracer_provider = tracer_provider
        self.model_name = str(getattr(agent.model, "name", ""))

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        load = getattr(self.agent.model, "load", None)
        if load is not None:
            await load()
        yield

    async def report(
        self, question: str, started_ns: int, events: Sequence[Event], error: BaseException | None
    ) -> None:
        if self.spans:
            from ..observe import record_spans

            record_spans(
                events,
                request=question,
                model=self.model_name,
                tracer_provider=self.tracer_provider,
                start_ns=started_ns,
                error=error,
            )
        if self.on_run is None:
            return
        outcome = self.on_run(question, events, error)
        if hasattr(outcome, "__await__"):
            await outcome

    async def journal_of(
        self, request: Request, question: str, history: Sequence[Turn]
    ) -> dict[str, Any]:
        """How the run is journaled (see `Agent(store=...)`): none without a store; under
        the client's `Idempotency-Key` if it sent one — resumed if the journal has it, so a
        retry after a replica died continues the run instead of starting it again."""
        store = self.agent.store
        if store is None:
            return {}
        key = request.headers.get("idempotency-key")
        if key is None:
            return {"run_id": uuid.uuid4().hex}
        if not _KEY.fullmatch(key):
            raise ValueError("Idempotency-Key must be 1 to 128 letters, digits or . _ : -")
        stored = await store.get(key)
        if stored is None:
            return {"run_id": key}
        if stored.request != question or list(stored.history) != dump_turns(history):
            raise ValueError(f"Idempotency-Key {key!r} was used for another request")
        return {"run_id": key, "resume": True}

    async def answer(
        self, ids: Ids, question: str, options: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Response:
        """One run, answered whole; its admission is released when it ends."""
        seen: list[Event] = []  # kept as they come, so a failed run's spans and log are whole
        started_ns = time.time_ns()
        try:
            async with self.state.slot():
                started_ns = time.time_ns()
                async with self.agent.stream(question, **options) as run:
                    async for event in run:
                        seen.append(event)
                result = run.result
        except Exception as exc:  # the run failed: the client hears why
            await self.report(question, started_ns, seen, exc)
            status, failure = _run_failed(exc)
            return JSONResponse(failure, status_code=status)
        finally:
            self.state.release()
        await self.report(question, started_ns, result.events, None)
        return JSONResponse(completion(ids, result), headers=headers)

    async def stream(
        self,
        out: MemoryObjectSendStream[str],
        ids: Ids,
        question: str,
        include_usage: bool,
        options: Mapping[str, Any],
    ) -> None:
        """One run as server-sent chunks: the answer as it is written, the events (unless
        left out), the outcome, the usage if asked for."""
        async with out:
            seen: list[Event] = []
            sent = ""
            started_ns = time.time_ns()
            try:
                async with self.state.slot():
                    await out.send(_sse(chunk(ids, {"role": "assistant", "content": ""})))
                    started_ns = time.time_ns()
                    async with self.agent.stream(question, **options) as run:
                        async for event in run:
                            seen.append(event)
                            if isinstance(event, AnswerDelta):  # the answer as it is written
                                sent += event.text
                                await out.send(_sse(chunk(ids, {"content": event.text})))
                            elif self.events:
                                await out.send(_sse(chunk(ids, event=event)))
                    result = run.result
            except Exception as exc:  # told to the client in the stream, as OpenAI does
                await self.report(question, started_ns, seen, exc)
                await out.send(_sse(_run_failed(exc)[1]))
                await out.send("data: [DONE]\n\n")
                return
            rest = result.answer[len(sent) :] if result.answer.startswith(sent) else ""
            for piece in answer_pieces(rest) if rest else ():
                await out.send(_sse(chunk(ids, {"content": piece})))
            await out.send(_sse(chunk(ids, finish="stop", outcome=result)))
            if include_usage:
                await out.send(_sse(chunk(ids, usage=usage_of(result))))
            await out.send("data: [DONE]\n\n")
            await self.report(question, started_ns, seen, None)


class _Endpoints:
    """The routes: each checks the request (key, size, JSON, model, room) and hands the
    run to `_Runs`."""

    def __init__(self, runs: _Runs, api_key: str | None) -> None:
        self.runs = runs
        self.api_key = api_key

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    async def chat_completions(self, request: Request) -> Response:
        if not self._authorised(request):
            return _unauthorised()
        asked = await self._read(request)
        if isinstance(asked, Response):
            return asked
        runs, state, limits = self.runs, self.runs.state, self.runs.state.limits
        if not state.admit():
            return _error(
                429,
                f"the server is busy ({limits.max_running} runs going, "
                f"{limits.max_waiting} waiting): try again shortly",
                kind="server_busy",
                code="server_busy",
            )
        try:
            journal = await runs.journal_of(request, asked.question, asked.history)
        except ValueError as exc:
            state.release()
            return _error(409, str(exc), kind="invalid_request_error", code="idempotency_conflict")
        except Exception as exc:  # the journal's store is down: refuse, do not run unjournaled
            state.release()
            return _error(
                503,
                f"the run journal is unavailable: {exc}",
                kind="server_error",
                code="journal_unavailable",
            )
        headers = {"X-Parcall-Run-Id": journal["run_id"]} if journal else {}
        options = {**journal, "output_type": asked.output_type, "message_history": asked.history}
        ids = Ids(runs.name)
        if not asked.request.stream:
            return await runs.answer(ids, asked.question, options, headers)
        stream_options = asked.request.stream_options
        include_usage = bool(stream_options and stream_options.include_usage)
        return _RunResponse(
            lambda out: runs.stream(out, ids, asked.question, include_usage, options),
            state.release,
            headers,
        )

    async def _read(self, request: Request) -> _Asked | Response:
        """The request read and checked, or the error response saying what is wrong."""
        body = await _read_body(request, self.runs.state.limits.max_body_bytes)
        if isinstance(body, Response):
            return body
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return _bad_request(f"the request body is not valid JSON: {exc}", "invalid_json")
        try:
            parsed = ChatCompletionRequest.model_validate(payload)
            asked = _Asked(
                parsed,
                question_of(parsed),
                output_type_of(parsed.response_format),
                history_of(parsed),
            )
        except ValidationError as exc:
            return _bad_request(f"invalid request: {validation_message(exc)}")
        except ValueError as exc:
            return _bad_request(f"invalid request: {exc}")
        if parsed.model != self.runs.name:
            return _error(
                404,
                f"no model {parsed.model!r} here; this server serves {self.runs.name!r}",
                kind="invalid_request_error",
                code="model_not_found",
            )
        return asked

    async def list_models(self, request: Request) -> Response:
        if not self._authorised(request):
            return _unauthorised()
        model = {"id": self.runs.name, "object": "model", "created": 0, "owned_by": "parcall"}
        return JSONResponse({"object": "list", "data": [model]})

    async def health(self, request: Request) -> Response:
        state = self.runs.state
        return JSONResponse(
            {
                "status": "ok",
                "model": self.runs.name,
                "running": state.running,
                "waiting": state.admitted - state.running,
                "served": state.served,
            }
        )


def _unauthorised() -> JSONResponse:
    return _error(
        401,
        "missing or wrong API key: send 'Authorization: Bearer <key>'",
        kind="invalid_request_error",
        code="invalid_api_key",
    )


async def _read_body(request: Request, max_bytes: int) -> bytes | JSONResponse:
    too_big = _error(
        413,
        f"the request body is larger than {max_bytes:,} bytes",
        kind="invalid_request_error",
        code="request_too_large",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return too_big
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > max_bytes:
            return too_big
    return bytes(body)


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, default=str)}\n\n"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else "bad_method"
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return _error(exc.status_code, message, kind="invalid_request_error", code=code)
