"""Fusion: calls of a tool with a batch form, ready at about the same time, go as one call."""

from __future__ import annotations

import inspect
from typing import Any

import anyio

from .._core.errors import ToolTimeoutError
from .._core.events import PassApplied, TaskStarted
from .._core.observation import Observation
from .._core.tool import Tool
from .._run.plan_pass import Call, PassContext, PassRun, Proceed

__all__ = ["Fusion"]


class Fusion:
    """Calls of a tool declared with `batch=` (`@tool(batch=search_many)`) that become ready
    within `window` seconds of the first are sent as one batch call (at most `max_batch`
    calls) and its results are split back, one per task.

    The batch call takes one slot of the tool's limits and its `timeout`. If it fails, or
    returns a list of the wrong length, every call of the batch runs on its own instead
    (with its retries), so fusion never turns a call that would succeed into a failure.
    A call that is alone in its window runs as a plain call.
    """

    name = "fusion"

    def __init__(self, *, window: float = 0.002, max_batch: int = 64) -> None:
        if window < 0:
            raise ValueError("window must be >= 0 seconds")
        if max_batch < 2:
            raise ValueError("max_batch must be at least 2")
        self.window = window
        self.max_batch = max_batch
        self.batches = 0
        self.fused_calls = 0

    def start(self, run: PassContext) -> PassRun:
        return _FusionRun(self, run)


class _Batch:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.full = anyio.Event()
        self.done = anyio.Event()
        self.observations: list[Observation] | None = None


class _FusionRun(PassRun):
    def __init__(self, fusion: Fusion, run: PassContext) -> None:
        self._fusion = fusion
        self._run = run
        self._open: dict[str, _Batch] = {}

    async def call(self, call: Call, proceed: Proceed) -> Observation:
        if call.tool.batch is None:
            return await proceed(call)
        name = call.tool.name
        batch = self._open.get(name)
        if batch is not None:
            batch.calls.append(call)
            me = len(batch.calls) - 1
            if len(batch.calls) >= self._fusion.max_batch:
                self._open.pop(name, None)
                batch.full.set()
            await batch.done.wait()
            if batch.observations is None:
                return await proceed(call)
            return batch.observations[me]
        batch = self._open[name] = _Batch()
        batch.calls.append(call)
        try:
            with anyio.move_on_after(self._fusion.window):
                await batch.full.wait()
            if self._open.get(name) is batch:
                del self._open[name]
            if len(batch.calls) > 1:
                batch.observations = await self._send(batch.calls)
        finally:
            batch.done.set()
        if batch.observations is None:
            return await proceed(call)
        return batch.observations[0]

    async def _send(self, calls: list[Call]) -> list[Observation] | None:
        tool = calls[0].tool
        idxs = tuple(c.task.idx for c in calls)
        async with calls[0].capacity():
            started = self._run.clock()
            self._run.emit(
                PassApplied(
                    "fusion",
                    idxs[0],
                    f"{len(calls)} calls of {tool.name} sent as one batch call",
                    idxs[1:],
                    started,
                )
            )
            for c in calls:
                self._run.emit(TaskStarted(c.task.idx, c.task.tool, c.arguments, 0, started))
            try:
                values = await _batch_call(tool, [dict(c.arguments) for c in calls])
            except Exception as exc:  # fall back to one call each
                self._fallback(idxs, f"the batch call failed ({type(exc).__name__}: {exc})")
                return None
        if not isinstance(values, list) or len(values) != len(calls):
            got = len(values) if isinstance(values, list) else type(values).__name__
            self._fallback(idxs, f"the batch call returned {got} results for {len(calls)} calls")
            return None
        self._fusion.batches += 1
        self._fusion.fused_calls += len(calls)
        finished = self._run.clock()
        return [
            Observation.done(
                c.task.idx,
                c.task.tool,
                c.arguments,
                value,
                started_at=started,
                finished_at=finished,
                attempts=1,
            )
            for c, value in zip(calls, values)
        ]

    def _fallback(self, idxs: tuple[int, ...], why: str) -> None:
        self._run.emit(
            PassApplied(
                "fusion", idxs[0], f"{why}: each call runs on its own", idxs[1:], self._run.clock()
            )
        )


async def _batch_call(tool: Tool, calls: list[dict[str, Any]]) -> Any:
    batch = tool.batch
    assert batch is not None

    async def run() -> Any:
        if inspect.iscoroutinefunction(batch):
            return await batch(calls)
        if tool.inline:
            return batch(calls)
        return await anyio.to_thread.run_sync(lambda: batch(calls), abandon_on_cancel=True)

    if tool.timeout is None:
        return await run()
    with anyio.move_on_after(tool.timeout):
        return await run()
    raise ToolTimeoutError(f"the batch call of {tool.name} did not finish in {tool.timeout:g} s")
