"""Reading the joiner's prompt ahead while the plan's tools run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from ..models._base import Message, Model, Prefill

__all__ = ["prefilling"]


@asynccontextmanager
async def prefilling(
    tg: TaskGroup,
    model: Model,
    ahead: Callable[[], tuple[Message, ...]],
    progress: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """While the block runs, `model` reads ahead what `ahead()` says the next prompt starts
    with (if it can: `Prefill`), and reads on each time `progress()` returns (a result has
    arrived, so more of the prompt is known). Cancelled when the block ends (and a backend
    gives way) so it never delays the next model call."""
    scope = anyio.CancelScope()
    if isinstance(model, Prefill):
        tg.start_soon(_read_ahead, model, ahead, progress, scope)
    try:
        yield
    finally:
        scope.cancel()


async def _read_ahead(
    model: Prefill,
    ahead: Callable[[], tuple[Message, ...]],
    progress: Callable[[], Awaitable[None]],
    scope: anyio.CancelScope,
) -> None:
    with scope:
        read: tuple[Message, ...] = ()
        while not scope.cancel_called:
            messages = ahead()
            if not messages or messages == read:
                await progress()
                continue
            try:
                await model.prefill(messages)
            except Exception:  # a prefill only saves time; it must never fail a run
                return
            read = messages
