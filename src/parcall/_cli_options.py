"""Command-line options that more than one command takes (`parcall run`, `parcall serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["McpOption", "OpenApiOption"]

_JOIN = " They add to --tools and replace the built-in tools."

McpOption = Annotated[
    list[str] | None,
    typer.Option(
        help="An MCP server's tools: a command line or an http(s) URL (repeatable)." + _JOIN
    ),
]
OpenApiOption = Annotated[
    list[str] | None,
    typer.Option(
        help="An OpenAPI 3 document (path or URL) whose operations are tools (repeatable)." + _JOIN
    ),
]
