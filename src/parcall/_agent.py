"""`Agent`: plan → execute (streamed, in parallel) → join → answer or replan."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, get_args

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import ValidationError

from ._core.checks import check_choice, check_int, check_number, check_request, check_type
from ._core.clock import loop_clock
from ._core.context import RunContext
from ._core.errors import ParcallError, PlanError, ReplanLimitError, ToolsetError
from ._core.events import (
    AnswerDelta,
    Answered,
    Event,
    JoinDecided,
    ModelCallFinished,
    PlanFinished,
    Purpose,
    Replanned,
    TaskParsed,
)
from ._core.history import Turn, history_argument
from ._core.limits import UsageLimits
from ._core.plan import Plan, Task, call_key
from ._core.provenance import Lineage
from ._core.result import RunResult
from ._core.tool import Tool, tool_map, validation_message
from ._core.toolset import Toolset
from ._join.answer_stream import AnswerStream
from ._join.decision import Finish, Replan, parse_decision, template_answer
from ._join.finish_check import check_finish, may_revise
from ._join.grounding import is_grounded
from ._join.output import NO_VALUE, Output, OutputValidationError, output_of
from ._join.question import AnswerShape, answer_shape
from ._planner.grammar import (
    Thought,
    join_grammar,
    plan_grammar,
    plan_json_schema,
    tool_call_parameters,
)
from ._planner.json_plan import JsonPlanParser, ToolCallPlanParser
from ._planner.offered import default_offered, offer, offered_names
from ._planner.prompts import Prompts
from ._planner.text import PlanParser
from ._run.approval import ApprovalGate, Approver, validate_approver
from ._run.executor import Executor
from ._run.journal import Journal, check_store
from ._run.model_call import call_model
from ._run.plan_pass import Pass, PassContext, PassRun
from ._run.policy import Policy, PolicyGate, policy_argument
from .models._base import (
    Message,
    Model,
    ModelRequest,
    Prefill,
    TextChunk,
    ToolCallChunk,
    ToolSpec,
    Usage,
)
from .models._resolve import model_argument
from .passes._cse import default_passes

if TYPE_CHECKING:
    from .select import ToolSelector
    from .store._runs import RunStore

__all__ = ["Agent", "RunStream"]

PLAN_STOP = ("<END_OF_PLAN>",)
FOLLOW_UP_WORDS = 6
"""`follow_up`: answers of at most this many words are looked up before they are given."""
LOOPING_REPEATS = 3
"""A constrained text plan whose same call (tool and arguments) comes this many times ends
there."""
PlanFormat = Literal["text", "json", "tools"]
JoinThought = Literal["auto", "always", "restate", "never"]


class Agent:
    """Answers requests with tools by planning once and running the plan as a DAG.

    ```python
    agent = Agent(model=ScriptedModel([...]), tools=[search, calculator])
    result = await agent.run("How much taller is A than B?")
    ```

    `max_replans` bounds how often the joiner may ask for a new plan; `max_concurrency`
    bounds simultaneous tool calls across all runs of this agent (tools have their own
    limits too). Plain functions given as tools are wrapped with `Tool.from_function`.

    `model` is a `Model` or a spec string for `resolve_model` (`"local"`, `"local:tiny"`,
    `"openai:gpt-4o-mini"`, `"http://HOST:PORT/v1#MODEL"`, a `.gguf` path).

    `plan_format` is how the planner writes: `"text"` (LLMCompiler lines), `"json"`
    (a JSON plan) or `"tools"` (the chat API's native tool calls, one call per task).
    `constrained=True` sends a grammar (text) or JSON schema (json) generated from the
    tools, so small models always write parseable plans. The default, `None`, turns it on
    when the model supports grammars (`model.supports_grammar`: local llama.cpp models, and
    `OpenAICompatible(..., supports_grammar=True)`), as `parcall run` does.

    `prompt_layout="extend"` (the default) makes every call extend one conversation, so a
    prefix cache reads only what is new; `"separate"` gives the joiner a prompt of its own
    (as LLMCompiler does), kept for comparison.

    `grounded=True` sends an answer that no result mentions back as a reason
    to replan, while replans remain: a small joiner otherwise answers from memory when the
    results do not hold the answer (yes/no answers always pass).

    `follow_up=True` looks up a short answer that no call has looked up yet, with the
    one-text-argument tool the run used most (`search(query="Steven Spielberg")`, no
    planner call), and has the joiner judge again from all the results: a small joiner
    answers a bridge question with the bridge ("the director") instead of the fact about
    it. Once per run, while replans remain, for open questions only.

    A constrained joiner may answer only `yes`/`no` to a yes/no question and only one of
    the options to a question that names them ("Who is older, A or B?").

    `join_thought` is whether the joiner writes a short `Thought:` (the facts it reads)
    before its action: `"always"`, `"never"`, or `"auto"` (the default): only when the
    question asks to choose between options it names, where the answer compares two facts.
    On a CPU the joiner's output is most of a run's time; without a thought it writes a few
    tokens instead of dozens. `"restate"` is a longer thought that first says what the
    question asks for, then the facts: slower, and what the 0.5B `local:small` needs.

    `approve` is asked before tools made with `side_effects=True` run (see `Approve`,
    `Reject`); tasks that do not act keep running meanwhile. `toolsets` (MCP servers,
    OpenAPI services) are opened when a run starts and closed when it ends; their tools
    join `tools` for that run.

    `tool_selector` (see `parcall.select`) picks the `select_k` tools the planner sees for
    each request, and on each replan `select_k` more (among those not shown yet) for the
    request with the joiner's reason appended. A plan may use only the tools shown (the
    parser names any other); the default (None) shows every tool.

    `passes` are plan passes (`parcall.passes`: common subexpressions, dead tasks, fusion,
    critical-path scheduling, result and plan caches), applied to each task as it streams,
    outermost first. The default, None, merges identical calls (same tool, same arguments)
    of tools marked `idempotent` that do not act: the call runs once and each task gets its
    result (`CommonSubexpressions`). `passes=()` turns that off; a list replaces it.

    `store` (a `parcall.store.SQLiteRunStore`, or a path for one) journals every run as it
    happens — each model call's output, each finished task's value — so that
    `resume(run_id)` continues a run after the process died without calling again a model
    or a tool whose work the journal holds. Tools with `side_effects=True` that were
    running when it died are reported, not repeated.

    `output_type` (also per run) is the type of `result.output`: `str` (the default: the
    answer as the joiner writes it), or a scalar, a list, a pydantic model, a dataclass —
    anything pydantic's `TypeAdapter` takes. The joiner writes JSON of its schema in
    `Finish(...)` (forced by a grammar where the model takes one); an answer that does not
    validate goes back to the joiner once with the error, then `OutputValidationError`.
    A plan's `finish($N)` answers with task N's value when it fits the type.

    `usage_limits` (`UsageLimits`) bounds every run's model requests and tokens; a run may
    give its own. Each run may also be given the earlier turns of a conversation
    (`message_history`) and `deps` for the tools that take a `RunContext`.

    `policy` is checked before every call with where its arguments come from (see
    `Tool.trusted`): `"sealed"` (`Sealed()`) lets no call act on what an untrusted result
    said unless `approve` allows it. `result.derived_from` says what the answer came from.
    """

    def __init__(
        self,
        model: Model | str,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        max_replans: int = 2,
        max_concurrency: int | None = None,
        prompts: Prompts | None = None,
        temperature: float | None = 0.0,
        max_plan_tokens: int | None = 1024,
        max_join_tokens: int | None = 512,
        plan_format: PlanFormat = "text",
        constrained: bool | None = None,
        prompt_layout: Literal["extend", "separate"] = "extend",
        grounded: bool = False,
        follow_up: bool = False,
        join_thought: JoinThought = "auto",
        approve: Approver | None = None,
        toolsets: Sequence[Toolset] = (),
        tool_selector: ToolSelector | None = None,
        select_k: int = 5,
        passes: Sequence[Pass] | None = None,
        store: RunStore | str | os.PathLike[str] | None = None,
        output_type: Any = str,
        usage_limits: UsageLimits | None = None,
        policy: Policy | Literal["sealed"] | None = None,
    ) -> None:
        check_int("Agent", "max_replans", max_replans, minimum=0)
        check_int("Agent", "max_concurrency", max_concurrency, minimum=1, optional=True)
        check_type("Agent", "prompts", prompts, (Prompts, type(None)), "a Prompts or None")
        check_number("Agent", "temperature", temperature, minimum=0, optional=True)
        check_int("Agent", "max_plan_tokens", max_plan_tokens, minimum=1, optional=True)
        check_int("Agent", "max_join_tokens", max_join_tokens, minimum=1, optional=True)
        check_choice("Agent", "plan_format", plan_format, ("text", "json", "tools"))
        check_type("Agent", "constrained", constrained, (bool, type(None)), "True, False or None")
        check_choice("Agent", "prompt_layout", prompt_layout, ("extend", "separate"))
        check_type("Agent", "grounded", grounded, bool, "True or False")
        check_type("Agent", "follow_up", follow_up, bool, "True or False")
        check_choice("Agent", "join_thought", join_thought, get_args(JoinThought))
        self.model = model_argument("Agent", model)
        self.tools = tool_map(tools, "Agent")
        self.max_replans = max_replans
        self.max_concurrency = max_concurrency
        self.prompts = prompts or Prompts()
        self.temperature = temperature
        self.max_plan_tokens = max_plan_tokens
        self.max_join_tokens = max_join_tokens
        self.plan_format: PlanFormat = plan_format
        self.constrained: bool = (
            bool(getattr(self.model, "supports_grammar", False))
            if constrained is None
            else constrained
        )
        self.prompt_layout = prompt_layout
        self.grounded = grounded
        self.follow_up = follow_up
        self.join_thought: JoinThought = join_thought
        self.approve = validate_approver(approve)
        for toolset in toolsets:
            if not isinstance(toolset, Toolset):
                raise TypeError(f"toolsets: {toolset!r} has no open() (see parcall.Toolset)")
        self.toolsets = tuple(toolsets)
        if tool_selector is not None and not callable(getattr(tool_selector, "select", None)):
            raise TypeError("tool_selector must have a select(request, tools, k) method")
        if select_k < 1:
            raise ValueError("select_k must be at least 1")
        self.tool_selector = tool_selector
        self.select_k = select_k
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
        self.offered_tools: tuple[Tool, ...] = default_offered()
        """Offered to the planner when the run's tools have none of the name: the built-in
        `calculator`, so arithmetic over results is computed. `()` offers none."""

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
        start = _start(run_id, meta, False, message_history, deps, usage_limits)
        return await _Run(self, request, emit=None, start=start, output=output).execute()

    async def resume(self, run_id: str) -> RunResult:
        """Continue the journaled run `run_id` (see `store`): what the journal holds is not
        done again, the rest runs. A run that had finished gives the same result again,
        with no model or tool call."""
        journal = await Journal.resume(self._journal_store(), run_id)  # read once, used as is
        start = _Start(run_id, resume=True, journal=journal, history=journal.history)
        return await _Run(self, journal.run.request, emit=None, start=start).execute()

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
        start = _start(run_id, meta, resume, message_history, deps, usage_limits)
        return RunStream(self, request, start, output)

    def _output(self, output_type: Any) -> Output:
        return self.output if output_type is None else output_of(output_type, "run")

    def _journal_store(self) -> RunStore:
        if self.store is None:
            raise ValueError("resume needs a journal: Agent(..., store=SQLiteRunStore(path))")
        return self.store

    def _system_prompt(self, tools: Iterable[Tool] | None = None) -> str:
        # Built once per (prompts, format, tools): 1,000 concurrent runs should not rebuild
        # it each; with a selector, runs that were shown the same tools share one prompt.
        if tools is None:  # what a run shows with no selector: the tools and those offered
            tools = offer(self.tools, self.offered_tools).values()
        shown = tuple(tools)
        key = (self.prompts, self.plan_format, shown)
        prompt = self._systems.get(key)
        if prompt is None:
            if len(self._systems) >= 256:
                self._systems.clear()
            offered = offered_names(shown, self.tools, self.offered_tools)
            prompt = self._systems[key] = self.prompts.system(
                shown, self.plan_format, offered=offered
            )
        return prompt

    async def _select(
        self, request: str, shown: Iterable[str] = (), *, pool: Mapping[str, Tool] | None = None
    ) -> dict[str, Tool]:
        """The tools to show for `request`: the selector's picks among the tools of `pool`
        (the agent's, and a run's toolsets) not yet `shown`, added to those, in the pool's
        order (the same picks, the same prompt)."""
        tools = self.tools if pool is None else pool
        if self.tool_selector is None or len(tools) <= self.select_k:
            return dict(tools)
        names = set(shown)
        offered = [t for name, t in tools.items() if name not in names]
        picked = await self.tool_selector.select(request, offered, self.select_k) if offered else []
        for item in picked:
            if not isinstance(item, Tool) or tools.get(item.name) is not item:
                raise ParcallError(
                    f"the tool selector returned {item!r}, which is not one of the agent's tools"
                )
            names.add(item.name)
        if not names:
            raise ParcallError("the tool selector picked no tool for this request")
        return {name: tool for name, tool in tools.items() if name in names}

    def _global_limiter(self) -> anyio.CapacityLimiter | None:
        if self.max_concurrency is not None and self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return self._limiter


class RunStream:
    """The events of one run as an async iterator, inside `async with`.

    Leaving the block before the run ends cancels the run and every tool call in it.
    """

    def __init__(
        self, agent: Agent, request: str, start: _Start | None = None, output: Output | None = None
    ) -> None:
        self._agent = agent
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
                    self._agent,
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
        assert self._receive is not None, "use `async with agent.stream(...)`"
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


@dataclass(frozen=True, slots=True)
class _Start:
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


def _start(
    run_id: str | None,
    meta: Mapping[str, Any] | None,
    resume: bool,
    message_history: Sequence[Turn | Mapping[str, Any]] | None,
    deps: Any,
    usage_limits: UsageLimits | None,
) -> _Start:
    """A run's start from a caller's arguments, checked."""
    check_type("run", "usage_limits", usage_limits, (UsageLimits, type(None)), "a UsageLimits")
    history = history_argument(message_history)
    return _Start(run_id, meta, resume, history=history, deps=deps, limits=usage_limits)


class _Run:
    """The state of one run: its conversation, its executor, its trace."""

    def __init__(
        self,
        agent: Agent,
        request: str,
        emit: Callable[[Event], None] | None,
        start: _Start | None = None,
        output: Output | None = None,
    ) -> None:
        self.agent = agent
        self.request = request
        self._start = start or _Start()
        self.journal: Journal | None = None
        self.events: list[Event] = []
        self._emit_out = emit
        self.plans: list[Plan] = []
        self.passes: list[PassRun] = []
        self._t0 = 0.0
        self._tg: TaskGroup
        self._time = anyio.current_time
        self._grammar = agent.constrained and agent.plan_format == "text"
        self._shape = answer_shape(request)
        self.output = output or agent.output
        self._value: Any = None  # a typed answer's value
        self._retried = False  # a typed answer gets one retry per run
        self._answers = _allowed_answers(self._shape) if self.output.text else ()
        self._thought: Thought = {
            "always": "short",
            "restate": "restate",
            "never": "none",
            "auto": "short" if self._shape.kind == "choice" else "none",
        }[agent.join_thought]
        self.tools = agent.tools  # the tools shown to the planner; a selector narrows them
        self.messages: list[Message] = []
        self.history = self._start.history
        self.limits = self._start.limits or agent.usage_limits
        self.usage = Usage()  # of the model calls so far, and how many there were
        self.requests = 0
        self.run_id = self._start.run_id or uuid.uuid4().hex
        self.lineage = Lineage(self.tools)

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
        if self.agent.store is None and not start.resume:
            return await self._toolsets()
        if start.resume:
            assert start.run_id is not None
            self.journal = start.journal or await Journal.resume(
                self.agent._journal_store(), start.run_id
            )
            if self.journal.run.request != self.request:
                raise ValueError(f"run {start.run_id!r} in the journal asked something else")
            if self.history and self.history != self.journal.history:
                raise ValueError(f"run {start.run_id!r} in the journal had another history")
            self.history = self.journal.history
        else:
            store = self.agent._journal_store()
            self.journal = await Journal.begin(
                store, self.request, self.run_id, start.meta, self.history
            )
        try:
            result = await self._toolsets()
        except Exception as exc:
            await self.journal.finish("failed", None, f"{type(exc).__name__}: {exc}")
            raise
        await self.journal.finish("done", result.answer, None)
        return result

    async def _toolsets(self) -> RunResult:
        if not self.agent.toolsets:
            return await self._execute()
        async with contextlib.AsyncExitStack() as stack:  # toolsets close with the run
            opened: list[Tool] = []
            for toolset in self.agent.toolsets:
                opened.extend(await stack.enter_async_context(toolset.open()))
            try:
                self.tools = tool_map([*self.agent.tools.values(), *opened])
            except ValueError as exc:
                raise ToolsetError(f"{exc}: give a toolset a prefix=...") from None
            return await self._execute()  # selects from, and prompts with, the run's tools

    async def _execute(self) -> RunResult:
        self._time = loop_clock()
        self._t0 = self._time()
        error: Exception | None = None
        answer: str | None = None
        pool = self.tools
        picked = await self.agent._select(self.request, pool=pool)
        self.tools = offer(picked, self.agent.offered_tools)
        self.lineage.tools = self.tools
        self.messages = [
            Message("system", self.agent._system_prompt(self.tools.values())),
            Message("user", self.agent.prompts.question(self.request, self.history)),
        ]
        limiter = self.agent._global_limiter()
        passes = self.agent.passes
        if passes is None:  # of every tool of the run: a replan may show more than the first
            passes = default_passes(pool.values())
        if passes or self.journal is not None:
            context = PassContext(
                self.request,
                self.messages[0].content,
                self.agent.plan_format,
                self.tools,
                self.emit,
                self.now,
                limiter,
            )
            self.passes = [p.start(context) for p in passes]
            if self.journal is not None:  # outermost: a journaled value skips every pass
                self.passes.insert(0, self.journal.task_pass(context))
            context.passes = tuple(self.passes)
        async with anyio.create_task_group() as tg:
            self._tg = tg
            approve, policy = self.agent.approve, self.agent.policy
            gate = (
                ApprovalGate(
                    approve, self.request, self.tools, self.lineage.arguments if policy else None
                )
                if approve
                else None
            )
            executor = Executor(
                tg,
                self.tools,
                emit=self.emit,
                clock=self.now,
                limiter=limiter,
                gate=gate,
                passes=self.passes,
                context=self._tool_context,
                policy=PolicyGate(policy, self.lineage, self.emit, self.now, gate)
                if policy
                else None,
            )
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

    def _tool_context(self, tool: str, task: int, attempt: int) -> RunContext[Any]:
        """What a tool that takes a `RunContext` is given for one attempt of one task."""
        usage, requests, deps = self.usage, self.requests, self._start.deps
        return RunContext(deps, usage, requests, self.run_id, self.request, tool, task, attempt)

    def result(self, executor: Executor, answer: str) -> RunResult:
        return RunResult(
            request=self.request,
            answer=answer,
            plans=tuple(self.plans),
            observations=tuple(executor.observations[i] for i in sorted(executor.observations)),
            events=tuple(self.events),
            duration=self.now(),
            run_id=self.run_id,  # the journal's, with a store
            output=answer if self.output.text else self._value,
            message_history=self.history,
            derived_from=self.lineage.answer,
        )

    async def _rounds(self, executor: Executor) -> str:
        prompts = self.agent.prompts
        round_no = 0
        seen: set[str] = set()
        scripted: str | None = None
        followed = False
        checked = False  # an invented number sent back once
        carried: tuple[Task, ...] = ()  # a follow-up's join shows the round before it too
        while True:
            plan, error = await self._plan(executor, round_no, scripted)
            scripted = None
            # Read the joiner prompt's fixed part while tools run; cancelled (and a backend
            # gives way) before the next model call, so it never delays one.
            prefill = anyio.CancelScope()
            ahead = self._prefill_messages(plan)
            if ahead:
                self._tg.start_soon(self._prefill, ahead, prefill)
            try:
                await executor.wait_settled()
            finally:
                prefill.cancel()
            calls = {call_key(t) for t in plan.tasks}
            # A replan that only repeats earlier calls will not find anything new: answer.
            repeats = round_no > 0 and calls <= seen
            seen |= calls
            can_replan = round_no < self.agent.max_replans and not repeats
            if not plan.tasks and error is None and can_replan:
                # An empty plan gathered nothing; left to the joiner, a model answers from
                # memory. Ask for a plan again instead.
                round_no += 1
                reason = "the plan called no tool; call the tools that find the answer"
                first = max(executor.indices, default=0) + 1
                self.messages.append(Message("user", prompts.replan(reason, first)))
                self.emit(Replanned(round_no, reason, self.now()))
                continue
            answer = template_answer(plan, error, executor.observations)
            if answer is not None and not self.output.text:
                self._value = self.output.from_template(plan, answer, executor.observations)
                answer = None if self._value is NO_VALUE else self.output.dump(self._value)
            if answer is not None:
                self.emit(AnswerDelta(answer, self.now()))
                self.emit(JoinDecided(round_no, "finish", answer, None, self.now(), "template"))
                self.emit(Answered(answer, self.now()))
                return answer
            join_prompt = prompts.join(
                self.request,
                (*carried, *plan.tasks),
                executor.observations,
                error,
                can_replan=can_replan,
                thought=self._thought,
                form=None if self.output.text else self.output.form,
            )
            carried = ()
            # A typed answer under structured outputs: the joiner replies in JSON.
            structured = self.agent.constrained and not self._grammar and not self.output.text
            if structured:
                thought = self._thought != "none"
                join_prompt += "\n" + self.output.structured_reply(
                    can_replan=can_replan, thought=thought
                )
            self.messages.append(Message("user", join_prompt))
            extras: dict[str, Any] = (
                {
                    "grammar": join_grammar(
                        can_replan=can_replan,
                        answers=self._answers,
                        thought=self._thought,
                        answer_rules=None if self.output.text else self.output.grammar(),
                    )
                }
                if self._grammar
                else {}
            )
            if structured:
                extras["json_schema"] = self.output.join_schema(
                    can_replan=can_replan, thought=thought
                )
            if self.agent.prompt_layout == "separate":
                extras["messages"] = self._separate_join_messages(join_prompt)
            deltas = AnswerStream(
                lambda piece: self.emit(AnswerDelta(piece, self.now())),
                live=self.output.text
                and not (self.agent.grounded or self.agent.follow_up)
                and not may_revise(
                    executor.observations, self.plans, calculator="calculator" in self.tools
                ),
            )
            text = await self._complete(
                "join", round_no, self.agent.max_join_tokens, deltas.on_chunk, extras
            )
            self.messages.append(Message("assistant", text))
            decision = self._decision(text, extras)
            if isinstance(decision, Finish) and not self.output.text:
                decision = await self._typed(decision, round_no, extras)
            if (
                isinstance(decision, Finish)
                and can_replan
                and self.agent.grounded
                and self.output.text  # a typed answer is JSON, not words a result holds
                and executor.observations
                and not is_grounded(decision.answer, self._evidence(executor))
            ):
                # The answer is in no result: a small joiner answering from memory. Look again.
                decision = Replan(
                    f"no result mentions {decision.answer!r}; search for what is missing",
                    decision.thought,
                )
            if isinstance(decision, Finish):
                # The answer states a number no result holds: replan once for it (a task
                # failed, or a sum was worked out in the head), else mark it unknown.
                decision = check_finish(
                    decision,
                    self.request,
                    executor.observations,
                    self.plans,
                    can_replan=can_replan and not checked,
                    calculator="calculator" in self.tools,
                )
                checked = checked or isinstance(decision, Replan)
            follow = (
                self._follow_up(decision.answer, executor)
                if isinstance(decision, Finish) and can_replan and not followed and self.output.text
                else None
            )
            if isinstance(decision, Finish) and follow is not None:
                # A name the tools never looked up may be a step on the way to the answer
                # (the director, not where he was born): look it up, then judge again from
                # all the results, without the first answer in view (a small model repeats
                # what it said).
                followed = True
                self.emit(
                    JoinDecided(round_no, "replan", decision.answer, decision.thought, self.now())
                )
                del self.messages[-2:]  # this join's results and the joiner's answer
                carried = plan.tasks
                round_no += 1
                first = max(executor.indices, default=0) + 1
                scripted = f"{first}. {follow}\njoin()"
                self.emit(
                    Replanned(round_no, f"look up {decision.answer!r} before answering", self.now())
                )
                continue
            if isinstance(decision, Finish):
                deltas.finish(decision.answer)
                self.emit(
                    JoinDecided(round_no, "finish", decision.answer, decision.thought, self.now())
                )
                self.emit(Answered(decision.answer, self.now()))
                return decision.answer
            self.emit(
                JoinDecided(round_no, "replan", decision.reason, decision.thought, self.now())
            )
            if not can_replan:
                raise ReplanLimitError(
                    f"the joiner asked to replan after {self.agent.max_replans} replan(s): "
                    f"{decision.reason}",
                    self.result(executor, ""),
                )
            round_no += 1
            first = max(executor.indices, default=0) + 1
            replan = prompts.replan(decision.reason, first)
            if self.agent.tool_selector is not None:
                before = set(self.tools)
                # Updated in place: the executor reads the same mapping.
                self.tools.update(
                    await self.agent._select(f"{self.request}\n{decision.reason}", before)
                )
                added = [t for name, t in self.tools.items() if name not in before]
                if added:
                    replan = f"{replan}\n{prompts.more_tools(added)}"
            self.messages.append(Message("user", replan))
            self.emit(Replanned(round_no, decision.reason, self.now()))

    async def _typed(
        self, decision: Finish, round_no: int, extras: dict[str, Any]
    ) -> Finish | Replan:
        """A typed answer, validated (its value in `_value`, its text the value's JSON); the
        first that fails goes back to the joiner with the error, a second raises."""
        try:
            self._value = self.output.parse(decision.answer)
        except ValidationError as exc:
            if self._retried:
                raise OutputValidationError(
                    f"the answer does not fit {_type_name(self.output.output_type)}, also "
                    f"when asked again: {validation_message(exc)}",
                    decision.answer,
                ) from None
            self._retried = True
            retry = Message("user", self.output.retry_request(decision.answer, exc))
            self.messages.append(retry)
            if "messages" in extras:  # the separate layout: the joiner's own conversation
                answered = Message("assistant", decision.answer)
                extras = {**extras, "messages": (*extras["messages"], answered, retry)}
            text = await self._complete("join", round_no, self.agent.max_join_tokens, None, extras)
            self.messages.append(Message("assistant", text))
            again = self._decision(text, extras)
            return (
                again if isinstance(again, Replan) else await self._typed(again, round_no, extras)
            )
        return Finish(self.output.dump(self._value), decision.thought)

    def _decision(self, text: str, extras: Mapping[str, Any]) -> Finish | Replan:
        return self.output.decision(text) if "json_schema" in extras else parse_decision(text)

    def _follow_up(self, answer: str, executor: Executor) -> str | None:
        """The call that looks up `answer` (`search(query="...")`), or None: follow-ups are
        off, the question asks for yes/no or one of its options, the answer is no short name,
        no one-text-argument tool was used, or that tool already looked it up."""
        if not self.agent.follow_up or self._shape.kind != "open":
            return None
        words = answer.split()
        if not 1 <= len(words) <= FOLLOW_UP_WORDS or not re.search(r"[A-Za-z]{2}", answer):
            return None
        used = Counter(
            o.tool for o in executor.observations.values() if _one_text_argument(self.tools, o.tool)
        )
        if not used:
            return None
        name = used.most_common(1)[0][0]
        field = next(iter(self.tools[name].args_model.model_fields))
        asked = {
            str(v).strip().lower() for o in executor.observations.values() for v in o.args.values()
        }
        if answer.strip().lower() in asked:
            return None
        return f"{name}({field}={json.dumps(answer.strip(), ensure_ascii=False)})"

    def _evidence(self, executor: Executor) -> list[str]:
        """What the joiner was shown: every observation's text, and the request itself."""
        limit = self.agent.prompts.observation_chars
        return [self.request, *(o.show(limit) for o in executor.observations.values())]

    def _separate_join_messages(self, join_prompt: str) -> tuple[Message, ...]:
        # The classic layout: the joiner reads a prompt of its own from the start.
        prompts = self.agent.prompts
        plans = "\n".join(p.text.strip() for p in self.plans)
        return (
            Message("system", prompts.join_system()),
            Message(
                "user",
                f"{prompts.question(self.request, self.history)}\n\n"
                f"Plan:\n{plans}\n\n{join_prompt}",
            ),
        )

    def _prefill_messages(self, plan: Plan) -> tuple[Message, ...]:
        """What the joiner call will surely start with (none if the plan has a template)."""
        if not isinstance(self.agent.model, Prefill) or plan.answer is not None or not plan.tasks:
            return ()
        prefix = self.agent.prompts.join_prefix(plan.tasks)
        if self.agent.prompt_layout == "separate":
            return self._separate_join_messages(prefix)
        return (*self.messages, Message("user", prefix))

    async def _prefill(self, messages: tuple[Message, ...], scope: anyio.CancelScope) -> None:
        model = self.agent.model
        assert isinstance(model, Prefill)
        with scope:
            if scope.cancel_called:
                return
            try:
                await model.prefill(messages)
            except Exception:  # a prefill only saves time; it must never fail a run
                return

    async def _plan(
        self, executor: Executor, round_no: int, scripted: str | None = None
    ) -> tuple[Plan, str | None]:
        """Stream a plan, handing each task to the executor the moment it is parsed
        (`scripted`: a plan the agent wrote itself, with no model call)."""
        agent = self.agent
        fmt = agent.plan_format
        parser: PlanParser | JsonPlanParser | ToolCallPlanParser
        extras: dict[str, Any] = {}
        if fmt == "tools":
            parser = ToolCallPlanParser(self.tools, known=executor.indices)
            extras["tools"] = tuple(
                ToolSpec(t.name, t.description, tool_call_parameters(t))
                for t in self.tools.values()
            )
        elif fmt == "json":
            parser = JsonPlanParser(self.tools, known=executor.indices)
            if agent.constrained:
                extras["json_schema"] = plan_json_schema(self.tools.values())
        else:
            parser = PlanParser(self.tools, known=executor.indices)
            extras["stop"] = PLAN_STOP
            if agent.constrained:
                extras["grammar"] = plan_grammar(self.tools.values())
        handed = 0
        calls: Counter[str] = Counter()
        keys: list[str] = []  # the calls so far, kept only under a grammar (the loop guard)

        def hand_over() -> None:
            nonlocal handed
            for task in parser.tasks[handed:]:
                self.emit(TaskParsed(task, round_no, self.now()))
                executor.submit(task)
                if not self._grammar:
                    continue
                key = call_key(task)
                calls[key] += 1
                keys.append(key)
                if calls[key] >= LOOPING_REPEATS or _repeats_a_run(keys):
                    # A small model under a grammar that writes one call (or a run of calls)
                    # again and again is looping: the grammar bounds the plan only at its
                    # task limit. End it here. (Unconstrained plans may repeat a call on
                    # purpose: dice rolls.)
                    assert isinstance(parser, PlanParser)
                    parser.end()
            handed = len(parser.tasks)

        def on_chunk(chunk: TextChunk | ToolCallChunk) -> bool:
            try:
                if isinstance(parser, ToolCallPlanParser):
                    if isinstance(chunk, ToolCallChunk):
                        parser.feed(chunk)
                    else:
                        parser.feed_text(chunk.text)
                elif isinstance(chunk, TextChunk):
                    parser.feed(chunk.text)
            finally:
                hand_over()
            return parser.joined

        error: str | None = None
        line: int | None = None
        cached = None
        if scripted is not None:
            parser = PlanParser(self.tools, known=executor.indices)
            cached = scripted
        elif fmt != "tools":
            for p in self.passes:
                cached = cached or await p.cached_plan(round_no)
        try:
            if cached is not None:
                on_chunk(TextChunk(cached))
            else:
                await self._complete("plan", round_no, agent.max_plan_tokens, on_chunk, extras)
            try:
                parser.close()
            finally:
                hand_over()
        except PlanError as exc:
            error, line = str(exc), exc.line
        plan = parser.plan()
        self.plans.append(plan)
        if scripted is None:  # the agent's own look-up is not the model's to have written
            self.messages.append(Message("assistant", plan.text))
        self.emit(PlanFinished(round_no, plan, error, self.now(), error_line=line))
        for p in self.passes:
            await p.planned(round_no, plan, error)
        return plan, error

    async def _complete(
        self,
        purpose: Purpose,
        round_no: int,
        max_tokens: int | None,
        on_chunk: Callable[[TextChunk | ToolCallChunk], bool] | None = None,
        extras: dict[str, Any] | None = None,
    ) -> str:
        """One model call. `on_chunk` sees each piece; returning True ends the useful output
        (the rest is drained briefly for usage, then the stream is closed)."""
        extras = dict(extras or {})
        request = ModelRequest(
            messages=extras.pop("messages", tuple(self.messages)),
            purpose=purpose,
            max_tokens=max_tokens,
            temperature=self.agent.temperature,
            **extras,
        )
        journal = self.journal
        replayed = journal.replay(request) if journal is not None else None
        if replayed is not None:  # the journal holds this call's output: no model call
            text: list[str] = []
            for chunk in replayed:
                if isinstance(chunk, TextChunk):
                    text.append(chunk.text)
                if on_chunk is not None and on_chunk(chunk):
                    break
            return "".join(text)
        seen: list[TextChunk | ToolCallChunk] = []

        def recording(chunk: TextChunk | ToolCallChunk) -> bool:
            seen.append(chunk)
            return on_chunk is not None and on_chunk(chunk)

        if self.limits is not None:
            self.limits.check_before_request(self.requests)
        output = await call_model(
            self.agent.model,
            request,
            purpose=purpose,
            round_no=round_no,
            emit=self.emit,
            clock=self.now,
            on_chunk=recording if journal is not None else on_chunk,
        )
        if journal is not None:
            await journal.record(request, seen)
        if self.limits is not None:
            self.limits.check_tokens(self.usage)
        return output


def _type_name(output_type: Any) -> str:
    return getattr(output_type, "__name__", None) or repr(output_type)


def _one_text_argument(tools: Mapping[str, Tool], name: str) -> bool:
    tool = tools.get(name)
    if tool is None:
        return False
    fields = tool.args_model.model_fields
    return len(fields) == 1 and next(iter(fields.values())).annotation is str


def _repeats_a_run(keys: list[str]) -> bool:
    """Whether the last calls repeat the run of two or more calls just before them
    (`search A, lookup A, search A, lookup A`)."""
    return any(keys[-k:] == keys[-2 * k : -k] for k in range(2, len(keys) // 2 + 1))


def _allowed_answers(shape: AnswerShape) -> tuple[str, ...]:
    """What a constrained joiner may answer: yes/no, one of the options the request names,
    or (empty) anything."""
    if shape.kind == "yes_no":
        return ("yes", "no", "Yes", "No")
    return shape.options
