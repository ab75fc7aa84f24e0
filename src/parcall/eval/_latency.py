"""Tools that take at least a given time, as a web API would (`--tool-latency`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .._core.tool import Tool, _hints

__all__ = ["with_latency"]


def with_latency(
    tool: Tool, seconds: float, *, sleep: Callable[[float], Awaitable[None]] = anyio.sleep
) -> Tool:
    """`tool` with the same name, schema and policy, whose every call (failing or not)
    takes at least `seconds`: it sleeps for what the call itself did not take."""
    if seconds < 0:
        raise ValueError(f"tool latency must be >= 0 seconds, not {seconds}")

    async def call(**arguments: Any) -> Any:
        start = anyio.current_time()
        try:
            return await tool.call(arguments)
        finally:
            left = seconds - (anyio.current_time() - start)
            if left > 0:
                await sleep(left)

    returns = _hints(tool.function).get("return")
    if returns is not None:  # the prompt shows the same signature with or without latency
        call.__annotations__ = {"return": returns}
    return Tool(
        name=tool.name,
        description=tool.description,
        function=call,
        args_model=tool.args_model,
        max_concurrency=tool.max_concurrency,
        timeout=tool.timeout,
        retries=tool.retries,
        retry_delay=tool.retry_delay,
    )
