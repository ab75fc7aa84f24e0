"""Provenance: where every value of a run comes from, derived from the plan's data flow.

A task's arguments are the plan's literals and references to earlier results (`$2`,
`$2.rows[0]`, `"about $2"`). Literals of the first plan come from the request alone: the
planner has read no result yet. Literals of a replan come from everything the planner had
read by then. A task's result comes from its tool and from everything its arguments came
from. Tools say whether their output is trusted (`Tool.trusted`; MCP and OpenAPI tools are
not, by default), so a value is trusted when every one of its sources is.

The DAG says all of this, so no Python value is tagged: `Lineage` reads the run's events
(tasks parsed, settled, replans) and answers for any task, argument or answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .events import (
    Answered,
    Event,
    JoinDecided,
    PlanFinished,
    Replanned,
    TaskFailed,
    TaskFinished,
    TaskParsed,
)
from .plan import Ref, Task, Template, iter_refs
from .tool import Tool

__all__ = ["Lineage", "Provenance", "Source"]


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """One origin of a value: the user's `request` (the first plan's literals), a replan's
    literals (`plan`, with its `round`), or the result of task `idx` (`tool`)."""

    origin: Literal["request", "plan", "tool"]
    idx: int | None = None
    tool: str | None = None
    round: int | None = None
    trusted: bool = True
    kind: Literal["source"] = "source"

    def describe(self) -> str:
        if self.origin == "request":
            return "the request"
        if self.origin == "plan":
            return f"the literals of replan {self.round}"
        trust = "trusted" if self.trusted else "untrusted"
        return f"${self.idx} ({self.tool}, {trust})"


REQUEST = Source("request")


@dataclass(frozen=True, slots=True)
class Provenance:
    """The sources a value was derived from."""

    sources: frozenset[Source] = frozenset()
    kind: Literal["provenance"] = "provenance"

    @property
    def trusted(self) -> bool:
        """Whether every source is trusted (a value from the request alone is)."""
        return all(s.trusted for s in self.sources)

    @property
    def untrusted(self) -> tuple[Source, ...]:
        """The untrusted tool results among the sources, by task."""
        return tuple(sorted(s for s in self.sources if not s.trusted))

    @property
    def tools(self) -> tuple[Source, ...]:
        """The tool results among the sources, by task."""
        return tuple(sorted(s for s in self.sources if s.origin == "tool"))

    def __or__(self, other: Provenance) -> Provenance:
        return Provenance(self.sources | other.sources)

    def describe(self) -> str:
        """`the request, $1 (read_inbox, untrusted)`."""
        order = {"request": 0, "plan": 1, "tool": 2}
        ranked = sorted(self.sources, key=lambda s: (order[s.origin], s.idx or 0, s.round or 0))
        return ", ".join(s.describe() for s in ranked) or "nothing"


class Lineage:
    """One run's provenance, kept up to date from its events (`see`)."""

    def __init__(self, tools: Mapping[str, Tool]) -> None:
        self.tools = tools
        self._tasks: dict[int, Task] = {}
        self._rounds: dict[int, int] = {}
        self._settled: list[int] = []
        self._read: dict[int, Provenance] = {0: Provenance()}
        self._template: Any = None
        self._template_round = 0
        self._answer_from_template = False
        self._values: dict[int, Provenance] = {}
        self.answer: Provenance | None = None
        """What the run's answer was derived from, once it answered."""

    def see(self, event: Event) -> None:
        if isinstance(event, TaskParsed):
            self._tasks[event.task.idx] = event.task
            self._rounds[event.task.idx] = event.round
        elif isinstance(event, (TaskFinished, TaskFailed)):
            self._settled.append(event.observation.idx)
        elif isinstance(event, Replanned):
            # The planner writes the new round having read every result settled so far.
            self._read[event.round] = self._everything_settled()
        elif isinstance(event, PlanFinished):
            self._template, self._template_round = event.plan.answer, event.round
        elif isinstance(event, JoinDecided):
            self._answer_from_template = event.source == "template"
        elif isinstance(event, Answered):
            self.answer = self._answered()

    def read(self, round_no: int) -> Provenance:
        """What the planner had read when it wrote round `round_no` (nothing for the first)."""
        known = [r for r in self._read if r <= round_no]
        return self._read[max(known)] if known else Provenance()

    def round_of(self, task: Task) -> int:
        """The planning round that wrote `task`."""
        return self._rounds.get(task.idx, 0)

    def planned_after(self, task: Task) -> Provenance:
        """What the planner had read when it wrote `task`."""
        return self.read(self._rounds.get(task.idx, 0))

    def literal(self, round_no: int) -> Provenance:
        """Where the literals of round `round_no` come from."""
        if round_no == 0:
            return Provenance(frozenset({REQUEST}))
        return Provenance(frozenset({Source("plan", round=round_no)})) | self.read(round_no)

    def argument(self, task: Task, value: Any) -> Provenance:
        """Where one argument value of `task` comes from: its refs' results, and the plan's
        literals when it holds any."""
        found = self._results(ref.task for ref in iter_refs(value))
        if _has_literal(value):
            found = found | self.literal(self._rounds.get(task.idx, 0))
        return found

    def arguments(self, task: Task) -> dict[str, Provenance]:
        return {name: self.argument(task, value) for name, value in task.args.items()}

    def value(self, idx: int) -> Provenance:
        """Where task `idx`'s result comes from: its tool, and its arguments' sources."""
        found = self._values.get(idx)
        if found is not None:
            return found
        # A worklist over the task's inputs: a chain of refs may be long.
        order: list[int] = []
        stack, seen = [idx], set()
        while stack:
            current = stack.pop()
            if current in seen or current not in self._tasks:
                continue
            seen.add(current)
            order.append(current)
            stack.extend(self._tasks[current].deps)
        for current in reversed(order):  # inputs before the tasks that use them
            if current in self._values:
                continue
            task = self._tasks[current]
            sources = Provenance(frozenset({self._own(current)}))
            for value in task.args.values():
                sources = sources | self.argument(task, value)
            self._values[current] = sources
        return self._values.get(idx, Provenance())

    def _results(self, indices: Iterable[int]) -> Provenance:
        found = Provenance()
        for idx in indices:
            found = found | self.value(idx)
        return found

    def _answered(self) -> Provenance:
        request = Provenance(frozenset({REQUEST}))
        if self._answer_from_template:
            refs = [ref.task for ref in iter_refs(self._template)]
            return request | self.literal(self._template_round) | self._results(refs)
        # The joiner read the request and every result settled before it answered.
        return request | self._everything_settled()

    def _everything_settled(self) -> Provenance:
        """Everything every settled result came from: each one's own tool and the replans'
        literals suffice, as every input of a settled task is itself a settled task (linear
        in the run's tasks, where following each one's inputs would not be)."""
        found = {self._own(idx) for idx in self._settled}
        found.update(Source("plan", round=r) for r in self._read if r > 0)
        return Provenance(frozenset(found))

    def _own(self, idx: int) -> Source:
        task = self._tasks.get(idx)
        name = task.tool if task is not None else "?"
        tool = self.tools.get(name)
        return Source("tool", idx, name, trusted=tool is None or tool.trusted)


def _has_literal(value: Any) -> bool:
    """Whether an argument holds anything besides references (a string part, a constant)."""
    if isinstance(value, Ref):
        return False
    if isinstance(value, Template):
        return any(isinstance(p, str) and p for p in value.parts)
    if isinstance(value, dict):
        return any(_has_literal(v) for v in value.values()) or not value
    if isinstance(value, (list, tuple)):
        return any(_has_literal(v) for v in value) or not value
    return True
