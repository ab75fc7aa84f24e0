"""The three plan formats behind one protocol: how a plan is asked for and how it is read.

`plan_format(name)` gives a format's `PlanFormatKind`: the `PlanReader` that parses its
streamed output (`PlanParser` for LLMCompiler text, `JsonPlanParser`, `ToolCallPlanParser`)
and what the model request carries for it (stop words, a grammar, a JSON schema, tool specs).
`PlanFeed` hands each task to the executor the moment the reader has parsed it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from .._core.plan import Plan, Task, call_key
from .._core.settings import PlanFormat
from .._core.tool import Tool
from ..models._base import TextChunk, ToolCallChunk, ToolSpec
from .grammar import plan_grammar, plan_json_schema, tool_call_parameters
from .json_plan import JsonPlanParser, ToolCallPlanParser
from .text import PlanParser

__all__ = ["PLAN_STOP", "PlanFeed", "PlanFormatKind", "PlanReader", "plan_format"]

PLAN_STOP = ("<END_OF_PLAN>",)
LOOPING_REPEATS = 3
"""A constrained text plan whose same call (tool and arguments) comes this many times ends
there; a call with arguments that only tells what a tool without side effects already
returned ends it at its second time."""
GROWING_CALLS = 4
"""A constrained text plan ends at the call that makes this many calls in a row to one tool,
each with an argument that is the one before with more text added (`"a"`, `"a and b"`,
`"a and b and c"`, …): a small model spinning out one query."""

Chunk = TextChunk | ToolCallChunk


class PlanReader(Protocol):
    """A streaming plan parser: fed the model's chunks, it parses tasks as they complete."""

    tasks: list[Task]
    joined: bool
    """The plan ended (`join()` or its format's end): the rest of the stream is not read."""

    def feed_chunk(self, chunk: Chunk) -> None: ...

    def close(self) -> object:
        """End of stream: a task left open is a `PlanError`."""

    def plan(self) -> Plan: ...


class _Text(PlanParser):
    def feed_chunk(self, chunk: Chunk) -> None:
        if isinstance(chunk, TextChunk):
            self.feed(chunk.text)


class _Json(JsonPlanParser):
    def feed_chunk(self, chunk: Chunk) -> None:
        if isinstance(chunk, TextChunk):
            self.feed(chunk.text)


class _Calls(ToolCallPlanParser):
    def feed_chunk(self, chunk: Chunk) -> None:
        if isinstance(chunk, ToolCallChunk):
            self.feed(chunk)
        else:
            self.feed_text(chunk.text)


@dataclass(frozen=True, slots=True)
class PlanFormatKind:
    """One plan format: its reader and the request fields it needs."""

    name: PlanFormat
    reader_type: Callable[..., PlanReader]
    cached: bool = True
    """Whether a plan cache may answer instead of the model (native calls are not text)."""

    def reader(self, tools: Mapping[str, Tool], known: Collection[int]) -> PlanReader:
        return self.reader_type(tools, known=known)

    def request(self, tools: Mapping[str, Tool], constrained: bool) -> dict[str, Any]:
        """What a plan request carries besides the messages, for `tools`."""
        if self.name == "tools":
            specs = (
                ToolSpec(t.name, t.description, tool_call_parameters(t)) for t in tools.values()
            )
            return {"tools": tuple(specs)}
        if self.name == "json":
            return {"json_schema": plan_json_schema(tools.values())} if constrained else {}
        extras: dict[str, Any] = {"stop": PLAN_STOP}
        if constrained:
            extras["grammar"] = plan_grammar(tools.values())
        return extras


_FORMATS: dict[str, PlanFormatKind] = {
    "text": PlanFormatKind("text", _Text),
    "json": PlanFormatKind("json", _Json),
    "tools": PlanFormatKind("tools", _Calls, cached=False),
}


def plan_format(name: PlanFormat) -> PlanFormatKind:
    """The plan format named `name` (`text`, `json` or `tools`)."""
    return _FORMATS[name]


def scripted_reader(tools: Mapping[str, Tool], known: Collection[int]) -> PlanReader:
    """A reader for a plan the agent writes itself (LLMCompiler text)."""
    return _Text(tools, known=known)


class PlanFeed:
    """Hands each task to `submit` the moment `reader` has parsed it. With `guard_loops`
    (a text plan under a grammar), a plan that repeats a call, or a run of calls, ends there."""

    def __init__(
        self, reader: PlanReader, submit: Callable[[Task], None], *, guard_loops: bool
    ) -> None:
        self.reader = reader
        self._submit = submit
        self._guard = guard_loops and isinstance(reader, PlanParser)
        self._handed = 0
        self._calls: Counter[str] = Counter()
        self._tasks: list[Task] = []  # the calls so far, kept only under a grammar

    def on_chunk(self, chunk: Chunk) -> bool:
        """Feed one chunk; True once the plan has ended."""
        try:
            self.reader.feed_chunk(chunk)
        finally:
            self._hand_over()
        return self.reader.joined

    def close(self) -> None:
        try:
            self.reader.close()
        finally:
            self._hand_over()

    def _hand_over(self) -> None:
        for task in self.reader.tasks[self._handed :]:
            self._submit(task)
            if self._guard and self._loops(task):
                # A small model under a grammar that writes one call (or a run of calls)
                # again and again is looping: the grammar bounds the plan only at its task
                # limit. End it here. (Unconstrained plans may repeat a call on purpose.)
                assert isinstance(self.reader, PlanParser)
                self.reader.end()
        self._handed = len(self.reader.tasks)

    def _loops(self, task: Task) -> bool:
        key = call_key(task)
        self._calls[key] += 1
        self._tasks.append(task)
        assert isinstance(self.reader, PlanParser)
        tool = self.reader.tools.get(task.tool)
        again = 2 if task.args and tool is not None and not tool.side_effects else LOOPING_REPEATS
        return (
            self._calls[key] >= again
            or repeats_a_run([call_key(t) for t in self._tasks])
            or grows(self._tasks[-GROWING_CALLS:], GROWING_CALLS)
        )


def grows(tasks: list[Task], n: int) -> bool:
    """Whether `tasks` are `n` calls to one tool, each with the arguments of the one before
    but one string argument lengthened (the earlier text, then more)."""
    if len(tasks) < n or len({t.tool for t in tasks}) != 1:
        return False
    return all(_lengthens(a.args, b.args) for a, b in pairwise(tasks))


def _lengthens(before: dict[str, Any], after: dict[str, Any]) -> bool:
    if before.keys() != after.keys():
        return False
    changed = [k for k in before if before[k] != after[k]]
    if len(changed) != 1:
        return False
    old, new = before[changed[0]], after[changed[0]]
    return isinstance(old, str) and isinstance(new, str) and new.startswith(old) and old != ""


def repeats_a_run(keys: list[str]) -> bool:
    """Whether the last calls repeat the run of two or more calls just before them
    (`search A, lookup A, search A, lookup A`)."""
    return any(keys[-k:] == keys[-2 * k : -k] for k in range(2, len(keys) // 2 + 1))
