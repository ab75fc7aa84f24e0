"""The executor: starts each task the moment it is known and its inputs have settled.

Event-driven, no polling: `submit` is called when the parser completes a task line, and
settling a task starts (or fails) exactly the tasks that were waiting for it. All tool calls
run in the run's task group, so cancelling the run cancels every one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup
from pydantic import ValidationError

from .._core.context import ContextFactory, RunContext
from .._core.errors import DependencyFailedError, ParcallError, ToolError, ToolTimeoutError
from .._core.events import Event, TaskFailed, TaskFinished, TaskStarted
from .._core.observation import Observation, format_value, path_hint, resolve
from .._core.outcome import BAD_ARGUMENTS
from .._core.plan import Task
from .._core.tool import Tool, validation_message
from .._core.usage import Usage
from .plan_pass import Call, PassRun, Proceed
from .sync_calls import SyncCalls

__all__ = ["ActionGate", "CallGate", "Executor"]

_NO_LIMIT = contextlib.nullcontext()


def _cancelled_from_outside() -> bool:
    """Whether a cancellation exception means this task really is being cancelled.

    On asyncio a tool can raise `CancelledError` by itself (e.g. from a future it
    cancelled); that is the tool failing, not the run being cancelled. Trio's `Cancelled`
    cannot be raised by user code, and Python < 3.11 cannot tell the two apart.
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:  # not running on asyncio
        return True
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


class ActionGate(Protocol):
    """Consulted before a task of a tool with side effects runs (and for no other task)."""

    async def review(
        self,
        task: Task,
        arguments: dict[str, Any],
        plan: Mapping[int, Task],
        values: Mapping[int, Any],
    ) -> dict[str, Any]:
        """The arguments to run with (possibly edited); raise a `ParcallError` to refuse."""
        ...


class CallGate(Protocol):
    """Consulted before every task runs (the agent's policy, see `_policy`)."""

    async def review(
        self,
        task: Task,
        tool: Tool,
        arguments: dict[str, Any],
        plan: Mapping[int, Task],
        values: Mapping[int, Any],
    ) -> dict[str, Any]:
        """The arguments to run with; raise a `ParcallError` to refuse."""
        ...


class Executor:
    def __init__(
        self,
        task_group: TaskGroup,
        tools: Mapping[str, Tool],
        *,
        emit: Callable[[Event], None],
        clock: Callable[[], float],
        limiter: anyio.CapacityLimiter | None = None,
        format_arg: Callable[[Any], str] = format_value,
        gate: ActionGate | None = None,
        passes: Sequence[PassRun] = (),
        context: ContextFactory | None = None,
        policy: CallGate | None = None,
    ) -> None:
        self._tg = task_group
        self._tools = tools
        self._emit = emit
        self._clock = clock
        self._limiter = limiter
        self._format_arg = format_arg
        self._gate = gate
        self._policy = policy
        self._passes = tuple(passes)
        self._context = context
        self._scheduler = next((p for p in self._passes if p.schedules), None)
        self.tasks: dict[int, Task] = {}
        self.observations: dict[int, Observation] = {}
        self._values: dict[int, Any] = {}
        self._waiting: dict[int, set[int]] = {}  # task -> unsettled dependencies
        self._dependents: dict[int, list[int]] = {}  # task -> tasks waiting for it
        self._unsettled = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._progress = anyio.Event()  # set (and replaced) each time tasks settle
        self._sync: SyncCalls | None = None

    @property
    def indices(self) -> set[int]:
        return set(self.tasks)

    def submit(self, task: Task) -> None:
        """Take a parsed task: start it now if its inputs are ready, else when they are."""
        self.tasks[task.idx] = task
        for p in self._passes:
            p.parsed(task)
        if self._unsettled == 0:
            self._idle = anyio.Event()
        self._unsettled += 1
        failed = [d for d in task.deps if d in self.observations and not self.observations[d].ok]
        if failed:
            self._settle(self._skipped(task, failed[0]))
            return
        pending = {d for d in task.deps if d not in self.observations}
        if not pending:
            self._tg.start_soon(self._execute, task, name=f"parcall task {task.idx}")
            return
        self._waiting[task.idx] = pending
        for dep in pending:
            self._dependents.setdefault(dep, []).append(task.idx)

    async def wait_settled(self) -> None:
        """Return once every submitted task has settled (done or failed)."""
        while self._unsettled:
            await self._idle.wait()

    async def next_settled(self) -> None:
        """Return once more tasks have settled than when it was called (waits until
        cancelled if none is left to settle)."""
        await self._progress.wait()

    def _settle(self, first: Observation) -> None:
        # A worklist, not recursion: a failure can cascade down a chain of any length.
        work = [first]
        while work:
            obs = work.pop()
            self.observations[obs.idx] = obs
            if obs.ok:
                self._values[obs.idx] = obs.value
            for p in self._passes:
                p.settled(obs)
            self._emit((TaskFinished if obs.ok else TaskFailed)(obs, obs.finished_at))
            self._unsettled -= 1
            for idx in self._dependents.pop(obs.idx, ()):
                waiting = self._waiting.get(idx)
                if waiting is None:
                    continue  # already settled by another failed dependency
                if not obs.ok:
                    del self._waiting[idx]
                    work.append(self._skipped(self.tasks[idx], obs.idx))
                    continue
                waiting.discard(obs.idx)
                if not waiting:
                    del self._waiting[idx]
                    self._tg.start_soon(self._execute, self.tasks[idx], name=f"parcall task {idx}")
        progress, self._progress = self._progress, anyio.Event()
        progress.set()
        if self._unsettled == 0:
            self._idle.set()

    def _skipped(self, task: Task, dep: int) -> Observation:
        cause = self.observations[dep]
        error = DependencyFailedError(
            f"not run: its input ${dep} ({cause.tool}) failed: {cause.error}"
        )
        return Observation.failed(task.idx, task.tool, task.args, error, finished_at=self._clock())

    async def _execute(self, task: Task) -> None:
        tool = self._tools[task.tool]
        notes: list[str] = []
        resolved: Any = {}
        reviewed: Any = None
        try:
            resolved = resolve(task.args, self._values, self._format_arg, notes)
            arguments = tool.validate(resolved)
            if self._policy is not None:  # the policy asks the approver where it must
                reviewed = await self._policy.review(
                    task, tool, arguments, self.tasks, self._values
                )
                arguments = tool.validate(reviewed)
            elif self._gate is not None and tool.side_effects:
                reviewed = await self._gate.review(task, arguments, self.tasks, self._values)
                arguments = tool.validate(reviewed)
        except ValidationError as exc:
            message = f"{BAD_ARGUMENTS}{task.tool}: {validation_message(exc)}"
            if reviewed is not None:  # the approver's edit broke them, not the plan
                message = f"the edit at approval gave {message}"
            fields = [str(e["loc"][0]) for e in exc.errors() if e["loc"]]
            if hint := path_hint(task.args, resolved, fields):
                message = f"{message} ({hint})"
            self._settle(self._failed(task, task.args, ValueError(message), None, 0, notes))
            return
        except ParcallError as exc:
            self._settle(self._failed(task, task.args, exc, None, 0, notes))
            return
        if not self._passes:
            self._settle(await self._attempts(task, tool, arguments, notes))
            return
        call = Call(task, tool, arguments, lambda: self._capacity(tool))
        self._settle(await self._chain(0, notes)(call))

    def _chain(self, i: int, notes: list[str]) -> Proceed:
        """The passes from the i-th on, then the tool call itself."""
        if i == len(self._passes):
            return lambda call: self._attempts(call.task, call.tool, call.arguments, notes, call)
        run, rest = self._passes[i], self._chain(i + 1, notes)
        return lambda call: run.call(call, rest)

    async def _attempts(
        self,
        task: Task,
        tool: Tool,
        arguments: dict[str, Any],
        notes: list[str],
        call: Call | None = None,
    ) -> Observation:
        started: float | None = None
        error: BaseException | None = None
        for attempt in range(tool.retries + 1):
            if attempt:
                await anyio.sleep(tool.retry_delay * 2 ** (attempt - 1))
            async with self._slot(tool, call) if self._limited(tool) else _NO_LIMIT:
                now = self._clock()
                started = now if started is None else started
                self._emit(TaskStarted(task.idx, task.tool, arguments, attempt, now))
                try:
                    value = await self._call(tool, arguments, self._ctx(tool, task, attempt))
                except Exception as exc:  # a tool's failure is an observation, not a crash
                    error = exc
                    continue
                except anyio.get_cancelled_exc_class():
                    if _cancelled_from_outside():
                        raise
                    error = ToolError(f"{tool.name} raised a cancellation of its own")
                    continue
            return Observation.done(
                task.idx,
                task.tool,
                arguments,
                value,
                started_at=started,
                finished_at=self._clock(),
                attempts=attempt + 1,
                notes=tuple(notes),
            )
        assert error is not None
        return self._failed(task, arguments, error, started, tool.retries + 1, notes)

    def _slot(self, tool: Tool, call: Call | None) -> contextlib.AbstractAsyncContextManager[None]:
        if call is not None and self._scheduler is not None:
            return self._scheduler.slot(call)
        return self._capacity(tool)

    def _ctx(self, tool: Tool, task: Task, attempt: int) -> RunContext[Any] | None:
        if not tool.takes_ctx:
            return None
        if self._context is None:  # an executor outside an agent's run: no deps, no usage
            return RunContext(None, Usage(), 0, "", "", tool.name, task.idx, attempt)
        return self._context(tool.name, task.idx, attempt)

    async def _call(
        self, tool: Tool, arguments: dict[str, Any], ctx: RunContext[Any] | None
    ) -> Any:
        if tool.timeout is None:
            return await self._invoke(tool, arguments, ctx)
        with anyio.move_on_after(tool.timeout) as scope:
            return await self._invoke(tool, arguments, ctx)
        if scope.cancelled_caught:
            raise ToolTimeoutError(f"{tool.name} did not finish within {tool.timeout:g} s")
        raise AssertionError("unreachable")  # pragma: no cover

    def _invoke(
        self, tool: Tool, arguments: dict[str, Any], ctx: RunContext[Any] | None
    ) -> Awaitable[Any]:
        if tool.is_async or tool.inline:
            return tool.call(arguments, ctx)
        # Sync calls share worker threads: a thread hand-off per call cost more than the
        # rest of the engine's work for the task.
        if self._sync is None:
            self._sync = SyncCalls(self._tg)
        return self._sync.call(tool.bound(ctx), arguments)

    def _limited(self, tool: Tool) -> bool:
        return self._limiter is not None or tool.max_concurrency is not None

    @contextlib.asynccontextmanager
    async def _capacity(self, tool: Tool) -> AsyncIterator[None]:
        # The tool's own limit first, so a task queued on one busy tool holds no global slot.
        async with contextlib.AsyncExitStack() as stack:
            own = tool.limiter()
            if own is not None:
                await stack.enter_async_context(own)
            if self._limiter is not None:
                await stack.enter_async_context(self._limiter)
            yield

    def _failed(
        self,
        task: Task,
        args: dict[str, Any],
        error: BaseException,
        started: float | None,
        attempts: int,
        notes: list[str] | None = None,
    ) -> Observation:
        return Observation.failed(
            task.idx,
            task.tool,
            args,
            error,
            started_at=started,
            finished_at=self._clock(),
            attempts=attempts,
            notes=tuple(notes or ()),
        )
