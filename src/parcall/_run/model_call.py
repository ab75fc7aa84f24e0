"""One streamed model call with its events: the single place agents talk to a model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from .._core.events import Event, ModelCallFinished, ModelCallStarted, Purpose
from .._core.limits import UsageLimits
from ..models._base import (
    STOP,
    Message,
    Model,
    ModelChunk,
    ModelRequest,
    TextChunk,
    ToolCallChunk,
    Usage,
    UsageChunk,
)
from .journal import Journal

__all__ = ["ModelCalls", "call_model"]

DRAIN_AFTER_DONE = 64
"""Chunks read after `on_chunk` says the useful output ended (e.g. `join()` was parsed), to
collect the usage a backend sends last, before the stream is closed. First the stream is
sent `STOP`: a backend that honours it (`LlamaCpp`) sends its usage at once and generates
nothing more."""


async def call_model(
    model: Model,
    request: ModelRequest,
    *,
    purpose: Purpose,
    round_no: int,
    emit: Callable[[Event], None],
    clock: Callable[[], float],
    on_chunk: Callable[[TextChunk | ToolCallChunk], bool] | None = None,
) -> str:
    """Stream `request`, returning the text. `on_chunk` sees each piece; returning True ends
    the useful output. Emits `ModelCallStarted` and, however the call ends,
    `ModelCallFinished` with the usage."""
    started = clock()
    emit(ModelCallStarted(purpose, round_no, started))
    pieces: list[str] = []
    usage = Usage()
    done = False
    stop_sent = False
    drained = 0
    first: float | None = None
    try:
        async with _closing(model.stream(request)) as chunks:
            while True:
                try:
                    chunk = await _next(chunks, stop=done and not stop_sent)
                except StopAsyncIteration:
                    break
                stop_sent = done
                if first is None:
                    first = clock()
                if isinstance(chunk, UsageChunk):
                    usage = usage + chunk.usage
                    continue
                if done:
                    drained += 1
                    if drained > DRAIN_AFTER_DONE:
                        break
                    continue
                if isinstance(chunk, TextChunk):
                    pieces.append(chunk.text)
                if on_chunk is not None and on_chunk(chunk):
                    done = True
    finally:
        emit(ModelCallFinished(purpose, round_no, usage, started, clock(), first))
    return "".join(pieces)


class ModelCalls:
    """A run's model calls: each checked against the usage limits, and with a journal,
    recorded, or replayed when the journal holds its output (no model call then)."""

    def __init__(
        self,
        model: Model,
        *,
        temperature: float | None,
        emit: Callable[[Event], None],
        clock: Callable[[], float],
        spent: Callable[[], tuple[int, Usage]],
    ) -> None:
        self.model = model
        self.temperature = temperature
        self._emit = emit
        self._clock = clock
        self._spent = spent  # the requests and usage of the run so far
        self.journal: Journal | None = None
        self.limits: UsageLimits | None = None

    async def complete(
        self,
        purpose: Purpose,
        round_no: int,
        messages: tuple[Message, ...],
        max_tokens: int | None,
        on_chunk: Callable[[TextChunk | ToolCallChunk], bool] | None = None,
        extras: dict[str, Any] | None = None,
    ) -> str:
        """One model call. `on_chunk` sees each piece; returning True ends the useful output
        (the rest is drained briefly for usage, then the stream is closed). `extras` are
        the request's other fields (`messages` there replaces `messages`)."""
        extras = dict(extras or {})
        request = ModelRequest(
            messages=extras.pop("messages", messages),
            purpose=purpose,
            max_tokens=max_tokens,
            temperature=self.temperature,
            **extras,
        )
        journal = self.journal
        replayed = journal.replay(request) if journal is not None else None
        if replayed is not None:  # the journal holds this call's output: no model call
            text: list[str] = []
            for chunk in replayed:
                if isinstance(chunk, TextChunk):
                    text.append(chunk.text)
                if on_chunk is not None and on_chunk(chunk):
                    break
            return "".join(text)
        seen: list[TextChunk | ToolCallChunk] = []

        def recording(chunk: TextChunk | ToolCallChunk) -> bool:
            seen.append(chunk)
            return on_chunk is not None and on_chunk(chunk)

        if self.limits is not None:
            self.limits.check_before_request(self._spent()[0])
        output = await call_model(
            self.model,
            request,
            purpose=purpose,
            round_no=round_no,
            emit=self._emit,
            clock=self._clock,
            on_chunk=recording if journal is not None else on_chunk,
        )
        if journal is not None:
            await journal.record(request, seen)
        if self.limits is not None:
            self.limits.check_tokens(self._spent()[1])
        return output


async def _next(chunks: AsyncIterator[ModelChunk], *, stop: bool) -> ModelChunk:
    """The next chunk; with `stop`, ask for it by sending `STOP` where the stream takes it."""
    asend = getattr(chunks, "asend", None) if stop else None
    if asend is not None:
        chunk: ModelChunk = await asend(STOP)
        return chunk
    return await anext(chunks)


@asynccontextmanager
async def _closing(chunks: AsyncIterator[ModelChunk]) -> AsyncIterator[AsyncIterator[ModelChunk]]:
    """Close a model's stream however the reading ends (a backend then frees its resources)."""
    try:
        yield chunks
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
