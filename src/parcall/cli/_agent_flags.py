"""The agent a command builds from its flags: `--tools`, `--mcp`, `--openapi` and a model
spec (a local model fetched with progress first)."""

from __future__ import annotations

import copy
import importlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import anyio
import typer
from rich.console import Console

from .._agent import Agent
from .._core.errors import ParcallError
from .._core.tool import Tool, tool_map
from .._core.toolset import Toolset
from ..models._resolve import is_local_spec, resolve_model
from ._errors import fail

__all__ = ["make_agent"]

OPEN_TIMEOUT = 60.0
"""Seconds a toolset gets to open when it is tried before a run: an MCP server that never
answers `initialize` is an error after this long, not a run that hangs."""


def _load_tools(specs: Iterable[str]) -> list[Tool]:
    """`module:attr` → a Tool, a function, or a list of them. Modules are also looked for
    in the current folder (as uvicorn does for `main:app`): the `parcall` script's own
    folder is on the path, the user's is not."""
    found: list[Any] = []
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        if not module_name or not attr:
            raise fail(f"--tools {spec!r}: write --tools module:attribute")
        try:
            value: Any = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise fail(f"--tools {spec!r}: cannot load it: {exc}") from None
        items = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(i, Tool) or callable(i) for i in items):
            raise fail(f"--tools {spec!r} is neither a tool nor a function")
        found.extend(items)
    try:
        return list(tool_map(found).values())
    except (TypeError, ValueError) as exc:  # e.g. two tools with one name, or *args
        raise fail(f"--tools: {exc}") from None


def _chosen_tools(
    tools: list[str] | None, mcp: list[str] | None, openapi: list[str] | None
) -> list[Tool]:
    """`--tools` if given; else none when `--mcp`/`--openapi` bring tools, else the demo ones
    (the toolsets' tools join these: they replace the built-in tools, and add to `--tools`)."""
    from ..tools import DEMO_TOOLS

    if tools:
        return _load_tools(tools)
    return [] if (mcp or openapi) else list(DEMO_TOOLS)


def _toolsets(mcp: Iterable[str], openapi: Iterable[str]) -> list[Toolset]:
    """`--mcp` / `--openapi` values as toolsets, opened when the run starts."""
    from ..tools.mcp import MCPToolset
    from ..tools.openapi import OpenAPIToolset

    found: list[Toolset] = []
    for spec in mcp:
        server = MCPToolset(spec)
        command = server.argv[0]
        if server.url is None and shutil.which(command) is None:
            # Found now, before a model loads, instead of when the first run opens it.
            where = "not an executable file" if os.sep in command else "not on PATH"
            raise fail(f"--mcp {spec!r}: there is no command {command!r} ({where})")
        found.append(server)
    for doc in openapi:
        if not doc.startswith(("http://", "https://")) and not Path(doc).is_file():
            raise fail(f"--openapi {doc!r}: there is no such file (give a path or an http(s) URL)")
        found.append(OpenAPIToolset(doc))
    return found


def _check_toolsets(toolsets: Sequence[Toolset]) -> None:
    """Open each toolset once and close it again, before a model loads or a server says it
    is serving: a server that starts and then fails (it exits, does not speak MCP, fails
    `initialize`) or a spec that cannot be read is an `error:` line with exit code 2."""
    for toolset in toolsets:
        try:
            problem = anyio.run(_open_problem, toolset)
        except KeyboardInterrupt:  # Ctrl-C while a server starts: no traceback
            raise typer.Exit(130) from None
        if problem is not None:
            raise fail(f"{_flag(toolset)}: {problem}")


def _flag(toolset: Toolset) -> str:
    from ..tools.mcp import MCPToolset
    from ..tools.openapi import OpenAPIToolset

    if isinstance(toolset, MCPToolset):
        return f"--mcp {toolset.label!r}"
    if isinstance(toolset, OpenAPIToolset):
        return f"--openapi {str(toolset.document)!r}"
    return repr(toolset)


async def _open_problem(toolset: Toolset) -> str | None:
    """What goes wrong when `toolset` opens, in a few words; None when it opens."""
    from ..tools.mcp import MCPToolset

    not_mcp = _NotMcp()
    mcp_log = logging.getLogger("mcp")
    propagates = mcp_log.propagate
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        if isinstance(toolset, MCPToolset) and toolset.url is None:
            toolset = copy.copy(toolset)  # its stderr is kept, to say why it stopped
            toolset.errlog = stderr
        mcp_log.addHandler(not_mcp)  # the SDK logs a traceback for each line it cannot read
        mcp_log.propagate = False
        try:
            with anyio.fail_after(OPEN_TIMEOUT):
                async with toolset.open():
                    return None
        except TimeoutError:
            problem = f"it did not open within {OPEN_TIMEOUT:g} s (is it an MCP server on stdio?)"
        except Exception as exc:  # whatever it is, the toolset cannot be used
            problem = _reason(exc, toolset)
        finally:
            mcp_log.removeHandler(not_mcp)
            mcp_log.propagate = propagates
        stderr.seek(0)
        last = [line.strip() for line in stderr.read().splitlines() if line.strip()][-1:]
    return problem + "".join(not_mcp.lines[:1]) + "".join(f"; it printed: {s:.200}" for s in last)


def _reason(exc: Exception, toolset: Toolset) -> str:
    from ..tools.mcp import MCPToolset

    text = str(exc) or type(exc).__name__
    if isinstance(toolset, MCPToolset):
        text = text.removeprefix(f"MCP server {toolset.label!r}: ")
    return text


class _NotMcp(logging.Handler):
    """Keeps what a server wrote that is not MCP's JSON-RPC (the SDK logs it)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        errors = getattr(exc, "errors", None)
        wrote = errors()[0].get("input") if callable(errors) and errors() else None
        if isinstance(wrote, str):
            self.lines.append(f"; it wrote {wrote[:80]!r}, which is not MCP (JSON-RPC)")
        else:
            self.lines.append(f"; {record.getMessage()}")


def _pull_with_progress(spec: str, console: Console) -> None:
    """Fetch a registry model before the run, showing progress (no-op when cached)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from ..models._local import PullProgress, list_models, pull

    if not (spec == "local" or spec.startswith("local:")):
        return
    wanted = [m for m in list_models() if m.name == spec or (spec == "local" and m.default)]
    if not wanted or wanted[0].cached:
        return
    info = wanted[0]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task(f"fetching {info.title}", total=info.size)

        def report(p: PullProgress) -> None:
            progress.update(
                bar,
                completed=p.done,
                total=p.total or info.size,
                description=f"fetching {info.title} ({p.source})",
            )

        pull(info.name.removeprefix("local:"), progress=report)
    console.print(f"[dim]{info.title} is in {info.path}[/dim]")


def make_agent(
    model: str,
    tools: list[str] | None,
    plan_format: str,
    constrained: bool | None,
    max_replans: int,
    console: Console,
) -> Agent:
    """The agent `run` and `shell` use: a model spec (a local one fetched with progress),
    `--tools` or the demo tools; a bad option exits with a clear error."""
    chosen = _chosen_tools(tools, None, None)
    local = is_local_spec(model)
    try:
        if local:
            _pull_with_progress(model, console)
        return Agent(
            resolve_model(model),
            chosen,
            settings={
                "max_replans": max_replans,
                "plan_format": plan_format,
                "constrained": constrained,
            },
        )
    except (ParcallError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
