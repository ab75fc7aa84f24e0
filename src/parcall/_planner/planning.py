"""One planning round: the plan streamed from the model (or a cache, or written by the agent
itself), each task handed on the moment it is parsed."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from .._core.errors import PlanError
from .._core.events import Event, PlanFinished, TaskParsed
from .._core.plan import Plan, Task
from .._core.settings import Settings
from .._core.tool import Tool
from .._run.conversation import Conversation
from .._run.model_call import ModelCalls
from .._run.plan_pass import PassRun
from ..models._base import Message, TextChunk
from .formats import PlanFeed, plan_format, scripted_reader

__all__ = ["Planner"]


class Planner:
    """Asks the model for a plan in the agent's plan format and reads it as it streams."""

    def __init__(
        self,
        talk: Conversation,
        calls: ModelCalls,
        settings: Settings,
        emit: Callable[[Event], None],
        clock: Callable[[], float],
    ) -> None:
        self.talk = talk
        self.calls = calls
        self.settings = settings
        self.kind = plan_format(settings.plan_format)
        self.constrained = bool(settings.constrained)
        self._emit = emit
        self._clock = clock

    async def plan(
        self,
        round_no: int,
        tools: Mapping[str, Tool],
        known: Collection[int],
        submit: Callable[[Task], None],
        passes: Sequence[PassRun] = (),
        scripted: str | None = None,
    ) -> tuple[Plan, str | None]:
        """Stream a plan, handing each task to `submit` the moment it is parsed; `scripted`:
        a plan the agent wrote itself, run with no model call. Returns the plan and its
        error (a `PlanError`'s message), if it has one."""
        if scripted is not None:
            reader = scripted_reader(tools, known)
        else:
            reader = self.kind.reader(tools, known)

        def hand_over(task: Task) -> None:
            self._emit(TaskParsed(task, round_no, self._clock()))
            submit(task)

        under_grammar = self.constrained and self.kind.name == "text"
        feed = PlanFeed(reader, hand_over, guard_loops=under_grammar)
        cached = scripted
        if cached is None and self.kind.cached:
            for p in passes:
                cached = cached or await p.cached_plan(round_no)
        error: str | None = None
        line: int | None = None
        try:
            if cached is not None:
                feed.on_chunk(TextChunk(cached))
            else:
                extras = self.kind.request(tools, self.constrained)
                messages = tuple(self.talk.messages)
                max_tokens = self.settings.max_plan_tokens
                await self.calls.complete(
                    "plan", round_no, messages, max_tokens, feed.on_chunk, extras
                )
            feed.close()
        except PlanError as exc:
            error, line = str(exc), exc.line
        plan = reader.plan()
        self.talk.plans.append(plan)
        if scripted is None:  # the agent's own look-up is not the model's to have written
            self.talk.messages.append(Message("assistant", plan.text))
        self._emit(PlanFinished(round_no, plan, error, self._clock(), error_line=line))
        for p in passes:
            await p.planned(round_no, plan, error)
        return plan, error
