"""One run of an `Agent`, set up: what it is given (`Crew`, `RunStart`), its state, what it
opens before the first round and closes after, and the result it makes."""

from __future__ import annotations

import abc
import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from ._core.checks import check_type
from ._core.clock import loop_clock
from ._core.context import RunContext
from ._core.errors import ParcallError, ToolsetError
from ._core.events import AnswerDelta, Event, ModelCallFinished
from ._core.history import Turn, history_argument
from ._core.limits import UsageLimits
from ._core.provenance import Lineage
from ._core.result import RunResult
from ._core.settings import Settings
from ._core.tool import Tool, tool_map
from ._core.toolset import Toolset
from ._join.joiner import Joiner
from ._join.output import Output
from ._join.policy import JoinRules
from ._planner.offered import offer
from ._planner.planning import Planner
from ._planner.prompts import Prompts
from ._planner.showing import ToolShowing
from ._run.approval import ApprovalGate, Approver
from ._run.conversation import Conversation
from ._run.executor import Executor
from ._run.journal import Journal
from ._run.model_call import ModelCalls
from ._run.plan_pass import Pass, PassContext, PassRun
from ._run.policy import Policy, PolicyGate
from .models._base import Message, Model, Usage
from .passes._cse import default_passes

if TYPE_CHECKING:
    from .store._runs import RunStore

__all__ = ["Crew", "RunSetup", "RunStart", "journal_store", "run_start"]


@dataclass(frozen=True, slots=True)
class Crew:
    """What a run takes from its agent: the model, the tools, the options, the hooks."""

    model: Model
    tools: Mapping[str, Tool]
    settings: Settings
    prompts: Prompts
    output: Output
    showing: ToolShowing
    approve: Approver | None
    policy: Policy | None
    toolsets: tuple[Toolset, ...]
    passes: tuple[Pass, ...] | None
    store: RunStore | None
    usage_limits: UsageLimits | None
    limiter: anyio.CapacityLimiter | None


def journal_store(store: RunStore | None) -> RunStore:
    if store is None:
        raise ValueError("resume needs a journal: Agent(..., store=SQLiteRunStore(path))")
    return store


@dataclass(frozen=True, slots=True)
class RunStart:
    """How a run begins: in the journal as `run_id` (None: a new id), or resumed; with the
    conversation before it, its deps and its usage limits (None: the agent's)."""

    run_id: str | None = None
    meta: Mapping[str, Any] | None = None
    resume: bool = False
    journal: Journal | None = None
    """The journal already read by `Agent.resume`."""
    history: tuple[Turn, ...] = ()
    deps: Any = None
    limits: UsageLimits | None = None


def run_start(
    run_id: str | None,
    meta: Mapping[str, Any] | None,
    resume: bool,
    message_history: Sequence[Turn | Mapping[str, Any]] | None,
    deps: Any,
    usage_limits: UsageLimits | None,
) -> RunStart:
    """A run's start from a caller's arguments, checked."""
    check_type("run", "usage_limits", usage_limits, (UsageLimits, type(None)), "a UsageLimits")
    history = history_argument(message_history)
    return RunStart(run_id, meta, resume, history=history, deps=deps, limits=usage_limits)


class RunSetup(abc.ABC):
    """The state of one run: its conversation, model calls, executor, journal and trace;
    what it sets up before the first round (the journal, toolsets, the tools shown, passes)
    and the result it makes. The rounds themselves are `_rounds`, of `Agent`'s run."""

    def __init__(
        self,
        crew: Crew,
        request: str,
        emit: Callable[[Event], None] | None,
        start: RunStart | None = None,
        output: Output | None = None,
    ) -> None:
        self.crew = crew
        self.settings = crew.settings
        self.request = request
        self._start = start or RunStart()
        self.events: list[Event] = []
        self._emit_out = emit
        self.passes: list[PassRun] = []
        self._t0 = 0.0
        self._tg: TaskGroup
        self._time = anyio.current_time
        constrained = bool(crew.settings.constrained)
        self._grammar = constrained and crew.settings.plan_format == "text"
        self.output = output or crew.output
        self.rules = JoinRules(
            crew.settings.join,
            request,
            self.output,
            constrained=constrained,
            grammar=self._grammar,
            observation_chars=crew.prompts.observation_chars,
        )
        self.tools = dict(crew.tools)  # the tools shown to the planner; a selector narrows them
        self.talk = Conversation(request, self._start.history)
        self.usage = Usage()  # of the model calls so far, and how many there were
        self.requests = 0
        self.run_id = self._start.run_id or uuid.uuid4().hex
        self.lineage = Lineage(self.tools)
        self.calls = ModelCalls(
            crew.model,
            temperature=crew.settings.temperature,
            emit=self.emit,
            clock=self.now,
            spent=lambda: (self.requests, self.usage),
        )
        self.calls.limits = self._start.limits or crew.usage_limits
        self.planner = Planner(self.talk, self.calls, crew.settings, self.emit, self.now)
        self.joiner = Joiner(
            self.talk,
            self.calls,
            crew.prompts,
            self.rules,
            crew.settings,
            lambda piece: self.emit(AnswerDelta(piece, self.now())),
        )

    def now(self) -> float:
        return self._time() - self._t0

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if isinstance(event, ModelCallFinished):
            self.usage = self.usage + event.usage
            self.requests += 1
        self.lineage.see(event)
        if self._emit_out is not None:
            self._emit_out(event)

    async def execute(self) -> RunResult:
        start = self._start
        if self.crew.store is None and not start.resume:
            return await self._toolsets()
        if start.resume:
            assert start.run_id is not None
            journal = start.journal or await Journal.resume(
                journal_store(self.crew.store), start.run_id
            )
            if journal.run.request != self.request:
                raise ValueError(f"run {start.run_id!r} in the journal asked something else")
            if self.talk.history and self.talk.history != journal.history:
                raise ValueError(f"run {start.run_id!r} in the journal had another history")
            self.talk.history = journal.history
        else:
            store = journal_store(self.crew.store)
            journal = await Journal.begin(
                store, self.request, self.run_id, start.meta, self.talk.history
            )
        self.calls.journal = journal
        try:
            result = await self._toolsets()
        except Exception as exc:
            await journal.finish("failed", None, f"{type(exc).__name__}: {exc}")
            raise
        await journal.finish("done", result.answer, None)
        return result

    async def _toolsets(self) -> RunResult:
        if not self.crew.toolsets:
            return await self._execute()
        async with contextlib.AsyncExitStack() as stack:  # toolsets close with the run
            opened: list[Tool] = []
            for toolset in self.crew.toolsets:
                opened.extend(await stack.enter_async_context(toolset.open()))
            try:
                self.tools = tool_map([*self.crew.tools.values(), *opened])
            except ValueError as exc:
                raise ToolsetError(f"{exc}: give a toolset a prefix=...") from None
            return await self._execute()  # selects from, and prompts with, the run's tools

    async def _execute(self) -> RunResult:
        self._time = loop_clock()
        self._t0 = self._time()
        error: Exception | None = None
        answer: str | None = None
        pool = self.tools
        picked = await self.crew.showing.select(self.request, pool=pool)
        self.tools = offer(picked, self.crew.showing.offered)
        self.lineage.tools = self.tools
        self.talk.messages = [
            Message("system", self.crew.showing.system_prompt(self.tools.values())),
            Message("user", self.crew.prompts.question(self.request, self.talk.history)),
        ]
        self._start_passes(pool)
        async with anyio.create_task_group() as tg:
            self._tg = tg
            executor = self._executor(tg)
            try:
                answer = await self._rounds(executor)
            except Exception as exc:  # raised after the group, not wrapped in an ExceptionGroup
                error = exc
                tg.cancel_scope.cancel()
        if error is None and answer is None:
            error = ParcallError("the run ended without an answer (a tool cancelled the run?)")
        if error is not None:
            if isinstance(error, ParcallError) and error.result is None:
                error.result = self.result(executor, "")  # nothing the run did is lost
            raise error
        assert answer is not None
        return self.result(executor, answer)

    def _start_passes(self, pool: Mapping[str, Tool]) -> None:
        passes = self.crew.passes
        if passes is None:  # of every tool of the run: a replan may show more than the first
            passes = default_passes(pool.values())
        journal = self.calls.journal
        if not passes and journal is None:
            return
        context = PassContext(
            self.request,
            self.talk.messages[0].content,
            self.settings.plan_format,
            self.tools,
            self.emit,
            self.now,
            self.crew.limiter,
        )
        self.passes = [p.start(context) for p in passes]
        if journal is not None:  # outermost: a journaled value skips every pass
            self.passes.insert(0, journal.task_pass(context))
        context.passes = tuple(self.passes)

    def _executor(self, tg: TaskGroup) -> Executor:
        approve, policy = self.crew.approve, self.crew.policy
        gate = (
            ApprovalGate(
                approve, self.request, self.tools, self.lineage.arguments if policy else None
            )
            if approve
            else None
        )
        return Executor(
            tg,
            self.tools,
            emit=self.emit,
            clock=self.now,
            limiter=self.crew.limiter,
            gate=gate,
            passes=self.passes,
            context=self._tool_context,
            policy=PolicyGate(policy, self.lineage, self.emit, self.now, gate) if policy else None,
        )

    def _tool_context(self, tool: str, task: int, attempt: int) -> RunContext[Any]:
        """What a tool that takes a `RunContext` is given for one attempt of one task."""
        usage, requests, deps = self.usage, self.requests, self._start.deps
        return RunContext(deps, usage, requests, self.run_id, self.request, tool, task, attempt)

    def result(self, executor: Executor, answer: str) -> RunResult:
        return RunResult(
            request=self.request,
            answer=answer,
            plans=tuple(self.talk.plans),
            observations=tuple(executor.observations[i] for i in sorted(executor.observations)),
            events=tuple(self.events),
            duration=self.now(),
            run_id=self.run_id,  # the journal's, with a store
            output=answer if self.output.text else self.joiner.value,
            message_history=self.talk.history,
            derived_from=self.lineage.answer,
        )

    @abc.abstractmethod
    async def _rounds(self, executor: Executor) -> str:
        """The rounds of plan → execute → join; the answer."""
