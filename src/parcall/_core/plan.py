"""Plans are data: tasks whose arguments may hold references to earlier results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Plan", "Ref", "Task", "Template", "iter_refs"]

PathItem = str | int


@dataclass(frozen=True, slots=True)
class Ref:
    """The result of task `task`, optionally looked into: `$3`, `$3.rows[0]`, `$3["name"]`."""

    task: int
    path: tuple[PathItem, ...] = ()
    kind: Literal["ref"] = "ref"

    def __str__(self) -> str:
        return f"${self.task}{self.path_text()}"

    def path_text(self) -> str:
        """The path as plan text: `.rows[0]`, or `["a key"]` for a key that is no name."""
        text = ""
        for item in self.path:
            if isinstance(item, int):
                text += f"[{item}]"
            elif item.isidentifier():
                text += f".{item}"
            else:
                text += f"[{json.dumps(item, ensure_ascii=False)}]"
        return text


@dataclass(frozen=True, slots=True)
class Template:
    """A string with references inside, e.g. `"population of $1"`; results are formatted in."""

    parts: tuple[str | Ref, ...]
    kind: Literal["template"] = "template"

    def __str__(self) -> str:
        return "".join(
            p.replace("$", "$$") if isinstance(p, str) else f"${{{p.task}{p.path_text()}}}"
            for p in self.parts
        )


@dataclass(frozen=True, slots=True)
class Task:
    """One tool call of a plan. `deps` are the tasks whose results its arguments use."""

    idx: int
    tool: str
    args: dict[str, Any]
    deps: tuple[int, ...] = ()
    thought: str | None = None
    line: int | None = None
    """Line of the plan text where the task starts (1-based), when parsed from text."""
    kind: Literal["task"] = "task"

    def describe(self) -> str:
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.args.items())
        return f"{self.idx}. {self.tool}({args})"


@dataclass(frozen=True, slots=True)
class Plan:
    """The tasks of one planning round, in the order the model wrote them."""

    tasks: tuple[Task, ...]
    text: str = ""
    joined: bool = False
    """Whether the plan ended with `join()` or `finish(...)` (a stream cut short has not)."""
    thoughts: tuple[str, ...] = field(default=())
    answer: str | Ref | Template | None = None
    """The answer template of a plan that ended with `finish(...)` instead of `join()`:
    when every task succeeds, the run answers with it and makes no joiner call."""
    kind: Literal["plan"] = "plan"

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)


def iter_refs(value: Any) -> Iterator[Ref]:
    """Every `Ref` inside an argument value (lists, tuples, dicts, templates), in order."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Template):
        for part in value.parts:
            if isinstance(part, Ref):
                yield part
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_refs(item)


def _show(value: Any) -> str:
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Template):
        return repr(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return repr(value.replace("$", "$$"))  # a literal dollar, not a reference
    return repr(value)


def call_key(task: Task) -> str:
    """A task's call without its index: the same tool with the same arguments."""
    return f"{task.tool}({task.args!r})"
