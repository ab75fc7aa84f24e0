"""Toolsets: tools that live inside something opened for a run and closed with it.

An MCP server's tools share one session; an OpenAPI service's tools share one HTTP client.
`Agent(toolsets=[...])` opens each toolset when a run starts, adds its tools to the run,
and closes it when the run ends (however it ends). To keep one open across many runs,
enter `toolset.open()` yourself and pass the tools it yields as ordinary tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from .tool import Tool

__all__ = ["Toolset"]


@runtime_checkable
class Toolset(Protocol):
    """Something that yields tools while it is open: `async with toolset.open() as tools:`."""

    def open(self) -> AbstractAsyncContextManager[Sequence[Tool]]:
        """Connect (start a server, open a client); yield the tools; close on exit."""
        ...
