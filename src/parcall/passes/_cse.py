"""Common-subexpression elimination: the same call of an idempotent tool runs once a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import anyio

from .._core.call_key import mergeable
from .._core.events import PassApplied
from .._core.observation import Observation
from .._core.tool import Tool
from .._run.plan_pass import Call, Pass, PassContext, PassRun, Proceed
from ._key import idempotent_key

__all__ = ["CommonSubexpressions", "default_passes"]


class _Shared:
    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.done = anyio.Event()
        self.observation: Observation | None = None


class CommonSubexpressions:
    """A call identical to an earlier one of the same run (same tool, equal resolved
    arguments) of a tool marked `idempotent` takes the earlier call's result instead of
    running. It waits for the earlier call if that is still running.

    Conservative by construction: tools not marked idempotent, and tools with
    `side_effects=True`, are never merged; arguments that are not plain data never match;
    and if the earlier call failed, the later one runs on its own (as it would have without
    the pass). An `Agent` runs this pass unless given `passes` of its own (`passes=()`: none).
    """

    name = "cse"

    def start(self, run: PassContext) -> PassRun:
        return _CseRun(run)


class _CseRun(PassRun):
    def __init__(self, run: PassContext) -> None:
        self._run = run
        self._calls: dict[str, _Shared] = {}

    async def call(self, call: Call, proceed: Proceed) -> Observation:
        key = idempotent_key(call)
        if key is None:
            return await proceed(call)
        shared = self._calls.get(key)
        if shared is None:
            shared = self._calls[key] = _Shared(call.task.idx)
            try:
                shared.observation = await proceed(call)
            finally:
                shared.done.set()
            if not shared.observation.ok:
                del self._calls[key]  # a later identical call gets its own try
            return shared.observation
        asked = self._run.clock()
        await shared.done.wait()
        first = shared.observation
        if first is None or not first.ok:
            return await proceed(call)
        self._run.emit(
            PassApplied(
                "cse",
                call.task.idx,
                f"same call as ${shared.idx}: its result is reused",
                (shared.idx,),
                self._run.clock(),
            )
        )
        return dataclasses.replace(
            first,
            idx=call.task.idx,
            args=call.arguments,
            started_at=asked,
            finished_at=self._run.clock(),
            attempts=0,
        )


_MERGE = CommonSubexpressions()


def default_passes(tools: Iterable[Tool]) -> tuple[Pass, ...]:
    """What an `Agent` given no `passes` runs: `CommonSubexpressions` when a tool of the run
    may be merged, else nothing (its calls then go straight to the tools)."""
    return (_MERGE,) if any(mergeable(t) for t in tools) else ()
