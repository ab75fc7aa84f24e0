"""Scheduling passes: which waiting call gets a limited tool next.

Without them, calls waiting for a limit (a tool's `max_concurrency`, the agent's) start in
the order they became ready. `CriticalPath` starts first the call with the longest remaining
path below it; `DeadTasks` starts last the calls whose results nothing uses. Neither skips a
call, so the joiner sees the same results either way: only their order changes.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from .._core.events import PassApplied
from .._core.observation import Observation
from .._core.plan import Task
from .._run.plan_pass import Call, PassContext, PassRun
from ._cse import _CseRun
from ._priority import PriorityLimiter, Waiter

__all__ = ["CriticalPath", "DeadTasks"]

DEAD_PRIORITY = -1e9
MAX_PROPAGATION = 64
"""How many levels up a new task raises its ancestors' remaining paths (bounds the work on
very deep plans; deeper ancestors keep a shorter, still ordered, estimate)."""


class _Scheduler:
    """What a scheduling pass shares across runs: one priority gate per limit."""

    name = "scheduler"

    def __init__(self) -> None:
        self._gates: weakref.WeakKeyDictionary[Any, PriorityLimiter] = weakref.WeakKeyDictionary()

    def gate(self, owner: Any, total: int) -> PriorityLimiter:
        gate = self._gates.get(owner)
        if gate is None or gate.total != total:
            gate = self._gates[owner] = PriorityLimiter(total)
        return gate


class _SchedulerRun(PassRun):
    schedules = True

    def __init__(self, scheduler: _Scheduler, run: PassContext) -> None:
        self._scheduler = scheduler
        self._run = run
        self._waiters: dict[int, list[tuple[PriorityLimiter, Waiter]]] = {}
        self._tasks: dict[int, Task] = {}
        self._users: dict[int, list[int]] = {}  # task -> tasks that use its result
        self._done: set[int] = set()
        self._kept: dict[int, list[PriorityLimiter]] = {}  # task -> gates keeping it a slot

    def parsed(self, task: Task) -> None:
        self._tasks[task.idx] = task
        for dep in task.deps:
            self._users.setdefault(dep, []).append(task.idx)

    def settled(self, observation: Observation) -> None:
        if observation.ok:
            self._done.add(observation.idx)
        for gate in self._kept.pop(observation.idx, ()):
            gate.forget((self, observation.idx))

    def total_priority(self, task: Task) -> float:
        return sum(p.priority(task) for p in self._run.passes)

    def changed(self, idx: int) -> None:
        """Task `idx`'s priority changed: the run's scheduler files its waiters again."""
        active = next((p for p in self._run.passes if p.schedules), None)
        if isinstance(active, _SchedulerRun):
            for gate, waiter in active._waiters.get(idx, ()):
                gate.bump(waiter)

    def slot(self, call: Call) -> AbstractAsyncContextManager[None]:
        return self._slot(call)

    @asynccontextmanager
    async def _slot(self, call: Call) -> AsyncIterator[None]:
        task, tool = call.task, call.tool
        held = self._waiters.setdefault(task.idx, [])
        acquired: list[tuple[PriorityLimiter, bool]] = []
        waited = False
        try:
            async with AsyncExitStack() as stack:
                # The tool's own limit first, as the engine does: a call queued on a busy tool
                # holds no global slot. The anyio limiters stay, for runs without this pass.
                limits: list[tuple[Any, Any, bool]] = []
                if tool.max_concurrency is not None:
                    limits.append((tool, tool.limiter(), True))
                if self._run.limiter is not None:
                    limits.append((self._run.limiter, self._run.limiter, False))
                for owner, limiter, own in limits:
                    gate = self._scheduler.gate(owner, int(limiter.total_tokens))
                    waiter = Waiter(lambda: self.total_priority(task), (self, task.idx))
                    held.append((gate, waiter))
                    await gate.acquire(waiter)
                    acquired.append((gate, own))
                    waited = waited or waiter.version > 0
                    await stack.enter_async_context(limiter)
                self._waiters.pop(task.idx, None)
                self._kept.pop(task.idx, None)
                if waited:
                    self._run.emit(
                        PassApplied(
                            self._scheduler.name,
                            task.idx,
                            f"given a freed slot at priority {self.total_priority(task):.3g}",
                            (),
                            self._run.clock(),
                        )
                    )
                yield
        finally:
            self._waiters.pop(task.idx, None)
            for gate, own in reversed(acquired):
                heir = self._heir(task, gate, own)
                if heir is not None:
                    self._kept.setdefault(heir, []).append(gate)
                    self._run.emit(
                        PassApplied(
                            self._scheduler.name,
                            heir,
                            f"slot kept for it as ${task.idx} finished",
                            (task.idx,),
                            self._run.clock(),
                        )
                    )
                gate.release(None if heir is None else (self, heir))

    def _heir(self, task: Task, gate: PriorityLimiter, own: bool) -> int | None:
        """A task this one's result makes ready that outranks every waiting call, if any.

        Not while common-subexpression elimination runs: it may hold the heir back to wait
        for an identical call that is itself waiting for this very slot.
        """
        if any(isinstance(p, _CseRun) for p in self._run.passes):
            return None
        top = gate.top_priority()
        if top is None:
            return None  # nobody waits: the slot stays free for whoever comes
        best: tuple[float, int] | None = None
        for idx in self._users.get(task.idx, ()):
            user = self._tasks[idx]
            if idx in self._kept or (own and user.tool != task.tool):
                continue
            if not all(d == task.idx or d in self._done for d in user.deps):
                continue
            priority = self.total_priority(user)
            if priority > top and (best is None or priority > best[0]):
                best = (priority, idx)
        return None if best is None else best[1]


class CriticalPath(_Scheduler):
    """When a limit binds, start the waiting call with the longest remaining path below it.

    A task's remaining path is its tool's expected latency plus the longest remaining path
    of the tasks that use its result, over the tasks parsed so far (it grows as the plan
    streams). Expected latency is each tool's observed latency (an exponential average over
    the agent's runs), or, before a tool has been seen, the mean of the others (1 s at first).
    """

    name = "critical_path"

    def __init__(self, *, smoothing: float = 0.3) -> None:
        super().__init__()
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        self.smoothing = smoothing
        self.latency: dict[str, float] = {}

    def expected(self, tool: str) -> float:
        known = self.latency.get(tool)
        if known is not None:
            return known
        if self.latency:
            return sum(self.latency.values()) / len(self.latency)
        return 1.0

    def observe(self, tool: str, seconds: float) -> None:
        old = self.latency.get(tool)
        self.latency[tool] = seconds if old is None else old + self.smoothing * (seconds - old)

    def start(self, run: PassContext) -> PassRun:
        return _CriticalPathRun(self, run)


class _CriticalPathRun(_SchedulerRun):
    def __init__(self, scheduler: CriticalPath, run: PassContext) -> None:
        super().__init__(scheduler, run)
        self._cp = scheduler
        self.remaining: dict[int, float] = {}

    def parsed(self, task: Task) -> None:
        super().parsed(task)
        self.remaining[task.idx] = self._cp.expected(task.tool)
        # Raise the ancestors' remaining paths: a worklist, bounded in depth.
        work = [(dep, self.remaining[task.idx], 1) for dep in task.deps]
        while work:
            idx, below, depth = work.pop()
            parent = self._tasks.get(idx)
            if parent is None:
                continue
            candidate = self._cp.expected(parent.tool) + below
            if candidate <= self.remaining.get(idx, 0.0):
                continue
            self.remaining[idx] = candidate
            self.changed(idx)
            if depth < MAX_PROPAGATION:
                work.extend((dep, candidate, depth + 1) for dep in parent.deps)

    def settled(self, observation: Observation) -> None:
        super().settled(observation)
        if observation.attempts and observation.duration is not None:
            self._cp.observe(observation.tool, observation.duration / observation.attempts)

    def priority(self, task: Task) -> float:
        return self.remaining.get(task.idx, 0.0)


class DeadTasks(_Scheduler):
    """When a limit binds, start last the calls of idempotent tools whose results no task
    parsed so far uses: if nothing uses them, they are the ones the answer waits for least.

    Deliberately conservative: such a call is postponed, never skipped. The joiner reads
    every result, so skipping one could change the answer; and a task may still be used by
    a line the planner has not written yet (its priority comes back the moment it is).
    """

    name = "dead_tasks"

    def start(self, run: PassContext) -> PassRun:
        return _DeadTasksRun(self, run)


class _DeadTasksRun(_SchedulerRun):
    def __init__(self, scheduler: DeadTasks, run: PassContext) -> None:
        super().__init__(scheduler, run)
        self._used: set[int] = set()

    def parsed(self, task: Task) -> None:
        super().parsed(task)
        for dep in task.deps:
            if dep not in self._used:
                self._used.add(dep)
                self.changed(dep)

    def priority(self, task: Task) -> float:
        tool = self._run.tools.get(task.tool)
        if tool is None or not tool.idempotent or task.idx in self._used:
            return 0.0
        return DEAD_PRIORITY
