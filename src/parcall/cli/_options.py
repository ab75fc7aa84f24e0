"""Command-line options that more than one command takes (`parcall run`, `parcall serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["McpOption", "OpenApiOption", "SealedOption"]

_JOIN = " They add to --tools and replace the built-in tools."

McpOption = Annotated[
    list[str] | None,
    typer.Option(
        help="An MCP server's tools: a command line or an http(s) URL (repeatable)." + _JOIN
    ),
]
SealedOption = Annotated[
    bool,
    typer.Option(
        "--sealed",
        help="No tool that acts may run on what an untrusted result (MCP, OpenAPI, "
        "trusted=False) said: replans after reading one may not add actions "
        "(see docs/security.md).",
    ),
]
OpenApiOption = Annotated[
    list[str] | None,
    typer.Option(
        help="An OpenAPI 3 document (path or URL) whose operations are tools (repeatable)." + _JOIN
    ),
]
