"""Sync tool calls of one run, run by worker threads that share one queue.

A worker thread is hired with `anyio.to_thread.run_sync` (so anyio's thread limit holds and
`anyio.from_thread` works inside a tool) and takes queued calls one after another until the
queue is empty. A burst of quick calls then costs a few thread hand-offs instead of one
each, and their results come back to the event loop in batches: one wake-up for all the
calls that finished since the last. A call that no worker is free to take hires another
worker (up to the thread limit), so slow calls still run side by side.

A cancelled call is abandoned, as `to_thread.run_sync(..., abandon_on_cancel=True)` does it:
still queued, it never runs; running, its worker is let go (the thread finishes that call
and takes no other) and the run does not wait for it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Mapping
from contextvars import Context, copy_context
from typing import Any, Literal

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

__all__ = ["SyncCalls"]

_State = Literal["queued", "running", "finished", "abandoned"]


class _Worker:
    __slots__ = ("busy", "counted", "scope")

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.counted = True  # still among the run's workers (not gone, not let go)
        self.busy = False  # running a call (else idle)


class _Call:
    __slots__ = ("context", "done", "error", "function", "kwargs", "state", "value", "worker")

    def __init__(self, function: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.function = function
        self.kwargs = kwargs
        self.context: Context = copy_context()  # the caller's context variables, as to_thread
        self.done = anyio.Event()
        self.state: _State = "queued"
        self.worker: _Worker | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    @property
    def abandoned(self) -> bool:
        return self.state == "abandoned"


class SyncCalls:
    """Runs sync functions for one run's tasks on worker threads (see the module's doc)."""

    def __init__(self, task_group: TaskGroup) -> None:
        self._tg = task_group
        self._lock = threading.Lock()
        self._queue: deque[_Call] = deque()
        self._queued = 0  # calls in the queue that are not abandoned
        self._idle = 0  # workers hired that are not running a call
        self._workers = 0
        self._limit = int(anyio.to_thread.current_default_thread_limiter().total_tokens)
        self._finished: list[_Call] = []
        self._soon = _call_soon_threadsafe()

    async def call(self, function: Callable[..., Any], kwargs: Mapping[str, Any]) -> Any:
        """`function(**kwargs)` in a worker thread; abandoned if cancelled."""
        call = _Call(function, dict(kwargs))
        with self._lock:
            self._queue.append(call)
            self._queued += 1
        self._hire()
        try:
            await call.done.wait()
        except BaseException:
            self._abandon(call)
            raise
        if call.error is not None:
            raise call.error
        return call.value

    def _hire(self) -> None:
        """Hire workers while queued calls outnumber the idle ones (within the limit)."""
        while True:
            with self._lock:
                if self._queued <= self._idle or self._workers >= self._limit:
                    return
                self._workers += 1
                self._idle += 1
            self._tg.start_soon(self._work, name="parcall sync tool worker")

    def _abandon(self, call: _Call) -> None:
        with self._lock:
            state, call.state = call.state, "abandoned"
            if state == "queued":
                self._queued -= 1
                return
            worker = call.worker
            if state != "running" or worker is None or not worker.counted:
                return
            worker.counted = False  # let go: it finishes this call in its thread, no other
            self._workers -= 1
        worker.scope.cancel()
        self._hire()  # the calls queued behind it need someone else

    async def _work(self) -> None:
        worker = _Worker()
        try:
            with worker.scope:
                await anyio.to_thread.run_sync(self._drain, worker, abandon_on_cancel=True)
        finally:
            with self._lock:
                if worker.counted:  # cancelled with the run while idle or running
                    worker.counted = False
                    self._workers -= 1
                    if not worker.busy:
                        self._idle -= 1

    def _drain(self, worker: _Worker) -> None:
        """In the worker thread: run queued calls until none is left or it is let go."""
        while True:
            with self._lock:
                if not worker.counted:
                    return
                call = self._next()
                if call is None:
                    worker.counted = False
                    self._workers -= 1
                    self._idle -= 1
                    return
                call.state, call.worker = "running", worker
                worker.busy = True
                self._idle -= 1
            try:
                call.value = call.context.run(call.function, **call.kwargs)
            except BaseException as exc:  # the caller raises it
                call.error = exc
            with self._lock:
                worker.busy = False
                if worker.counted:
                    self._idle += 1
                if call.abandoned:  # while it ran, by its caller
                    continue
                call.state = "finished"
                first = not self._finished
                self._finished.append(call)
            if first:
                try:
                    self._soon(self._deliver)
                except RuntimeError:  # the event loop has closed: nobody waits any more
                    return

    def _next(self) -> _Call | None:
        while self._queue:
            call = self._queue.popleft()
            if call.state == "queued":
                self._queued -= 1
                return call
        return None

    def _deliver(self) -> None:
        """In the event loop: wake every caller whose call finished since the last time."""
        with self._lock:
            finished, self._finished = self._finished, []
        for call in finished:
            call.done.set()


def _call_soon_threadsafe() -> Callable[[Callable[[], None]], object]:
    """The running event loop's way to schedule a callback from another thread."""
    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:  # not on asyncio: trio
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
