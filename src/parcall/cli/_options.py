"""Command-line options that more than one command takes (`run`, `shell`, `serve`, `eval`),
declared once: a command names the alias in its signature (`model: ModelOption = "local"`)."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = [
    "CalculatorOption",
    "ConstrainedOption",
    "EvalFormatOption",
    "EvalModelOption",
    "FormatOption",
    "LocalConstrainedOption",
    "MaxReplansOption",
    "McpOption",
    "ModelOption",
    "OpenApiOption",
    "SealedOption",
    "ShellToolsOption",
    "ToolsOption",
]

_SPECS = "local, local:tiny|small|medium, a .gguf path, openai:MODEL"
_TOOLS = "module:attr of a tool, function or list"
_JOIN = " They add to --tools and replace the built-in tools."

ModelOption = Annotated[
    str, typer.Option("--model", "-m", help=f"{_SPECS} or http://HOST:PORT/v1#MODEL.")
]
EvalModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help=f"{_SPECS}, http://HOST:PORT/v1#MODEL, or gold (the dataset's reference script).",
    ),
]
ToolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tools",
        "-t",
        help=f"{_TOOLS} (repeatable); default: the built-in offline encyclopedia, calculator "
        "and dates (none when --mcp or --openapi bring tools; those add to --tools).",
    ),
]
ShellToolsOption = Annotated[list[str] | None, typer.Option("--tools", "-t", help=f"{_TOOLS}.")]
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
FormatOption = Annotated[str, typer.Option("--format", help="text, json or tools.")]
EvalFormatOption = Annotated[
    str, typer.Option("--format", help="Plan format of the parcall agent: text, json, tools.")
]
ConstrainedOption = Annotated[
    bool | None,
    typer.Option(
        "--constrained/--free",
        help="Grammar-constrained plans (default: on when the model supports grammars, "
        "as local models do).",
    ),
]
LocalConstrainedOption = Annotated[
    bool | None,
    typer.Option("--constrained/--free", help="Grammar-constrained plans (default: on for local)."),
]
MaxReplansOption = Annotated[int, typer.Option(help="How many new plans the joiner may ask for.")]
SealedOption = Annotated[
    bool,
    typer.Option(
        "--sealed",
        help="No tool that acts may run on what an untrusted result (MCP, OpenAPI, "
        "trusted=False) said: replans after reading one may not add actions "
        "(see docs/security.md).",
    ),
]
CalculatorOption = Annotated[
    bool,
    typer.Option(
        "--calculator/--no-calculator",
        help="Offer the built-in calculator when the tools have none, so that arithmetic "
        "over results is computed, not written by the model (see docs/outcomes.md).",
    ),
]
