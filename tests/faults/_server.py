"""A misbehaving OpenAI-compatible HTTP server on 127.0.0.1, for the transport faults.

Plain sockets in a background thread, so it serves asyncio and trio tests alike and can do
what well-behaved frameworks will not: reset a connection mid-stream, send broken SSE, hold
the first byte. Each request gets the next scripted `Reply`; every connection is counted so a
test can assert that the client closed all of them.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Reply = Callable[[socket.socket, "MisbehavingServer"], None]
WAIT = 10.0  # seconds any server-side wait may last, so nothing here can hang a test


def chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {} if content is None else {"content": content}
    return json.dumps(
        {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def sse_events(text: str, *, piece: int = 7) -> list[str]:
    """`text` as SSE `data:` payloads of `piece` characters, then a stop and usage."""
    events = [chunk(text[i : i + piece]) for i in range(0, len(text), piece)]
    events.append(chunk(finish="stop"))
    events.append(
        json.dumps({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": len(events)}})
    )
    return events


def _head(status: int, reason: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def stream(text: str, *, first_byte_delay: float = 0.0, done: bool = True) -> Reply:
    """A good SSE stream of `text` (optionally after a pause before the first byte)."""
    return raw_events(sse_events(text), first_byte_delay=first_byte_delay, done=done)


def raw_events(
    payloads: Sequence[str], *, first_byte_delay: float = 0.0, done: bool = True
) -> Reply:
    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        if first_byte_delay and not _pause(conn, server, first_byte_delay):
            return
        conn.sendall(_head(200, "OK", {"Content-Type": "text/event-stream"}))
        for payload in payloads:
            conn.sendall(f"data: {payload}\n\n".encode())
        if done:
            conn.sendall(b"data: [DONE]\n\n")

    return reply


def _pause(conn: socket.socket, server: MisbehavingServer, seconds: float) -> bool:
    """Hold the reply for `seconds`; False as soon as the client hangs up (or the test ends)."""
    deadline = time.monotonic() + seconds
    while not server.stopping.is_set() and time.monotonic() < deadline:
        readable, _, _ = select.select([conn], [], [], 0.01)
        if readable and not conn.recv(4096, socket.MSG_PEEK):
            return False
    return not server.stopping.is_set()


def raw_bytes(data: bytes, content_type: str = "text/event-stream") -> Reply:
    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        conn.sendall(_head(200, "OK", {"Content-Type": content_type}) + data)

    return reply


def status(code: int, message: str = "boom", headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "test"}}).encode()
    hdrs = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    hdrs.update(headers or {})

    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        conn.sendall(_head(code, "Fault", hdrs) + body)

    return reply


def reset_after(text: str, events: int) -> Reply:
    """Send the first `events` SSE events of `text`, then reset the connection (RST)."""
    payloads = sse_events(text)[:events]

    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        conn.sendall(_head(200, "OK", {"Content-Type": "text/event-stream"}))
        for payload in payloads:
            conn.sendall(f"data: {payload}\n\n".encode())
        _reset(conn)

    return reply


def _reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer gets a TCP RST, not an orderly end of stream."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def reset_before_reply() -> Reply:
    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        _reset(conn)

    return reply


def trickle(text: str) -> Reply:
    """Send `text`, then one more token every 5 ms until the client goes away."""

    def reply(conn: socket.socket, server: MisbehavingServer) -> None:
        conn.sendall(_head(200, "OK", {"Content-Type": "text/event-stream"}))
        for payload in sse_events(text)[:-2]:
            conn.sendall(f"data: {payload}\n\n".encode())
        server.streaming.set()
        while not server.stopping.wait(0.005):
            conn.sendall(f"data: {chunk(' more')}\n\n".encode())  # raises once the client left

    return reply


@dataclass
class MisbehavingServer:
    replies: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    open_connections: int = 0
    connections: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    streaming: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[threading.Thread] = field(default_factory=list)
    _sock: socket.socket | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._sock.settimeout(0.05)
        self._spawn(self._accept)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(WAIT)
        assert self._sock is not None
        self._sock.close()

    def wait_all_closed(self, timeout: float = WAIT) -> bool:
        """Whether every connection ends (the client closed it) within `timeout`."""
        with self._lock:
            return self._lock.wait_for(lambda: self.open_connections == 0, timeout)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="fault-server", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.open_connections += 1
                self.connections += 1
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(WAIT)
        try:
            with conn:
                request = self._read_request(conn)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    reply = self.replies.pop(0) if self.replies else status(599, "no reply left")
                try:
                    reply(conn, self)
                    conn.shutdown(socket.SHUT_WR)
                    # Keep the socket until the client closes it, so `open_connections` says
                    # whether the client let go of the connection.
                    while not self.stopping.is_set() and conn.recv(4096):
                        pass
                except OSError:
                    pass  # the client went away (or we reset): the fault we wanted
        finally:
            with self._lock:
                self.open_connections -= 1
                self._lock.notify_all()

    @staticmethod
    def _read_request(conn: socket.socket) -> dict[str, Any] | None:
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                part = conn.recv(65536)
                if not part:
                    return None
                data += part
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                part = conn.recv(65536)
                if not part:
                    return None
                body += part
        except OSError:
            return None
        return dict(json.loads(body or b"{}"))


@contextmanager
def serving(*replies: Reply) -> Iterator[MisbehavingServer]:
    server = MisbehavingServer(list(replies))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def open_sockets() -> int | None:
    """Sockets this process holds open (Linux), or None where /proc is not available."""
    import os

    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return None
    count = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count
