"""Reading the joiner prompt's fixed part while the plan's tools run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup

from ..models._base import Message, Model, Prefill

__all__ = ["prefilling"]


@asynccontextmanager
async def prefilling(
    tg: TaskGroup, model: Model, messages: tuple[Message, ...]
) -> AsyncIterator[None]:
    """While the block runs, `model` reads `messages` ahead (if it can: `Prefill`); cancelled
    when the block ends (and a backend gives way) so it never delays the next model call."""
    scope = anyio.CancelScope()
    if messages and isinstance(model, Prefill):
        tg.start_soon(_prefill, model, messages, scope)
    try:
        yield
    finally:
        scope.cancel()


async def _prefill(model: Prefill, messages: tuple[Message, ...], scope: anyio.CancelScope) -> None:
    with scope:
        if scope.cancel_called:
            return
        try:
            await model.prefill(messages)
        except Exception:  # a prefill only saves time; it must never fail a run
            return
