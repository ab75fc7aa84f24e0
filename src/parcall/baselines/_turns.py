"""What the turn-based baselines share: a conversation, an executor, and the same events.

`ReActAgent` and `ParallelToolCallAgent` are the two ways of calling tools that parcall is
measured against. Both run one model call per turn, read the calls it wrote, run them on the
same `Executor` as `Agent` (so tools, limits, timeouts and events are identical), show the
results to the model, and repeat until it writes `Finish(answer)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from .._core.checks import check_int, check_number, check_request
from .._core.errors import JoinerOutputError, ParcallError, PlanError, TurnLimitError
from .._core.events import (
    Answered,
    Event,
    JoinDecided,
    PlanFinished,
    TaskParsed,
)
from .._core.observation import Observation
from .._core.plan import Plan, Task, call_key
from .._core.result import RunResult
from .._core.tool import Tool, tool_map
from .._join.decision import parse_decision
from .._planner.prompts import _describe
from .._planner.text import parse_call
from .._run.executor import Executor
from .._run.model_call import call_model
from ..models._base import Message, Model, ModelRequest
from ..models._resolve import model_argument

__all__ = ["ANSWER_FORMAT", "FINAL_ASK", "LAST_TURN", "Turn", "TurnAgent", "TurnLimitError"]

ANSWER_FORMAT = """\
Thought: <one line>
Action: Finish(<the final answer>)
The final answer is short: a name, a date, a number, or yes/no, never a sentence."""
"""How every baseline is told to answer (its system prompt and the asks below share it)."""

ARGUMENTS = """\
Arguments are literals: "strings", numbers, true/false, null, [lists], {{"dicts": ...}}."""
"""The argument syntax, as a system prompt template (braces doubled for `str.format`)."""

LAST_TURN = f"This was your last tool call. Answer now from what you have, with\n{ANSWER_FORMAT}"
"""Added to the results shown before the last turn, as the ReAct paper's prompts do: a small
model otherwise searches on to the turn limit."""

REPEATED = f"Answer now from what you have, with\n{ANSWER_FORMAT}"
"""After a turn that repeats a call: a small model that asks again for a result it has
searches on to the turn limit otherwise; a second repeat ends the turns."""

FINAL_ASK = f"You have no tool calls left. Answer now from what you have, with\n{ANSWER_FORMAT}"


_EXAMPLE_CALL = re.compile(r"^(?:Action: |\d+\. )([A-Za-z_]\w*)\(", re.MULTILINE)
_BARE = re.compile(r"^([A-Za-z_]\w*)\s*[\(\[](.*)[\)\]]\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Turn:
    """What one model turn asked for: tool calls, or the final answer (or a broken call)."""

    tasks: tuple[Task, ...] = ()
    answer: str | None = None
    thought: str | None = None
    error: str | None = None
    error_line: int | None = None
    repeat: bool = False
    """The turn only repeated a call made before (not run again)."""


def read_finish(text: str) -> Turn | None:
    """`Finish(answer)` anywhere in a turn ends the run; None when the turn has no Finish."""
    if "finish" not in text.lower():
        return None
    decision = parse_decision(text)
    if decision.kind != "finish" or decision.inferred:
        return None
    return Turn(answer=decision.answer, thought=decision.thought)


def final_turn(text: str, ask: str, *, lenient: bool = False) -> Turn:
    """A turn without tool calls must finish with `Finish(answer)`; anything else is a
    broken turn (`ask` says what to write instead), shown to the model as an error, as the
    common ReAct executors do with output they cannot parse. `lenient`: text without
    `Finish` is taken as the answer (the reply to the last request for one)."""
    try:
        decision = parse_decision(text)
    except JoinerOutputError:
        raise PlanError(f"the turn is empty: {ask}") from None
    if decision.kind == "replan" or (decision.inferred and not lenient):
        raise PlanError(ask)
    return Turn(answer=decision.answer, thought=decision.thought)


class TurnAgent:
    """The shared loop; subclasses say how the model is prompted and how a turn is read."""

    system_prompt: str = ""
    """Formatted with `tools` (their descriptions) and `examples` (the usable ones)."""
    examples: tuple[str, ...] = ()
    """Worked examples, shown when the agent has every tool they call."""
    stop: tuple[str, ...] = ()
    repeat_calls: bool = True
    """False: a call made before (same tool, same arguments) is not run again; the model is
    told to use its result or try something else."""

    def __init__(
        self,
        model: Model | str,
        tools: Sequence[Tool | Callable[..., Any]],
        *,
        max_turns: int = 6,
        max_concurrency: int | None = None,
        temperature: float | None = 0.0,
        max_turn_tokens: int | None = 256,
        observation_chars: int = 2000,
    ) -> None:
        owner = type(self).__name__
        check_int(owner, "max_turns", max_turns, minimum=1)
        check_int(owner, "max_concurrency", max_concurrency, minimum=1, optional=True)
        check_number(owner, "temperature", temperature, minimum=0, optional=True)
        check_int(owner, "max_turn_tokens", max_turn_tokens, minimum=1, optional=True)
        check_int(owner, "observation_chars", observation_chars, minimum=1)
        self.model = model_argument(owner, model)
        self.tools = tool_map(tools)
        self.max_turns = max_turns
        self.max_concurrency = max_concurrency
        self.temperature = temperature
        self.max_turn_tokens = max_turn_tokens
        self.observation_chars = observation_chars
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, request: str) -> RunResult:
        """Answer `request`. After `max_turns` turns without an answer the model is asked once
        more for its final answer from what it has (as common ReAct executors do); raises
        `TurnLimitError` only when even that reply is no answer.
        An empty `request` is a `ValueError`."""
        check_request(request)
        return await _TurnRun(self, request).execute()

    def run_sync(self, request: str, *, backend: str = "asyncio") -> RunResult:
        """`run` for code without an event loop."""
        return anyio.run(self.run, request, backend=backend)

    def system(self) -> str:
        usable = [
            e
            for e in self.examples
            if set(_EXAMPLE_CALL.findall(e)) - {"Finish"} <= set(self.tools)
        ]
        shown = "\n\nExamples (other questions):\n" + "\n\n".join(usable) if usable else ""
        return self.system_prompt.format(tools=self.describe_tools(), examples=shown)

    def parse_call(self, call: str, line: int) -> tuple[str, list[Any], dict[str, Any]]:
        """A call as a plan line is parsed, else in the bare form (`bare_call`)."""
        try:
            return parse_call(call, line)
        except PlanError:
            bare = self.bare_call(call)
            if bare is None:
                raise
            return bare

    def bare_call(self, call: str) -> tuple[str, list[Any], dict[str, Any]] | None:
        """`search(Scott Derrickson)` or `search[Scott Derrickson]` (the ReAct paper's form)
        for a tool that takes one argument: the text is that argument."""
        match = _BARE.match(call.strip())
        if match is None or match.group(1) not in self.tools:
            return None
        fields = list(self.tools[match.group(1)].args_model.model_fields)
        if len(fields) != 1:
            return None
        value = match.group(2).strip().strip("\"'").strip()
        return (match.group(1), [], {fields[0]: value}) if value else None

    def describe_tools(self) -> str:
        return "\n".join(_describe(t) for t in self.tools.values())

    def read_turn(self, text: str, known: set[int]) -> Turn:
        """The calls (or the answer) in one turn's text; raise `PlanError` for a broken call."""
        raise NotImplementedError

    def observe(self, tasks: Sequence[Task], observations: dict[int, Observation]) -> str:
        """The user message that shows the model the results of its calls."""
        raise NotImplementedError

    def _global_limiter(self) -> anyio.CapacityLimiter | None:
        if self.max_concurrency is not None and self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return self._limiter


class _TurnRun:
    def __init__(self, agent: TurnAgent, request: str) -> None:
        self.agent = agent
        self.request = request
        self.events: list[Event] = []
        self.tasks: list[Task] = []
        self.texts: list[str] = []
        self.calls: dict[str, int] = {}
        self.repeats = 0  # turns that only repeated a call: the second one ends the turns
        self.messages = [Message("system", agent.system()), Message("user", f"Question: {request}")]
        self._t0 = 0.0

    def now(self) -> float:
        return anyio.current_time() - self._t0

    async def execute(self) -> RunResult:
        self._t0 = anyio.current_time()
        answer: str | None = None
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            executor = Executor(
                tg,
                self.agent.tools,
                emit=self.events.append,
                clock=self.now,
                limiter=self.agent._global_limiter(),
            )
            try:
                answer = await self._turns(executor)
            except Exception as exc:  # raised after the group, not wrapped in an ExceptionGroup
                error = exc
                tg.cancel_scope.cancel()
        result = RunResult(
            request=self.request,
            answer=answer or "",
            plans=(Plan(tuple(self.tasks), "\n".join(self.texts), answer is not None),),
            observations=tuple(executor.observations[i] for i in sorted(executor.observations)),
            events=tuple(self.events),
            duration=self.now(),
        )
        if error is not None:
            if isinstance(error, ParcallError) and error.result is None:
                error.result = result  # nothing the run did is lost
            raise error
        if answer is None:
            raise TurnLimitError(f"no answer after {self.agent.max_turns} turn(s)", result)
        return result

    async def _turns(self, executor: Executor) -> str | None:
        for turn_no in range(self.agent.max_turns):
            text = await self._complete(turn_no)
            self.texts.append(text)
            self.messages.append(Message("assistant", text))
            try:
                turn = self.agent.read_turn(text, executor.indices)
            except PlanError as exc:
                turn = Turn(error=str(exc), error_line=exc.line)
            turn = self._no_repeats(turn)
            for task in turn.tasks:
                self.events.append(TaskParsed(task, turn_no, self.now()))
                self.tasks.append(task)
                executor.submit(task)
            self.events.append(
                PlanFinished(
                    turn_no, Plan(turn.tasks, text), turn.error, self.now(), turn.error_line
                )
            )
            if turn.answer is not None:
                now = self.now()
                self.events.append(JoinDecided(turn_no, "finish", turn.answer, turn.thought, now))
                self.events.append(Answered(turn.answer, now))
                return turn.answer
            await executor.wait_settled()
            if turn.repeat:
                shown = f"Observation: {turn.error}. {REPEATED}"
            elif turn.error is not None:
                shown = f"Observation: ERROR ({turn.error}). Write a valid action."
            else:
                shown = self.agent.observe(turn.tasks, executor.observations)
            if turn_no == self.agent.max_turns - 2 and not turn.repeat:
                shown = f"{shown}\n{LAST_TURN}"
            self.messages.append(Message("user", shown))
            if turn.repeat and self.repeats > 1:
                break  # asked again for what it has: it has no other call to make
        return await self._final_answer(executor)

    def _no_repeats(self, turn: Turn) -> Turn:
        if self.agent.repeat_calls:
            return turn
        for task in turn.tasks:
            earlier = self.calls.get(call_key(task))
            if earlier is not None:
                self.repeats += 1
                return Turn(
                    error=f"you made this call before; its result (call {earlier}) is above",
                    thought=turn.thought,
                    repeat=True,
                )
        self.calls.update((call_key(t), t.idx) for t in turn.tasks)
        return turn

    async def _final_answer(self, executor: Executor) -> str | None:
        """Out of turns: ask once for `Finish(answer)`; a reply with tool calls is no answer."""
        turn_no = self.agent.max_turns
        last = self.messages.pop()  # the ask joins the last results: one user message
        self.messages.append(Message("user", f"{last.content}\n\n{FINAL_ASK}"))
        text = await self._complete(turn_no)
        self.texts.append(text)
        self.messages.append(Message("assistant", text))
        try:
            turn = self.agent.read_turn(text, executor.indices)
        except PlanError:
            try:  # asked for the answer: text without `Finish` is taken as it
                turn = final_turn(text, FINAL_ASK, lenient=True)
            except PlanError:
                turn = Turn()
        answer = turn.answer
        if turn.tasks or answer is None or not answer.strip():
            return None
        now = self.now()
        self.events.append(JoinDecided(turn_no, "finish", answer, turn.thought, now))
        self.events.append(Answered(answer, now))
        return answer

    async def _complete(self, turn_no: int) -> str:
        request = ModelRequest(
            messages=tuple(self.messages),
            purpose="turn",
            stop=self.agent.stop,
            max_tokens=self.agent.max_turn_tokens,
            temperature=self.agent.temperature,
        )
        return await call_model(
            self.agent.model,
            request,
            purpose="turn",
            round_no=turn_no,
            emit=self.events.append,
            clock=self.now,
        )


def next_index(known: set[int]) -> int:
    return max(known, default=0) + 1
