"""`parcall serve`: flags in, `create_app` + uvicorn out."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ._options import McpOption, OpenApiOption, SealedOption

if TYPE_CHECKING:
    from .._core.events import Event
    from ..store import RunStore

__all__ = ["serve_command"]


def serve_command(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="local, local:tiny|small|medium, a .gguf path, openai:MODEL or "
            "http://HOST:PORT/v1#MODEL.",
        ),
    ] = "local",
    tools: Annotated[
        list[str] | None,
        typer.Option(
            "--tools",
            "-t",
            help="module:attr of a tool, function or list (repeatable); "
            "default: the built-in encyclopedia, calculator and dates "
            "(none when --mcp or --openapi bring tools; those add to --tools).",
        ),
    ] = None,
    mcp: McpOption = None,
    openapi: OpenApiOption = None,
    name: Annotated[str, typer.Option(help="The model name clients ask for.")] = "parcall",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0-65535; 0: any free one).")] = 8000,
    api_key_env: Annotated[
        str,
        typer.Option(
            "--api-key-env", help="Environment variable holding the API key (unset: no key)."
        ),
    ] = "PARCALL_API_KEY",
    max_body: Annotated[int, typer.Option(help="Largest request body, in bytes.")] = 1_000_000,
    max_running: Annotated[int, typer.Option(help="Runs at once.")] = 32,
    max_waiting: Annotated[int, typer.Option(help="Runs waiting for a slot (then 429).")] = 256,
    shutdown_timeout: Annotated[
        float, typer.Option(help="Seconds runs in flight get to finish on shutdown.")
    ] = 30.0,
    plan_format: Annotated[str, typer.Option("--format", help="text, json or tools.")] = "text",
    journal: Annotated[
        str | None,
        typer.Option(
            help="Journal every run here (a SQLite path, or postgresql://... shared by "
            "replicas); a request retried with the same Idempotency-Key header resumes its run.",
            show_default=False,
        ),
    ] = None,
    max_replans: Annotated[int, typer.Option(help="New plans the joiner may ask for.")] = 2,
    log: Annotated[
        bool, typer.Option("--log", help="Log every run (see `parcall runs`; $PARCALL_RUNS_DB).")
    ] = False,
    otel: Annotated[
        bool,
        typer.Option(
            "--otel", help="OpenTelemetry spans of every run (global provider; parcall[otel])."
        ),
    ] = False,
    sealed: SealedOption = False,
) -> None:
    """Serve an agent as an OpenAI-compatible model: POST /v1/chat/completions,
    GET /v1/models, GET /health.

    Exits with 2 on a bad option (a port outside 0-65535, an unknown model spec) and with 1
    when the port cannot be listened on (in use), before anything is served."""
    from .._agent import Agent
    from .._core.errors import ParcallError
    from ..models._resolve import resolve_model
    from ._app import _chosen_tools, _toolsets, fail

    console = Console(stderr=True)
    if not 0 <= port <= 65535:
        raise fail(f"--port must be between 0 and 65535, not {port}")
    try:
        from ..serve._app import Limits, create_app
        from ..serve._server import listen, serve
    except ImportError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    chosen = _chosen_tools(tools, mcp, openapi)
    try:
        limits = Limits(max_body, max_running, max_waiting)
        backend = resolve_model(model)
        agent = Agent(
            backend,
            chosen,
            settings={"max_replans": max_replans, "plan_format": plan_format},
            store=_journal(journal) if journal else None,
            toolsets=_toolsets(mcp or [], openapi or []),
            policy="sealed" if sealed else None,
        )
    except (ParcallError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    on_run = None
    if log:
        import anyio

        from ..observe import RunLog

        run_log = RunLog()

        async def on_run(
            question: str, events: Sequence[Event], error: BaseException | None
        ) -> None:
            def record() -> None:
                run_log.record_events(events, request=question, model=model, error=error)

            await anyio.to_thread.run_sync(record)

    api_key = os.environ.get(api_key_env) or None
    try:
        app = create_app(
            agent, name=name, api_key=api_key, limits=limits, on_run=on_run, spans=otel
        )
    except ImportError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:  # bound before it is announced: a port in use is an error, not a false "serving"
        sock = listen(host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None
    port = sock.getsockname()[1]
    console.print(
        f"serving {name!r} ({getattr(backend, 'name', model)}, {len(chosen)} tools"
        + (f" and {len(agent.toolsets)} toolsets opened per run" if agent.toolsets else "")
        + ") on "
        f"http://{host}:{port}/v1" + (" — API key required" if api_key else "")
    )
    with sock:
        serve(app, host=host, port=port, shutdown_timeout=shutdown_timeout, sock=sock)


def _journal(where: str) -> RunStore:
    """A SQLite file, or a PostgreSQL database for a journal shared by replicas."""
    from ..store import PostgresRunStore, SQLiteRunStore

    if where.startswith(("postgresql://", "postgres://")):
        return PostgresRunStore(where)
    return SQLiteRunStore(where)
