"""Tools from MCP servers, over stdio or streamable HTTP (`pip install 'parcall[mcp]'`).

```python
async with mcp_tools("python weather_server.py") as tools:   # or "http://127.0.0.1:8000/mcp"
    result = await Agent(model, tools).run("Weather in Oslo and Lima?")
```

One session per server: every tool of the server shares it, calls run concurrently over
it, and leaving the block closes it (the server process is stopped, the HTTP session
ended). `Agent(model, tools, toolsets=[MCPToolset("...")])` opens it for each run instead.

Results are typed: a tool's structured content is returned as data (a dict; a bare value
that the server wrapped as `{"result": value}` is unwrapped), text content as a `str`. A
result flagged as an error, a closed connection or a protocol error is a `ToolError`, which
the joiner sees as the task's observation.
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from collections.abc import AsyncIterator, Container, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.abc

from .._core.errors import ToolError, ToolsetError
from .._core.extras import require
from .._core.tool import Tool

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult
    from mcp.types import Tool as MCPTool

__all__ = ["MCPToolset", "mcp_tools"]

_log = logging.getLogger(__name__)
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def _import_mcp() -> Any:
    return require("mcp", needed_for="MCP tools")


class MCPToolset:
    """The tools of one MCP server, opened with `open()` (a `Toolset`).

    `target` is a command line (`"python server.py --flag"`, or a list of arguments) for a
    server on stdio, or an `http(s)://` URL for a streamable HTTP one. `headers` go with
    every HTTP request (e.g. authorization); `env` and `cwd` are for a stdio server, whose
    stderr goes to `errlog`. `timeout` bounds each call (None: no bound); `prefix` is put
    before every tool name. `side_effects` says which tools act (the approval gate asks
    before those run): None follows the server's hints (a tool acts unless it is marked
    read-only), True or False covers all, a set of names marks exactly those. `trusted`
    says whether the tools' outputs are trusted (see `Agent(policy=...)`); by default they
    are not: a server returns text that others may have written. `idempotent` says the
    same of which tools may have identical calls in a run made once: None follows the hints
    (`readOnlyHint` or `idempotentHint`); tools that act are never merged.
    """

    def __init__(
        self,
        target: str | Sequence[str],
        *,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        errlog: TextIO | None = None,
        timeout: float | None = 60.0,
        max_concurrency: int | None = None,
        prefix: str = "",
        side_effects: bool | Container[str] | None = None,
        trusted: bool = False,
        idempotent: bool | Container[str] | None = None,
    ) -> None:
        argv = shlex.split(target) if isinstance(target, str) else list(target)
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise ValueError(f"MCP server {target!r}: give a command line or an http(s):// URL")
        self.url = (
            argv[0] if len(argv) == 1 and argv[0].startswith(("http://", "https://")) else None
        )
        if headers and self.url is None:
            raise ValueError("headers are for an HTTP MCP server, not a command")
        if (env or cwd) and self.url is not None:
            raise ValueError("env and cwd are for an MCP server started as a command")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None)")
        self.argv = argv
        self.headers = dict(headers or {})
        self.env = dict(env) if env else None
        self.cwd = cwd
        self.errlog = errlog
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.prefix = prefix
        self.side_effects = side_effects
        self.trusted = trusted
        self.idempotent = idempotent

    def __repr__(self) -> str:
        return f"MCPToolset({self.label!r})"

    @property
    def label(self) -> str:
        return self.url or shlex.join(self.argv)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Sequence[Tool]]:
        """Start or connect to the server, list its tools, and yield them as parcall tools;
        the session closes when the block ends."""
        mcp = _import_mcp()
        session = _Session(self.label)
        failed: Exception | None = None  # errors leave the task group as they are, unwrapped
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            try:
                specs = await tg.start(session.host, self._client(mcp))
                tools = [self._tool(session, spec) for spec in specs]
                names = [t.name for t in tools]
                clash = sorted({n for n in names if names.count(n) > 1})
                if clash:
                    raise ValueError(f"tool names clash as {clash}")
            except Exception as exc:
                session.closing.set()
                failed = exc
            else:
                try:
                    yield tools
                except Exception as exc:
                    error = exc
                finally:
                    session.closing.set()
        if failed is not None:
            raise ToolsetError(f"MCP server {self.label!r}: {_describe(failed)}") from failed
        if error is not None:
            raise error

    def _client(self, mcp: Any) -> Client:
        if self.url is None:
            params = mcp.StdioServerParameters(
                command=self.argv[0], args=self.argv[1:], env=self.env, cwd=self.cwd
            )
            transport = mcp.stdio_client(params, errlog=_with_fileno(self.errlog or sys.stderr))
            return mcp.Client(transport)  # type: ignore[no-any-return]
        if not self.headers:
            return mcp.Client(self.url)  # type: ignore[no-any-return]
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        @asynccontextmanager
        async def with_headers() -> AsyncIterator[Any]:
            # The SDK's own timeouts: a response stream may stay open for minutes.
            timeout = httpx2.Timeout(30.0, read=300.0)
            async with (
                httpx2.AsyncClient(headers=self.headers, timeout=timeout) as http,
                streamable_http_client(self.url, http_client=http) as streams,  # type: ignore[arg-type]
            ):
                yield streams

        return mcp.Client(with_headers())  # type: ignore[no-any-return]

    def _acts(self, spec: MCPTool) -> bool:
        if isinstance(self.side_effects, bool):
            return self.side_effects
        if self.side_effects is not None:
            return spec.name in self.side_effects
        hints = spec.annotations
        return not (hints is not None and hints.read_only_hint is True)

    def _idempotent(self, spec: MCPTool) -> bool:
        if isinstance(self.idempotent, bool):
            return self.idempotent
        if self.idempotent is not None:
            return spec.name in self.idempotent
        hints = spec.annotations
        return hints is not None and (hints.read_only_hint is True or hints.idempotent_hint is True)

    def _tool(self, session: _Session, spec: MCPTool) -> Tool:
        schema: Mapping[str, Any] = spec.input_schema or {"type": "object"}
        required = set(schema.get("required") or ())

        async def call(**arguments: Any) -> Any:
            # Optional arguments the plan left out are not sent (the server has defaults).
            sent = {k: v for k, v in arguments.items() if v is not None or k in required}
            return _value(spec, await session.call(spec.name, sent))

        return Tool.from_schema(
            _NOT_NAME.sub("_", f"{self.prefix}{spec.name}"),
            schema,
            call,
            description=spec.description or spec.title or "",
            timeout=self.timeout,
            max_concurrency=self.max_concurrency,
            side_effects=self._acts(spec),
            trusted=self.trusted,
            idempotent=self._idempotent(spec),
        )


class _Session:
    """One client session, hosted by a task of its own.

    The SDK runs a transport inside a task group: when the server dies, that group fails
    and cancels whatever runs inside it. Hosting the session in its own task keeps that
    failure away from the run; the calls in flight are then failed here, as `ToolError`s.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.client: Client | None = None
        self.closing = anyio.Event()
        self.lost: str | None = None
        self._calls: set[anyio.CancelScope] = set()

    async def host(
        self, client: Client, *, task_status: anyio.abc.TaskStatus[list[MCPTool]]
    ) -> None:
        started = False
        try:
            async with client:
                self.client = client
                specs: list[MCPTool] = []
                cursor: str | None = None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    specs.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                task_status.started(specs)
                started = True
                await self.closing.wait()
        except Exception as exc:
            if not started:
                raise
            self.lost = _describe(exc)
            _log.debug("MCP server %r: session ended: %s", self.label, self.lost)
        finally:
            self.lost = self.lost or "the session is closed"
            for scope in self._calls:
                scope.cancel()

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        if self.lost is not None or self.client is None:
            raise ToolError(f"MCP server {self.label!r}: {self.lost}")
        with anyio.CancelScope() as scope:
            self._calls.add(scope)
            try:
                return await self.client.call_tool(name, arguments)
            except Exception as exc:
                raise ToolError(f"MCP server {self.label!r}: {_describe(exc)}") from exc
            finally:
                self._calls.discard(scope)
        raise ToolError(f"MCP server {self.label!r}: {self.lost}")  # cancelled by `host`


def mcp_tools(
    target: str | Sequence[str], **options: Any
) -> AbstractAsyncContextManager[Sequence[Tool]]:
    """`async with mcp_tools("cmd args" or "http://…/mcp") as tools:` — see `MCPToolset`."""
    return MCPToolset(target, **options).open()


def _value(spec: MCPTool, result: CallToolResult) -> Any:
    texts = [c.text for c in result.content if c.type == "text"]
    if result.is_error:
        raise ToolError("\n".join(texts) or f"{spec.name} reported an error")
    data = result.structured_content
    if data is not None:
        shape = (spec.output_schema or {}).get("properties")
        if isinstance(shape, Mapping) and set(shape) == {"result"} and set(data) == {"result"}:
            return data["result"]  # a bare value the server wrapped
        return data
    if len(texts) == len(result.content):
        return "\n".join(texts)
    return [
        c.text if c.type == "text" else c.model_dump(mode="json", exclude_none=True)
        for c in result.content
    ]


def _with_fileno(stream: TextIO) -> TextIO:
    """The server's stderr must be a real file; a captured `sys.stderr` (a test runner,
    a notebook) is not, so the process's own stderr stands in."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or stream
    return stream


def _describe(exc: BaseException) -> str:
    """The first real error inside (exception groups from the SDK's task groups included)."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = str(exc) or type(exc).__name__
    if text == "Connection closed":
        return "the connection closed (did the server exit?)"
    return text
