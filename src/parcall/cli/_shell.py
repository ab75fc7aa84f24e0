"""`parcall shell`: ask question after question with one loaded model and its cache.

A new `parcall run` loads the model and reads the system prompt again (or restores it);
the shell does that once, and every later question only costs its own tokens.

The questions make one conversation: each run is given the earlier turns
(`message_history`), so a question may refer to an earlier one ("and the other one?").
`new` starts a new conversation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import anyio
import anyio.to_thread
from rich.console import Console

from .._agent import Agent
from .._core.errors import ParcallError
from .._core.history import Turn
from .._core.result import RunResult
from .._core.timing import time_breakdown
from ._agent_flags import make_agent
from ._options import (
    FormatOption,
    LocalConstrainedOption,
    MaxReplansOption,
    ModelOption,
    ShellToolsOption,
)
from ._outcome import print_outcome
from ._view import RunView, load_model, show_run

__all__ = ["repl", "shell"]

QUIT = frozenset({"exit", "quit", ":q"})
NEW = frozenset({"new", ":new"})


async def repl(
    agent: Agent,
    questions: AsyncIterator[str],
    console: Console,
    *,
    load_s: float = 0.0,
    live: bool = True,
) -> list[RunResult]:
    """Answer each question as it comes, until `exit`/`quit` or the end of input.

    Each question sees the turns before it (since the start or the last `new`). A failed run
    is reported, is left out of the conversation, and the loop goes on; the first run's time
    includes `load_s`.
    """
    results: list[RunResult] = []
    try:
        await _answer_each(agent, questions, console, results, load_s=load_s, live=live)
    finally:
        aclose = getattr(questions, "aclose", None)  # an async generator left early
        if aclose is not None:
            await aclose()
    return results


async def _answer_each(
    agent: Agent,
    questions: AsyncIterator[str],
    console: Console,
    results: list[RunResult],
    *,
    load_s: float,
    live: bool,
) -> None:
    model = getattr(agent.model, "name", "model")
    history: list[Turn] = []
    async for line in questions:
        question = line.strip()
        if not question:
            continue
        if question.lower() in QUIT:
            return
        if question.lower() in NEW:
            history.clear()
            console.print("[dim]a new conversation[/dim]")
            continue
        view = RunView(console, question, model, live=live)
        try:
            result = await show_run(agent, question, view, message_history=history)
        except ParcallError as exc:
            console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
            continue
        if not live:
            console.print(result.answer)
        load = load_s if not results else 0.0
        timing = time_breakdown(result.events, result.observations, result.duration, load=load)
        console.print(f"[dim]time: {timing.describe()}[/dim]")
        if result.status != "answered":
            print_outcome(console, result)
        results.append(result)
        history = result.all_messages()


async def _typed_lines(prompt: Callable[[], str]) -> AsyncIterator[str]:
    """Lines typed at the terminal (read in a thread, so the event loop keeps running)."""
    while True:
        try:
            yield await anyio.to_thread.run_sync(prompt)
        except EOFError:
            return


def shell(
    model: ModelOption = "local",
    tools: ShellToolsOption = None,
    plan_format: FormatOption = "text",
    constrained: LocalConstrainedOption = None,
    max_replans: MaxReplansOption = 2,
) -> None:
    """Ask questions one after another; the model stays loaded (type `exit` to leave)."""
    console = Console()
    agent = make_agent(model, tools, plan_format, constrained, max_replans, console)
    backend = agent.model

    async def go() -> None:
        load_s = await load_model(backend, console)
        console.print(
            f"[dim]{backend.name} is ready; type a question, `new` for a new conversation, "
            "or `exit`.[/dim]"
        )
        await repl(agent, _typed_lines(lambda: console.input("[bold cyan]? [/]")), console,
                   load_s=load_s)  # fmt: skip

    try:
        anyio.run(go)
    except KeyboardInterrupt:
        console.print()
