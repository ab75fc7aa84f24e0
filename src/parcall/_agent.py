"""`Agent`: plan → execute (streamed, in parallel) → join → answer or replan."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._core.checks import check_request, check_type
from ._core.errors import ReplanLimitError
from ._core.events import (
    AnswerDelta,
    Answered,
    Event,
    JoinDecided,
    Replanned,
)
from ._core.history import Turn, history_argument
from ._core.limits import UsageLimits
from ._core.plan import Plan, Task, call_key
from ._core.result import RunResult
from ._core.settings import JoinThought, PlanFormat, Settings, with_deprecated
from ._core.tool import Tool, tool_map
from ._core.toolset import Toolset
from ._join.decision import Finish
from ._join.output import Output, output_of
from ._planner.offered import default_offered
from ._planner.prompts import Prompts
from ._planner.showing import ToolShowing
from ._run.approval import Approver, validate_approver
from ._run.executor import Executor
from ._run.journal import Journal, check_store
from ._run.plan_pass import Pass
from ._run.policy import Policy, policy_argument
from ._run.prefill import prefilling
from ._run_setup import Crew, RunSetup, RunStart, journal_store, run_start
from .models._base import Message, Model
from .models._resolve import model_argument

if TYPE_CHECKING:
    from .select import ToolSelector
    from .store._runs import RunStore

__all__ = ["Agent", "JoinThought", "PlanFormat", "Prompts", "RunStream", "Settings"]

EMPTY_PLAN = "the plan called no tool; call the tools that find the answer"


class Agent:
    """Answers requests with tools by planning once and running the plan as a DAG.

    ```python
    agent = Agent(model=ScriptedModel([...]), tools=[search, calculator])
    result = await agent.run("How much taller is A than B?")
    ```

    `model` is a `Model` or a spec string for `resolve_model` (`"local"`, `"local:tiny"`,
    `"openai:gpt-4o-mini"`, `"http://HOST:PORT/v1#MODEL"`, a `.gguf` path). Plain functions
    given as tools are wrapped with `Tool.from_function`.

    `settings` (a `Settings`, or a dict of its fields) holds the run options: the plan
    format, grammar constraints, replans, concurrency, token limits, the joiner's
    `JoinPolicy`; `agent.settings` holds them resolved.

    `output_type` (also per run) is the type of `result.output`: `str` (the default: the
    answer as the joiner writes it), or a scalar, a list, a pydantic model, a dataclass —
    anything pydantic's `TypeAdapter` takes. The joiner writes JSON of its schema in
    `Finish(...)` (forced by a grammar where the model takes one); an answer that does not
    validate goes back to the joiner once with the error, then `OutputValidationError`.
    A plan's `finish($N)` answers with task N's value when it fits the type.

    `usage_limits` (`UsageLimits`) bounds every run's model requests and tokens; a run may
    give its own. `prompts` replaces the prompt texts.

    `approve` is asked before tools made with `side_effects=True` run (see `Approve`,
    `Reject`). `policy` is checked before every call with where its arguments come from
    (see `Tool.trusted`): `"sealed"` lets no call act on what an untrusted result said
    unless `approve` allows it.

    `toolsets` (MCP servers, OpenAPI services) are opened when a run starts and closed when
    it ends. `tool_selector` (see `parcall.select`) picks the `select_k` tools the planner
    sees for each request, and `select_k` more on each replan.

    `passes` are plan passes (`parcall.passes`), applied to each task as it streams. The
    default, None, merges identical calls of tools marked `idempotent` that do not act
    (`CommonSubexpressions`); `passes=()` turns that off.

    `store` (a `parcall.store.SQLiteRunStore`, or a path for one) journals every run, so
    that `resume(run_id)` continues a run after the process died without calling again a
    model or a tool whose work the journal holds.

    The options that `settings` holds were keyword arguments before (`max_replans=1`,
    `join_thought="always"`, ...); they still work for one release, with a
    `DeprecationWarning`.
    """

    def __init__(
        self,
        model: Model | str,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        settings: Settings | Mapping[str, Any] | None = None,
        output_type: Any = str,
        usage_limits: UsageLimits | None = None,
        prompts: Prompts | None = None,
        approve: Approver | None = None,
        policy: Policy | Literal["sealed"] | None = None,
        toolsets: Sequence[Toolset] = (),
        tool_selector: ToolSelector | None = None,
        passes: Sequence[Pass] | None = None,
        store: RunStore | str | os.PathLike[str] | None = None,
        **deprecated: Any,
    ) -> None:
        chosen = with_deprecated("Agent", settings, deprecated)
        check_type("Agent", "prompts", prompts, (Prompts, type(None)), "a Prompts or None")
        self.model = model_argument("Agent", model)
        self.tools = tool_map(tools, "Agent")
        self.settings = chosen.model_copy(
            update={"constrained": chosen.constrained_for(self.model)}
        )
        """The run options, resolved (`constrained` is True or False)."""
        self.prompts = prompts or Prompts()
        self.approve = validate_approver(approve)
        for toolset in toolsets:
            if not isinstance(toolset, Toolset):
                raise TypeError(f"toolsets: {toolset!r} has no open() (see parcall.Toolset)")
        self.toolsets = tuple(toolsets)
        if tool_selector is not None and not callable(getattr(tool_selector, "select", None)):
            raise TypeError("tool_selector must have a select(request, tools, k) method")
        self.tool_selector = tool_selector
        for p in passes or ():
            if not callable(getattr(p, "start", None)):
                raise TypeError(f"passes: {p!r} is not a pass (it has no start(run) method)")
        self.passes = None if passes is None else tuple(passes)
        if isinstance(store, (str, os.PathLike)):
            from .store._runs import SQLiteRunStore

            store = SQLiteRunStore(store)
        self.store = check_store(store)
        self.output = output_of(output_type, "Agent")
        check_type(
            "Agent", "usage_limits", usage_limits, (UsageLimits, type(None)), "a UsageLimits"
        )
        self.usage_limits = usage_limits
        self.policy = policy_argument(policy)
        self._limiter: anyio.CapacityLimiter | None = None
        self._systems: dict[tuple[Any, ...], str] = {}
        self.offered_tools: tuple[Tool, ...] = default_offered() if self.settings.calculator else ()
        """Offered to the planner when the run's tools have none of the name: the built-in
        `calculator` unless `Settings(calculator=False)`, so arithmetic over results is
        computed. Setting it to `()` offers none, as that setting does."""

    # The run options as they were read before `settings` held them.

    @property
    def max_replans(self) -> int:
        return self.settings.max_replans

    @property
    def max_concurrency(self) -> int | None:
        return self.settings.max_concurrency

    @property
    def temperature(self) -> float | None:
        return self.settings.temperature

    @property
    def max_plan_tokens(self) -> int | None:
        return self.settings.max_plan_tokens

    @property
    def max_join_tokens(self) -> int | None:
        return self.settings.max_join_tokens

    @property
    def plan_format(self) -> PlanFormat:
        return self.settings.plan_format

    @property
    def prompt_layout(self) -> Literal["extend", "separate"]:
        return self.settings.prompt_layout

    @property
    def select_k(self) -> int:
        return self.settings.select_k

    @property
    def grounded(self) -> bool:
        return self.settings.join.grounded

    @property
    def follow_up(self) -> bool:
        return self.settings.join.follow_up

    @property
    def join_thought(self) -> JoinThought:
        return self.settings.join.thought

    @property
    def constrained(self) -> bool:
        """Whether plans are constrained (`settings.constrained`, resolved for the model)."""
        return bool(self.settings.constrained)

    async def run(
        self,
        request: str,
        *,
        message_history: Sequence[Turn | Mapping[str, Any]] | None = None,
        deps: Any = None,
        usage_limits: UsageLimits | None = None,
        output_type: Any = None,
        run_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> RunResult:
        """Answer `request`. Raises `ReplanLimitError` (with the partial result) if the joiner
        still wants to replan after `max_replans`, `UsageLimitExceeded` past a usage limit,
        and model errors as they come; an empty `request` is a `ValueError`.

        `message_history` is the conversation so far (`result.all_messages()` of the last
        run): the planner reads it above the request. `deps` is given to tools that take a
        `RunContext`; `usage_limits` replaces the agent's for this run.

        With a `store`, the run is journaled under `run_id` (default: a new random id, in
        `result.run_id`) with `meta`, anything JSON you want kept with it.

        `output_type` replaces the agent's for this run (see `Agent(output_type=...)`)."""
        check_request(request)
        output = self._output(output_type)
        start = run_start(run_id, meta, False, message_history, deps, usage_limits)
        return await _Run(self._crew(), request, emit=None, start=start, output=output).execute()

    async def resume(self, run_id: str) -> RunResult:
        """Continue the journaled run `run_id` (see `store`): what the journal holds is not
        done again, the rest runs. A run that had finished gives the same result again,
        with no model or tool call."""
        journal = await Journal.resume(journal_store(self.store), run_id)  # read once, used as is
        start = RunStart(run_id, resume=True, journal=journal, history=journal.history)
        return await _Run(self._crew(), journal.run.request, emit=None, start=start).execute()

    def run_sync(
        self,
        request: str,
        *,
        backend: str = "asyncio",
        message_history: Sequence[Turn | Mapping[str, Any]] | None = None,
        deps: Any = None,
        usage_limits: UsageLimits | None = None,
        run_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        output_type: Any = None,
    ) -> RunResult:
        """`run` for code without an event loop."""
        history = history_argument(message_history)  # a mistake fails before the loop starts
        self._output(output_type)

        async def go() -> RunResult:
            return await self.run(
                request,
                message_history=history,
                deps=deps,
                usage_limits=usage_limits,
                output_type=output_type,
                run_id=run_id,
                meta=meta,
            )

        return anyio.run(go, backend=backend)

    def resume_sync(self, run_id: str, *, backend: str = "asyncio") -> RunResult:
        """`resume` for code without an event loop."""
        return anyio.run(self.resume, run_id, backend=backend)

    def stream(
        self,
        request: str,
        *,
        message_history: Sequence[Turn | Mapping[str, Any]] | None = None,
        deps: Any = None,
        usage_limits: UsageLimits | None = None,
        run_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        resume: bool = False,
        output_type: Any = None,
    ) -> RunStream:
        """Run with events: `async with agent.stream(q) as run: async for event in run: ...`;
        `run.result` holds the `RunResult` once the events end. `resume=True` continues the
        journaled run `run_id`, whose request (and history) must be `request` (and
        `message_history`)."""
        check_request(request)
        if resume and run_id is None:
            raise ValueError("resume=True needs the run_id of the run to continue")
        output = self._output(output_type)
        start = run_start(run_id, meta, resume, message_history, deps, usage_limits)
        return RunStream(self._crew(), request, start, output)

    def _output(self, output_type: Any) -> Output:
        return self.output if output_type is None else output_of(output_type, "run")

    def system_prompt(self, tools: Iterable[Tool] | None = None) -> str:
        """The planner's system prompt showing `tools` (default: every tool, and those
        offered): what a prefix cache can read ahead."""
        return self._crew().showing.system_prompt(tools)

    def _crew(self) -> Crew:
        """What a run is given of the agent (read when it starts)."""
        if self.settings.max_concurrency is not None and self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.settings.max_concurrency)
        showing = ToolShowing(
            self.tools,
            self.offered_tools,
            self.prompts,
            self.settings.plan_format,
            self.tool_selector,
            self.settings.select_k,
            self._systems,
        )
        return Crew(
            self.model,
            self.tools,
            self.settings,
            self.prompts,
            self.output,
            showing,
            self.approve,
            self.policy,
            self.toolsets,
            self.passes,
            self.store,
            self.usage_limits,
            self._limiter,
        )


class RunStream:
    """The events of one run as an async iterator, inside `async with`.

    Leaving the block before the run ends cancels the run and every tool call in it.
    """

    def __init__(
        self, crew: Crew, request: str, start: RunStart | None = None, output: Output | None = None
    ) -> None:
        self._crew = crew
        self._request = request
        self._start = start
        self._output = output
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._tg: TaskGroup | None = None
        self._receive: MemoryObjectReceiveStream[Event] | None = None

    @property
    def result(self) -> RunResult:
        """The run's result; raises the run's error if it failed."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise RuntimeError("the run has not finished (iterate over its events first)")
        return self._result

    async def __aenter__(self) -> RunStream:
        send, receive = anyio.create_memory_object_stream[Event](math.inf)
        self._receive = receive
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._drive, send)
        return self

    async def _drive(self, send: MemoryObjectSendStream[Event]) -> None:
        with send:
            try:
                self._result = await _Run(
                    self._crew,
                    self._request,
                    emit=send.send_nowait,
                    start=self._start,
                    output=self._output,
                ).execute()
            except Exception as exc:  # handed to the consumer at the end of the events
                self._error = exc

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Event:
        if self._receive is None:
            raise RuntimeError(
                "a run's events are read inside its block: "
                "`async with agent.stream(request) as events: async for event in events: ...`"
            )
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None and self._receive is not None
        self._tg.cancel_scope.cancel()
        try:
            # Let the run unwind before closing its stream; the block's own exception (if
            # any) then propagates as it is, not wrapped in an ExceptionGroup.
            await self._tg.__aexit__(None, None, None)
        finally:
            self._receive.close()
        return None


@dataclass
class _Rounds:
    """Where the round loop is: the round, the calls made so far, what the next round
    starts from."""

    round_no: int = 0
    seen: set[str] = field(default_factory=set)
    scripted: str | None = None
    """A plan the agent wrote itself (a follow-up lookup), run with no planner call."""
    carried: tuple[Task, ...] = ()
    """Tasks of the round before, shown again to the join after a follow-up lookup."""

    def settle(self, plan: Plan, max_replans: int) -> bool:
        """Note the plan's calls; whether a replan may follow it (a replan that only
        repeats earlier calls will not find anything new)."""
        calls = {call_key(t) for t in plan.tasks}
        repeats = self.round_no > 0 and calls <= self.seen
        self.seen |= calls
        return self.round_no < max_replans and not repeats


class _Run(RunSetup):
    """One run: its rounds of plan → execute → join, until an answer."""

    # --- the round loop ---------------------------------------------------------------------

    async def _rounds(self, executor: Executor) -> str:
        """Plan → execute → join → answer, or replan and go round again."""
        state = _Rounds()
        while True:
            plan, error = await self._plan(executor, state)
            # Read the joiner's prompt, as far as it is known, while the tools run.
            tasks = (*state.carried, *plan.tasks)
            ahead = partial(self.joiner.ahead, plan, tasks, executor.observations)
            async with prefilling(self._tg, self.crew.model, ahead, executor.next_settled):
                await executor.wait_settled()
            can_replan = state.settle(plan, self.settings.max_replans)
            if not plan.tasks and error is None and can_replan:
                # An empty plan gathered nothing; left to the joiner, a model answers from
                # memory. Ask for a plan again instead.
                self._replan(executor, state, EMPTY_PLAN)
                continue
            template = self.rules.template(plan, error, executor.observations)
            if template is not None:
                self.joiner.value = template.value
                self.emit(AnswerDelta(template.answer, self.now()))
                return self._answer(state.round_no, template.answer, None, "template")
            decision, deltas = await self.joiner.ask(
                tasks,
                error,
                executor.observations,
                self.tools,
                round_no=state.round_no,
                can_replan=can_replan,
            )
            state.carried = ()
            follow = self.rules.follow_up(
                decision, executor.observations, self.tools, can_replan=can_replan
            )
            if follow is not None and isinstance(decision, Finish):
                self._look_up(follow, decision, plan, executor, state)
                continue
            if isinstance(decision, Finish):
                deltas.finish(decision.answer)
                return self._answer(
                    state.round_no, decision.answer, decision.thought, unknown=decision.unknown
                )
            self.emit(
                JoinDecided(state.round_no, "replan", decision.reason, decision.thought, self.now())
            )
            if not can_replan:
                raise ReplanLimitError(
                    f"the joiner asked to replan after {self.settings.max_replans} replan(s): "
                    f"{decision.reason}",
                    self.result(executor, ""),
                )
            more = await self._more_tools(decision.reason)
            self._replan(executor, state, decision.reason, more)

    def _answer(
        self,
        round_no: int,
        answer: str,
        thought: str | None,
        source: Literal["joiner", "template"] = "joiner",
        *,
        unknown: tuple[str, ...] = (),
    ) -> str:
        self.emit(JoinDecided(round_no, "finish", answer, thought, self.now(), source, unknown))
        self.emit(Answered(answer, self.now()))
        return answer

    def _replan(self, executor: Executor, state: _Rounds, reason: str, more: str = "") -> None:
        """Go round again, telling the planner why (and of the tools it is shown now)."""
        state.round_no += 1
        prompt = self.crew.prompts.replan(reason, _next_index(executor))
        self.talk.messages.append(Message("user", f"{prompt}\n{more}" if more else prompt))
        self.emit(Replanned(state.round_no, reason, self.now()))

    async def _more_tools(self, reason: str) -> str:
        """With a selector: show the planner more tools for the request and the joiner's
        reason; what the replan prompt says of them."""
        showing = self.crew.showing
        if showing.selector is None:
            return ""
        before = set(self.tools)
        # Updated in place: the executor reads the same mapping.
        self.tools.update(await showing.select(f"{self.request}\n{reason}", before))
        added = [t for name, t in self.tools.items() if name not in before]
        return self.crew.prompts.more_tools(added) if added else ""

    def _look_up(
        self, call: str, decision: Finish, plan: Plan, executor: Executor, state: _Rounds
    ) -> None:
        """A name the tools never looked up may be a step on the way to the answer (the
        director, not where he was born): look it up, then judge again from all the
        results, without the first answer in view (a small model repeats what it said)."""
        self.emit(
            JoinDecided(state.round_no, "replan", decision.answer, decision.thought, self.now())
        )
        del self.talk.messages[-2:]  # this join's results and the joiner's answer
        state.carried = plan.tasks
        state.round_no += 1
        state.scripted = f"{_next_index(executor)}. {call}\njoin()"
        reason = f"look up {decision.answer!r} before answering"
        self.emit(Replanned(state.round_no, reason, self.now()))

    async def _plan(self, executor: Executor, state: _Rounds) -> tuple[Plan, str | None]:
        """The round's plan, each task handed to the executor the moment it is parsed."""
        scripted, state.scripted = state.scripted, None
        return await self.planner.plan(
            state.round_no, self.tools, executor.indices, executor.submit, self.passes, scripted
        )


def _next_index(executor: Executor) -> int:
    """The number the next plan's first task takes."""
    return max(executor.indices, default=0) + 1
