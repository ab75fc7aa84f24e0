"""The `ToolSelector` protocol and what every selector reads: a tool's text, past usage."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .._core.tool import Tool

if TYPE_CHECKING:
    from .._core.plan import Plan
    from .._core.result import RunResult

__all__ = ["Examples", "ToolSelector", "Usage", "learn_if_able", "tool_text", "usages", "words"]


@runtime_checkable
class ToolSelector(Protocol):
    """Picks the tools to show the planner for one request.

    `Agent(tool_selector=...)` calls `select` once per request, and again on each replan with
    the joiner's reason appended to the request. It returns at most `k` of `tools`, best
    first; the planner sees only those (and the plan may use only those).
    """

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]: ...


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")


def words(text: str) -> str:
    """Identifiers split into words (`SkyScrapperSearchAirport`, `get_weather.v2` →
    `Sky Scrapper Search Airport`, `get weather v2`), so names match plain requests."""
    return _SEPARATORS.sub(" ", _CAMEL.sub(" ", text)).strip()


def tool_text(tool: Tool) -> str:
    """What a retriever indexes for a tool: its name, description and parameter docs."""
    parts = [words(tool.name), tool.description]
    for name, info in tool.args_model.model_fields.items():
        parts.append(words(name))
        if info.description:
            parts.append(info.description)
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Usage:
    """What one plan says about its tools: the request, the tools it called, and which
    tool's result fed which (`$N` edges), as names."""

    request: str
    tools: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]


def usages(result: RunResult) -> Iterator[Usage]:
    """The usage in each plan of a past run; tasks that failed do not count."""
    ok = {obs.idx for obs in result.observations if obs.ok}
    by_idx = {task.idx: task.tool for plan in result.plans for task in plan}
    for plan in result.plans:
        yield plan_usage(result.request, plan, ok=ok, names=by_idx)


def plan_usage(
    request: str, plan: Plan, *, ok: set[int] | None = None, names: dict[int, str] | None = None
) -> Usage:
    """The usage of one plan (`ok`: the tasks that succeeded, all when None)."""
    names = names if names is not None else {task.idx: task.tool for task in plan}
    tasks = [t for t in plan if ok is None or t.idx in ok]
    tools = tuple(dict.fromkeys(t.tool for t in tasks))
    edges = tuple(dict.fromkeys((names[d], t.tool) for t in tasks for d in t.deps if d in names))
    return Usage(request, tools, edges)


class Examples:
    """Requests that past runs served with each tool (tool name → requests, newest
    `max_examples` kept), for selectors that learn from usage. `version` changes with every
    new example, so a selector can key a cached index on it."""

    def __init__(
        self, seed: Mapping[str, Sequence[str]] | None = None, *, max_examples: int = 200
    ) -> None:
        if max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        self.max_examples = max_examples
        self.by_tool: dict[str, list[str]] = {}
        self.version = 0
        for name, requests in (seed or {}).items():
            for request in requests:
                self.add(name, request)

    def add(self, tool_name: str, request: str) -> None:
        """Record that `request` was served (in part) by `tool_name`."""
        kept = self.by_tool.setdefault(tool_name, [])
        if request not in kept:
            kept.append(request)
            del kept[: -self.max_examples]
            self.version += 1

    def learn(self, source: RunResult | Usage) -> None:
        """Add the request of a past run (or one `Usage`) to each tool it used."""
        for usage in [source] if isinstance(source, Usage) else usages(source):
            for name in usage.tools:
                self.add(name, usage.request)

    def of(self, tool_name: str) -> Sequence[str]:
        return self.by_tool.get(tool_name, ())


def learn_if_able(selector: object, source: RunResult | Usage) -> None:
    """Pass a past run on to a wrapped selector that learns (one without `learn` is left)."""
    learn = getattr(selector, "learn", None)
    if callable(learn):
        learn(source)
