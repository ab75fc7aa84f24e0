"""MCP tools against real MCP servers started by the tests (stdio and streamable HTTP)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from conftest import FINISH, plan
from parcall import Agent, ScriptedModel, ToolsetError

pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")
psutil = pytest.importorskip("psutil", reason="needs the dev extra: pip install -e '.[dev]'")

from parcall.tools.mcp import MCPToolset, mcp_tools  # noqa: E402

pytestmark = pytest.mark.anyio

SERVER = str(Path(__file__).parents[1] / "servers" / "mcp_demo.py")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # each test starts a server process: one backend keeps the suite short


def stdio_children() -> list[object]:
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if SERVER in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE
    ]


def open_connections(port: int) -> list[object]:
    return [
        c for c in psutil.Process().net_connections(kind="tcp") if c.raddr and c.raddr.port == port
    ]


class HttpServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, SERVER, "http"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # printed once the socket is bound
        assert line.startswith("PORT "), f"the test server did not start: {line!r}"
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/mcp"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=20)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["stdio", "http"])
def toolset(request: pytest.FixtureRequest) -> Iterator[MCPToolset]:
    """A toolset on a fresh server; afterwards, asserts no process or socket is left."""
    if request.param == "stdio":
        yield MCPToolset([sys.executable, SERVER, "stdio"], timeout=30)
        assert stdio_children() == []
        return
    server = HttpServer()
    try:
        yield MCPToolset(server.url, timeout=30)
        assert open_connections(server.port) == []
    finally:
        server.stop()


async def test_tools_keep_schema_description_and_typed_results(toolset: MCPToolset) -> None:
    async with toolset.open() as tools:
        by_name = {t.name: t for t in tools}
        assert {"add", "shout", "together", "fail", "stall", "die"} <= set(by_name)
        add = by_name["add"]
        assert add.description == "Add two integers."
        assert add.parameters == ("a", "b") and add.required == {"a", "b"}
        assert await add.call(add.validate({"a": 2, "b": 3})) == {"total": 5, "terms": [2, 3]}
        shout = by_name["shout"]
        assert await shout.call(shout.validate({"text": "hi"})) == "HI"  # unwrapped, a str
        assert not shout.side_effects  # the server marks it read-only
        assert add.side_effects  # unmarked tools may act


async def test_many_calls_at_once_share_one_session(toolset: MCPToolset) -> None:
    # Each call waits on the server until all five are in progress: only parallel calls end.
    lines = [f"{i}. together(n=5)" for i in range(1, 6)]
    model = ScriptedModel([plan(*lines), FINISH])
    with anyio.fail_after(40):
        result = await Agent(model, [], toolsets=[toolset]).run("q")
    assert result.values == {i: "5 together" for i in range(1, 6)}


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_trio_runs_mcp_tools_too() -> None:
    lines = [f"{i}. together(n=3)" for i in range(1, 4)]
    model = ScriptedModel([plan(*lines), FINISH])
    toolset = MCPToolset([sys.executable, SERVER, "stdio"], timeout=30)
    with anyio.fail_after(40):
        result = await Agent(model, [], toolsets=[toolset]).run("q")
    assert result.values == {i: "3 together" for i in range(1, 4)}
    assert stdio_children() == []


async def test_a_tool_error_is_an_observation_and_the_run_goes_on(toolset: MCPToolset) -> None:
    model = ScriptedModel([plan('1. fail(why="bad input")', '2. shout(text="ok")'), FINISH])
    result = await Agent(model, [], toolsets=[toolset]).run("q")
    failed, done = result.observations
    assert failed.error_type == "ToolError"
    assert "failed on purpose: bad input" in (failed.error or "")
    assert done.value == "OK"


async def test_a_server_that_dies_mid_call_fails_its_calls_without_hanging(
    toolset: MCPToolset,
) -> None:
    model = ScriptedModel([plan("1. stall()", "2. die()"), FINISH])
    with anyio.fail_after(40):
        result = await Agent(model, [], toolsets=[toolset]).run("q")
    assert [o.status for o in result.observations] == ["failed", "failed"]
    assert all(o.error_type == "ToolError" for o in result.observations)
    assert any("MCP server" in (o.error or "") for o in result.observations)


async def test_a_slow_call_hits_the_timeout_and_the_session_still_works() -> None:
    model = ScriptedModel([plan("1. stall()"), FINISH, plan('1. shout(text="after")'), FINISH])
    async with mcp_tools([sys.executable, SERVER, "stdio"], timeout=0.5) as tools:
        agent = Agent(model, tools)
        with anyio.fail_after(40):
            stalled = await agent.run("q")
            after = await agent.run("q")  # the same session, after a cancelled call
    assert stalled.observations[0].error_type == "ToolTimeoutError"
    assert after.values == {1: "AFTER"}
    assert stdio_children() == []


async def test_the_context_manager_closes_the_session_even_on_error() -> None:
    with pytest.raises(RuntimeError, match="user code"):
        async with mcp_tools([sys.executable, SERVER, "stdio"]) as tools:
            assert tools
            raise RuntimeError("user code")
    assert stdio_children() == []


async def test_a_command_that_cannot_start_is_a_clear_error() -> None:
    with anyio.fail_after(20), pytest.raises(ToolsetError, match="no-such-mcp-server"):
        async with mcp_tools("/nonexistent/no-such-mcp-server --flag"):
            pass


async def test_a_command_that_is_no_mcp_server_is_a_clear_error() -> None:
    with anyio.fail_after(30), pytest.raises(ToolsetError, match="MCP server"):
        async with mcp_tools([sys.executable, "-c", "print('hello')"]):
            pass
    assert psutil.Process().children() == []


async def test_an_http_url_with_nothing_listening_is_a_clear_error(
    http_server: HttpServer,
) -> None:
    http_server.stop()  # the port was real a moment ago; now nothing answers there
    with anyio.fail_after(30), pytest.raises(ToolsetError, match="MCP server"):
        async with mcp_tools(http_server.url):
            pass
    assert open_connections(http_server.port) == []


async def test_headers_reach_an_http_server(http_server: HttpServer) -> None:
    toolset = MCPToolset(http_server.url, headers={"X-Api-Key": "k"})
    async with toolset.open() as tools:
        shout = next(t for t in tools if t.name == "shout")
        assert await shout.call({"text": "x"}) == "X"
    assert open_connections(http_server.port) == []


def test_bad_targets_are_rejected_up_front() -> None:
    with pytest.raises(ValueError, match="command line"):
        MCPToolset("")
    with pytest.raises(ValueError, match="headers are for an HTTP"):
        MCPToolset("python server.py", headers={"a": "b"})


def test_a_missing_mcp_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)

    async def go() -> None:
        async with mcp_tools("python server.py"):
            pass

    with pytest.raises(ImportError, match=r"parcall\[mcp\]"):
        anyio.run(go)
