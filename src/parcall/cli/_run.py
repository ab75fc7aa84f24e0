"""`parcall run`: answer one question with tools, showing the plan and each task live."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import anyio
import typer
from rich.console import Console

from .._agent import Agent, PlanFormat
from .._core.errors import ParcallError
from .._core.events import Event
from .._core.outcome import outcome_fields
from .._core.result import RunResult
from .._core.trace import TraceWriter, event_to_dict
from .._run.timing import time_breakdown
from ..models._resolve import is_local_spec, resolve_model
from ..store._runs import default_journal_path
from ._agent_flags import _chosen_tools, _pull_with_progress, _toolsets
from ._errors import fail
from ._options import McpOption, OpenApiOption, SealedOption
from ._outcome import EXIT_CODES, print_outcome
from ._view import RunView, answered_by, first_task_started, load_model, show_run

__all__ = ["DEMO_QUESTION", "run"]

DEMO_QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"


def run(
    question: Annotated[str, typer.Argument(help="What to ask.")] = DEMO_QUESTION,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="local, local:tiny|small|medium, "
            "a .gguf path, openai:MODEL or http://HOST:PORT/v1#MODEL.",
        ),
    ] = "local",
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            "-t",
            help="module:attr of a tool, function or list (repeatable); "
            "default: the built-in offline encyclopedia, calculator and dates "
            "(none when --mcp or --openapi bring tools; those add to --tools).",
        ),
    ] = None,
    plan_format: Annotated[str, typer.Option("--format", help="text, json or tools.")] = "text",
    constrained: Annotated[
        bool | None,
        typer.Option(
            "--constrained/--free",
            help="Grammar-constrained plans (default: on when the model supports grammars, "
            "as local models do).",
        ),
    ] = None,
    max_replans: Annotated[
        int, typer.Option(help="How many new plans the joiner may ask for.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    trace: Annotated[Path | None, typer.Option(help="Write every event as JSONL here.")] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show llama.cpp's own log lines.")
    ] = False,
    mcp: McpOption = None,
    openapi: OpenApiOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan and the calls that act; make none.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Run tools that act without asking.")
    ] = False,
    log: Annotated[
        bool, typer.Option("--log", help="Log the run (see `parcall runs`; $PARCALL_RUNS_DB).")
    ] = False,
    durable: Annotated[
        bool,
        typer.Option(
            "--durable",
            help="Journal the run as it goes, so that `parcall runs resume ID` finishes it "
            "if it stops ($PARCALL_JOURNAL).",
        ),
    ] = False,
    journal_path: Annotated[
        Path | None,
        typer.Option("--journal", help="The journal for --durable (default: $PARCALL_JOURNAL)."),
    ] = None,
    resume_id: Annotated[str | None, typer.Option("--resume", hidden=True)] = None,
    sealed: SealedOption = False,
) -> None:
    """Answer QUESTION with tools, showing the plan and each task live.

    Before a tool that acts runs (an MCP tool not marked read-only, an OpenAPI write, a
    tool made with side_effects=True), the plan is shown and you are asked.
    """
    console = Console(stderr=as_json)
    from ._approval import DryRun, TerminalApprover

    if not question.strip():
        raise fail('the question is empty: ask something, e.g. parcall run "What is 2 + 2?"')
    formats = get_args(PlanFormat)
    if plan_format not in formats:
        raise fail(f"--format must be one of {', '.join(formats)}, not {plan_format!r}")
    chosen = _chosen_tools(tools, mcp, openapi)
    local = is_local_spec(model.strip())
    dry = DryRun() if dry_run else None
    asker = TerminalApprover(console, lambda: view.paused())
    approve = dry or (None if yes else asker)
    # Everything asked for is checked here, before any download or load.
    journal: dict[str, Any] = {}
    if durable or resume_id:
        journal = {
            "run_id": resume_id or uuid.uuid4().hex[:12],
            "resume": resume_id is not None,
            "meta": {
                "started_by": "parcall run",
                "model": model,
                "tools": tools,
                "plan_format": plan_format,
                "constrained": constrained,
                "max_replans": max_replans,
                "mcp": mcp,
                "openapi": openapi,
                "sealed": sealed,
            },
        }
    try:
        toolsets = _toolsets(mcp or [], openapi or [])
        backend = resolve_model(model, **({"verbose": verbose} if local else {}))
        agent = Agent(
            backend,
            chosen,
            max_replans=max_replans,
            plan_format=cast(PlanFormat, plan_format),
            constrained=constrained,
            approve=approve,
            toolsets=toolsets,
            policy="sealed" if sealed else None,
            store=(journal_path or default_journal_path()) if journal else None,
        )
    except (ParcallError, ValueError, TypeError) as exc:
        raise fail(exc) from None
    if trace is not None and not trace.parent.is_dir():
        raise fail(f"--trace {trace}: there is no folder {trace.parent}")
    try:
        if local:
            _pull_with_progress(model.strip(), console)
    except ParcallError as exc:
        raise fail(exc, 1) from None
    trace_file = trace.open("w", encoding="utf-8") if trace else None
    view = RunView(console, question, getattr(backend, "name", model), live=not as_json)
    writer = TraceWriter(trace_file) if trace_file else None

    async def go() -> tuple[RunResult, float]:
        load_s = await load_model(backend, console)
        return await show_run(agent, question, view, writer, **journal), load_s

    if journal:
        run_id = journal["run_id"]
        console.print(
            f"[dim]run {run_id} is journaled: if it stops, parcall runs resume {run_id}[/]"
        )

    try:
        result, load_s = anyio.run(go)
        if log:
            _log_run(question, model, list(result.events), None)
    except (ParcallError, ImportError) as exc:  # ImportError: an extra is not installed
        if log:
            partial = getattr(exc, "result", None)
            _log_run(question, model, list(getattr(partial, "events", ())), exc)
        raise fail(f"{type(exc).__name__}: {exc}", 1) from None
    except KeyboardInterrupt:
        again = f": `parcall runs resume {journal['run_id']}` continues it" if journal else ""
        console.print(f"[yellow]cancelled[/yellow]{again}")
        raise typer.Exit(130) from None
    finally:
        if trace_file:
            trace_file.close()
    timing = time_breakdown(result.events, result.observations, result.duration, load=load_s)
    if not as_json:
        console.print(f"[dim]time: {timing.describe()}[/dim]")
    if dry is not None:
        dry.report(console, result.plans)
    if not as_json:
        print_outcome(console, result)
    if as_json:
        payload = {
            "question": question,
            "answer": result.answer,
            **outcome_fields(result),
            "answered_by": answered_by(result),
            "duration_s": result.duration,
            "timing_s": event_to_dict(timing),
            "first_task_s": first_task_started(result),
            "usage": event_to_dict(result.usage),
            "plans": [p.text for p in result.plans],
            "plan_errors": [event_to_dict(e) for e in result.plan_errors],
            "observations": [event_to_dict(o) for o in result.observations],
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
    if EXIT_CODES[result.status]:  # a script can tell that the answer lacks something
        raise typer.Exit(EXIT_CODES[result.status])


def _log_run(question: str, model: str, events: list[Event], error: Exception | None) -> None:
    from ..observe import RunLog

    run_id = RunLog().record_events(events, request=question, model=model, error=error)
    Console(stderr=True).print(f"[dim]logged as run {run_id}[/dim]")
