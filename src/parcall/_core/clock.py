"""The event loop's clock, looked up once per run instead of once per reading."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio

__all__ = ["loop_clock"]


def loop_clock() -> Callable[[], float]:
    """The running loop's `current_time` as a plain function (asyncio: `loop.time`, which
    is what anyio reads there too).

    `anyio.current_time()` finds the backend on every call; a run reads the clock several
    times per task, which at 10,000 tasks was a measurable share of the engine's time.
    """
    try:
        return asyncio.get_running_loop().time
    except RuntimeError:  # not on asyncio (trio)
        return anyio.current_time
