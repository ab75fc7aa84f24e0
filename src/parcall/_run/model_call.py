"""One streamed model call with its events: the single place agents talk to a model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from .._core.events import Event, ModelCallFinished, ModelCallStarted, Purpose
from ..models._base import (
    STOP,
    Model,
    ModelChunk,
    ModelRequest,
    TextChunk,
    ToolCallChunk,
    Usage,
    UsageChunk,
)

__all__ = ["call_model"]

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
