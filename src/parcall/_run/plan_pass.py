"""Plan passes: the hook through which an `Agent` changes how tasks run, one task at a time.

A `Pass` is given to `Agent(passes=[...])`; for each run its `start` returns a `PassRun`,
whose methods the engine calls as the plan streams, never waiting for the whole plan:
`parsed` for each task the moment its line is parsed, `call` around each call whose inputs
are ready (it may answer the call itself, or hand it on with `proceed`), `settled` for each
observation, and `cached_plan` / `planned` around the planner call. A `PassRun` whose
`schedules` is true also decides, through `slot`, which waiting call gets a limited tool next.

The base class does nothing, so a pass overrides only what it uses; an agent without passes
runs exactly as before. The passes themselves live in `parcall.passes`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import anyio

from .._core.events import Event
from .._core.observation import Observation
from .._core.plan import Plan, Task
from .._core.tool import Tool

__all__ = ["Call", "Pass", "PassContext", "PassRun", "Proceed"]


@dataclass(eq=False)
class PassContext:
    """What a pass may know about the run it serves."""

    request: str
    system: str
    """The planner's system prompt (it names every tool and the plan format)."""
    plan_format: str
    tools: dict[str, Tool]
    emit: Callable[[Event], None]
    clock: Callable[[], float]
    limiter: anyio.CapacityLimiter | None = None
    """The agent's global limit on simultaneous calls, if it has one."""
    passes: Sequence[PassRun] = field(default_factory=tuple)
    """Every pass of the run, in order (a scheduler sums their `priority`)."""


@dataclass(frozen=True, slots=True, eq=False)
class Call:
    """A task whose inputs have settled, with its validated arguments."""

    task: Task
    tool: Tool
    arguments: dict[str, Any]
    capacity: Callable[[], AbstractAsyncContextManager[None]]
    """A slot of the tool's limits (and the agent's), to hold while calling it."""


Proceed = Callable[[Call], Awaitable[Observation]]
"""The rest of the chain: the next pass, and in the end the tool call itself."""


class PassRun:
    """One pass's part in one run. Every method does nothing until overridden."""

    schedules: ClassVar[bool] = False

    def parsed(self, task: Task) -> None:
        """A task's line was parsed (before the engine looks at its inputs)."""

    async def call(self, call: Call, proceed: Proceed) -> Observation:
        """Around one ready call: return an observation for it, usually `await proceed(call)`."""
        return await proceed(call)

    def settled(self, observation: Observation) -> None:
        """A task settled, done or failed."""

    def priority(self, task: Task) -> float:
        """What this pass adds to the task's priority when a limit binds (higher first)."""
        return 0.0

    def slot(self, call: Call) -> AbstractAsyncContextManager[None]:
        """A slot of the call's limits, given in this pass's order (when `schedules`)."""
        return call.capacity()

    async def cached_plan(self, round_no: int) -> str | None:
        """A plan text to use instead of calling the planner, or None to call it."""
        return None

    async def planned(self, round_no: int, plan: Plan, error: str | None) -> None:
        """The planner's output for a round was parsed (or broke with `error`)."""


class Pass(Protocol):
    """A plan pass, given to `Agent(passes=...)`; shared by every run of the agent."""

    name: str

    def start(self, run: PassContext) -> PassRun:
        """The pass's part in a new run."""
        ...
