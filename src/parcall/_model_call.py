"""One streamed model call with its events: the single place agents talk to a model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from ._events import Event, ModelCallFinished, ModelCallStarted, Purpose
from .models._base import (
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
collect the usage a backend sends last, before the stream is closed."""


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
    drained = 0
    first: float | None = None
    try:
        async with _closing(model.stream(request)) as chunks:
            async for chunk in chunks:
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


@asynccontextmanager
async def _closing(chunks: AsyncIterator[ModelChunk]) -> AsyncIterator[AsyncIterator[ModelChunk]]:
    """Close a model's stream however the reading ends (a backend then frees its resources)."""
    try:
        yield chunks
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
