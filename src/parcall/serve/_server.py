"""Running the app with uvicorn: in the foreground (`parcall serve`) or in a thread.

Shutdown (Ctrl-C, SIGTERM, or leaving `running_server`) stops accepting connections, lets
runs in flight finish for up to `shutdown_timeout` seconds, then cancels what is left.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._core.extras import missing_extra

try:
    import uvicorn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise missing_extra("uvicorn", needed_for="parcall serve") from exc

__all__ = ["listen", "running_server", "serve"]


def _config(app: Any, host: str, port: int, shutdown_timeout: float, **extra: Any) -> Any:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        timeout_graceful_shutdown=max(1, round(shutdown_timeout)),
        lifespan="on",
        **extra,
    )


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` (an IPv6 host has a `:`), as uvicorn binds one; raises
    `OSError` (the port is in use, the host is not this machine's) before anything is served."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    shutdown_timeout: float = 30.0,
    log_level: str = "info",
    sock: socket.socket | None = None,
) -> None:
    """Serve until interrupted, on `sock` if given (see `listen`), else on `host:port`."""
    server = uvicorn.Server(_config(app, host, port, shutdown_timeout, log_level=log_level))
    server.run(sockets=None if sock is None else [sock])


@contextmanager
def running_server(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    shutdown_timeout: float = 5.0,
    backlog: int = 2048,
) -> Iterator[str]:
    """Serve `app` from a thread while the block runs; yields the base URL
    (`http://127.0.0.1:PORT`). Port 0 picks a free port. Leaving the block shuts the server
    down as `parcall serve` does and waits for its thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    config = _config(
        app, host, bound, shutdown_timeout, log_level="warning", access_log=False, backlog=backlog
    )
    server = uvicorn.Server(config)
    # uvicorn installs signal handlers only in the main thread; here the owner stops it.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="parcall-serve", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start (see the log above)")
            threading.Event().wait(0.01)
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=shutdown_timeout + 10)
        sock.close()
