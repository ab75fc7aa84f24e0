"""`parcall serve`: flags in, `create_app` + uvicorn out."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from .._agent import Agent
from .._core.errors import ParcallError
from .._core.tool import Tool
from ..models._resolve import resolve_model
from ._agent_flags import _check_toolsets, _chosen_tools, _toolsets
from ._errors import fail
from ._options import (
    CalculatorOption,
    FormatOption,
    MaxReplansOption,
    McpOption,
    ModelOption,
    OpenApiOption,
    SealedOption,
    ToolsOption,
)

if TYPE_CHECKING:
    from .._core.events import Event
    from ..models._base import Model
    from ..store import RunStore

__all__ = ["serve_command"]

OnRun = Callable[[str, Sequence["Event"], BaseException | None], Awaitable[None]]

NameOption = Annotated[str, typer.Option(help="The model name clients ask for.")]
HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on (0-65535; 0: any free one).")]
ApiKeyEnvOption = Annotated[
    str,
    typer.Option("--api-key-env", help="Environment variable holding the API key (unset: no key)."),
]
MaxBodyOption = Annotated[int, typer.Option(help="Largest request body, in bytes.")]
MaxRunningOption = Annotated[int, typer.Option(help="Runs at once.")]
MaxWaitingOption = Annotated[int, typer.Option(help="Runs waiting for a slot (then 429).")]
ShutdownTimeoutOption = Annotated[
    float, typer.Option(help="Seconds runs in flight get to finish on shutdown.")
]
JournalOption = Annotated[
    str | None,
    typer.Option(
        help="Journal every run here (a SQLite path, or postgresql://... shared by "
        "replicas); a request retried with the same Idempotency-Key header resumes its run.",
        show_default=False,
    ),
]
LogOption = Annotated[
    bool, typer.Option("--log", help="Log every run (see `parcall runs`; $PARCALL_RUNS_DB).")
]
OtelOption = Annotated[
    bool,
    typer.Option(
        "--otel", help="OpenTelemetry spans of every run (global provider; parcall[otel])."
    ),
]


def serve_command(
    model: ModelOption = "local",
    tools: ToolsOption = None,
    mcp: McpOption = None,
    openapi: OpenApiOption = None,
    name: NameOption = "parcall",
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    api_key_env: ApiKeyEnvOption = "PARCALL_API_KEY",
    max_body: MaxBodyOption = 1_000_000,
    max_running: MaxRunningOption = 32,
    max_waiting: MaxWaitingOption = 256,
    shutdown_timeout: ShutdownTimeoutOption = 30.0,
    plan_format: FormatOption = "text",
    journal: JournalOption = None,
    max_replans: MaxReplansOption = 2,
    log: LogOption = False,
    otel: OtelOption = False,
    sealed: SealedOption = False,
    calculator: CalculatorOption = True,
) -> None:
    """Serve an agent as an OpenAI-compatible model: POST /v1/chat/completions,
    GET /v1/models, GET /health.

    Exits with 2 on a bad option (a port outside 0-65535, an unknown model spec, an MCP server
    or OpenAPI document that does not open) and with 1 when the port cannot be listened on
    (in use), before anything is served."""
    if not 0 <= port <= 65535:
        raise fail(f"--port must be between 0 and 65535, not {port}")
    try:
        from ..serve._app import Limits, create_app
        from ..serve._server import listen, serve
    except ImportError as exc:
        raise fail(exc) from None
    chosen = _chosen_tools(tools, mcp, openapi)
    try:
        limits = Limits(max_body, max_running, max_waiting)
    except ValueError as exc:
        raise fail(exc) from None
    backend, agent = _build_agent(
        model, chosen, max_replans, plan_format, journal, mcp, openapi, sealed, calculator
    )
    _check_toolsets(agent.toolsets)  # a server that fails is found now, not at a request
    api_key = os.environ.get(api_key_env) or None
    try:
        app = create_app(
            agent,
            name=name,
            api_key=api_key,
            limits=limits,
            on_run=_run_log(model) if log else None,
            spans=otel,
        )
    except ImportError as exc:
        raise fail(exc) from None
    try:  # bound before it is announced: a port in use is an error, not a false "serving"
        sock = listen(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None
    port = sock.getsockname()[1]
    Console(stderr=True).print(
        f"serving {name!r} ({getattr(backend, 'name', model)}, {len(chosen)} tools"
        + (f" and {len(agent.toolsets)} toolsets opened per run" if agent.toolsets else "")
        + ") on "
        f"http://{host}:{port}/v1" + (" — API key required" if api_key else "")
    )
    with sock:
        serve(app, host=host, port=port, shutdown_timeout=shutdown_timeout, sock=sock)


def _build_agent(
    model: str,
    chosen: list[Tool],
    max_replans: int,
    plan_format: str,
    journal: str | None,
    mcp: list[str] | None,
    openapi: list[str] | None,
    sealed: bool,
    calculator: bool = True,
) -> tuple[Model, Agent]:
    """The model (not loaded yet) and the agent every request runs; a bad option is an
    `error:` line."""
    try:
        backend = resolve_model(model)
        agent = Agent(
            backend,
            chosen,
            settings={
                "max_replans": max_replans,
                "plan_format": plan_format,
                "calculator": calculator,
            },
            store=_journal(journal) if journal else None,
            toolsets=_toolsets(mcp or [], openapi or []),
            policy="sealed" if sealed else None,
        )
    except (ParcallError, ValueError) as exc:
        raise fail(exc) from None
    return backend, agent


def _run_log(model: str) -> OnRun:
    """Each finished run recorded in the run log (`parcall runs`), off the event loop."""
    import anyio

    from ..observe import RunLog

    run_log = RunLog()

    async def on_run(question: str, events: Sequence[Event], error: BaseException | None) -> None:
        def record() -> None:
            run_log.record_events(events, request=question, model=model, error=error)

        await anyio.to_thread.run_sync(record)

    return on_run


def _journal(where: str) -> RunStore:
    """A SQLite file, or a PostgreSQL database for a journal shared by replicas."""
    from ..store import PostgresRunStore, SQLiteRunStore

    if where.startswith(("postgresql://", "postgres://")):
        return PostgresRunStore(where)
    return SQLiteRunStore(where)
