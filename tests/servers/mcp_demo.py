"""A small MCP server for the adapter tests: `python mcp_demo.py stdio` or `... http`.

Over HTTP it binds 127.0.0.1 on a free port and prints `PORT <n>` on stdout once listening.
"""

from __future__ import annotations

import os
import socket
import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel

server = MCPServer("parcall-test", log_level="CRITICAL")
_arrived = 0
_all_here = anyio.Event()


class Sum(BaseModel):
    total: int
    terms: list[int]


@server.tool()
def add(a: int, b: int) -> Sum:
    """Add two integers."""
    return Sum(total=a + b, terms=[a, b])


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@server.tool()
async def together(n: int) -> str:
    """Wait until `n` calls of this tool are in progress at once, then return."""
    global _all_here
    global _arrived
    _arrived += 1
    if _arrived >= n:
        _all_here.set()
    await _all_here.wait()
    return f"{n} together"


@server.tool()
def fail(why: str) -> str:
    """Always fails."""
    raise ToolError(f"failed on purpose: {why}")


@server.tool()
async def stall() -> str:
    """Never answers."""
    await anyio.sleep_forever()
    return "never"


@server.tool()
def die() -> str:
    """Ends the server process in the middle of the call."""
    os._exit(3)


def main() -> None:
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run("stdio")
        return
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    uv.run(sockets=[sock])


if __name__ == "__main__":
    main()
