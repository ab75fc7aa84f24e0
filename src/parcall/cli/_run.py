"""`parcall run`: answer one question with tools, showing the plan and each task live."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import anyio
import typer
from rich.console import Console

from .._agent import Agent, PlanFormat
from .._core.errors import ParcallError
from .._core.events import Event
from .._core.result import RunResult, outcome_fields
from .._core.timing import time_breakdown
from .._core.trace import TraceWriter, event_to_dict
from ..models._resolve import is_local_spec, resolve_model
from ..store._runs import default_journal_path
from ._agent_flags import _check_toolsets, _chosen_tools, _pull_with_progress, _toolsets
from ._approval import DryRun, TerminalApprover
from ._errors import fail
from ._options import (
    CalculatorOption,
    ConstrainedOption,
    FormatOption,
    MaxReplansOption,
    McpOption,
    ModelOption,
    OpenApiOption,
    SealedOption,
    ToolsOption,
)
from ._outcome import EXIT_CODES, print_outcome
from ._view import RunView, answered_by, first_task_started, load_model, show_run

if TYPE_CHECKING:
    from ..models._base import Model

__all__ = ["DEMO_QUESTION", "run"]

DEMO_QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"

QuestionArgument = Annotated[str, typer.Argument(help="What to ask.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
TraceOption = Annotated[Path | None, typer.Option(help="Write every event as JSONL here.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show llama.cpp's own log lines.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show the plan and the calls that act; make none.")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Run tools that act without asking.")]
LogOption = Annotated[
    bool, typer.Option("--log", help="Log the run (see `parcall runs`; $PARCALL_RUNS_DB).")
]
DurableOption = Annotated[
    bool,
    typer.Option(
        "--durable",
        help="Journal the run as it goes, so that `parcall runs resume ID` finishes it "
        "if it stops ($PARCALL_JOURNAL).",
    ),
]
JournalOption = Annotated[
    Path | None,
    typer.Option("--journal", help="The journal for --durable (default: $PARCALL_JOURNAL)."),
]
ResumeOption = Annotated[str | None, typer.Option("--resume", hidden=True)]


def run(
    question: QuestionArgument = DEMO_QUESTION,
    model: ModelOption = "local",
    tools: ToolsOption = None,
    plan_format: FormatOption = "text",
    constrained: ConstrainedOption = None,
    max_replans: MaxReplansOption = 2,
    as_json: JsonOption = False,
    trace: TraceOption = None,
    verbose: VerboseOption = False,
    mcp: McpOption = None,
    openapi: OpenApiOption = None,
    dry_run: DryRunOption = False,
    yes: YesOption = False,
    log: LogOption = False,
    durable: DurableOption = False,
    journal_path: JournalOption = None,
    resume_id: ResumeOption = None,
    sealed: SealedOption = False,
    calculator: CalculatorOption = True,
) -> None:
    """Answer QUESTION with tools, showing the plan and each task live.

    Before a tool that acts runs (an MCP tool not marked read-only, an OpenAPI write, a
    tool made with side_effects=True), the plan is shown and you are asked.
    """
    console = Console(stderr=as_json)
    _check_question(question, plan_format)
    chosen = _chosen_tools(tools, mcp, openapi)
    local = is_local_spec(model.strip())
    dry = DryRun() if dry_run else None
    views: list[RunView] = []  # the live view, made once the model is known; asking pauses it
    asker = TerminalApprover(console, lambda: views[0].paused())
    approve = dry or (None if yes else asker)
    # Everything asked for is checked here, before any download or load.
    journal: dict[str, Any] = {}
    if durable or resume_id:
        journal = _journaled(
            resume_id,
            model=model,
            tools=tools,
            settings={  # the fields of Settings chosen on the command line
                "plan_format": plan_format,
                "constrained": constrained,
                "max_replans": max_replans,
            },
            mcp=mcp,
            openapi=openapi,
            sealed=sealed,
            calculator=calculator,
        )
    try:
        toolsets = _toolsets(mcp or [], openapi or [])
        backend = resolve_model(model, **({"verbose": verbose} if local else {}))
        agent = Agent(
            backend,
            chosen,
            settings={
                "max_replans": max_replans,
                "plan_format": plan_format,
                "constrained": constrained,
                "calculator": calculator,
            },
            approve=approve,
            toolsets=toolsets,
            policy="sealed" if sealed else None,
            store=(journal_path or default_journal_path()) if journal else None,
        )
    except (ParcallError, ValueError, TypeError) as exc:
        raise fail(exc) from None
    _check_toolsets(toolsets)
    _check_trace_and_fetch(model.strip() if local else None, trace, console)
    views.append(RunView(console, question, getattr(backend, "name", model), live=not as_json))
    result, load_s = _answer(agent, backend, question, views[0], trace, journal, log, model)
    _report(console, question, result, load_s, dry, as_json=as_json)


def _check_question(question: str, plan_format: str) -> None:
    if not question.strip():
        raise fail('the question is empty: ask something, e.g. parcall run "What is 2 + 2?"')
    formats = get_args(PlanFormat)
    if plan_format not in formats:
        raise fail(f"--format must be one of {', '.join(formats)}, not {plan_format!r}")


def _journaled(resume_id: str | None, **options: Any) -> dict[str, Any]:
    """The journal arguments of `Agent.run`: the run's id, and the options that `parcall runs
    resume` builds the same agent again from."""
    return {
        "run_id": resume_id or uuid.uuid4().hex[:12],
        "resume": resume_id is not None,
        "meta": {"started_by": "parcall run", **options},
    }


def _check_trace_and_fetch(local: str | None, trace: Path | None, console: Console) -> None:
    """The last checks, then a local model fetched (with progress) if it is not here yet."""
    if trace is not None and not trace.parent.is_dir():
        raise fail(f"--trace {trace}: there is no folder {trace.parent}")
    try:
        if local:
            _pull_with_progress(local, console)
    except ParcallError as exc:
        raise fail(exc, 1) from None


def _answer(
    agent: Agent,
    backend: Model,
    question: str,
    view: RunView,
    trace: Path | None,
    journal: dict[str, Any],
    log: bool,
    model: str,
) -> tuple[RunResult, float]:
    """Load the model and run, shown live (and traced, logged or journaled as asked): the
    result and the seconds loading took."""
    console = view.console
    trace_file = trace.open("w", encoding="utf-8") if trace else None
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
    return result, load_s


def _report(
    console: Console,
    question: str,
    result: RunResult,
    load_s: float,
    dry: DryRun | None,
    *,
    as_json: bool,
) -> None:
    """The time, the dry run's calls and the outcome (or all of it as JSON); the exit code."""
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
