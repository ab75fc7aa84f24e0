"""`RunContext`: what a tool that asks for it is given with each call — the run's `deps`,
its usage so far, its id.

A tool asks by naming `RunContext` as the annotation of its first parameter
(`def balance(ctx: RunContext[Bank], account: str) -> float`). That parameter is not an
argument the model writes: it is left out of the tool's schema and prompt signature, and the
executor passes the context in front of the validated arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, get_origin

from .usage import Usage

__all__ = ["ContextFactory", "RunContext", "takes_context"]

DepsT = TypeVar("DepsT")


@dataclass(frozen=True, slots=True)
class RunContext(Generic[DepsT]):
    """The run as one tool call sees it. Built for each call, so `usage` is current."""

    deps: DepsT
    """What the caller gave the run: `agent.run(q, deps=...)` (None if nothing)."""
    usage: Usage
    """The tokens of the run's model calls that finished before this call (the plan that
    wrote the task is usually still streaming: tasks start as their lines are parsed)."""
    requests: int
    """How many model calls of the run had finished before this call."""
    run_id: str
    """The run's id (the journal's, with `Agent(store=...)`; `result.run_id` too)."""
    prompt: str
    """The request the run answers."""
    tool_name: str
    task: int
    """The task's index in the plan (`$N`)."""
    retry: int = 0
    """0 for the first attempt, then 1, 2, … as the tool's `retries` try again."""
    kind: Literal["run_context"] = "run_context"


ContextFactory = Callable[[str, int, int], RunContext[Any]]
"""Builds the context of one call from the tool's name, the task's index and the attempt."""


def takes_context(function: Callable[..., Any], hints: dict[str, Any]) -> bool:
    """Whether the function's first parameter is annotated `RunContext` (or `RunContext[D]`)."""
    try:
        params = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    annotation = hints.get(params[0].name)
    if isinstance(annotation, str):  # an annotation that could not be resolved
        return annotation.split("[", 1)[0].rsplit(".", 1)[-1] == "RunContext"
    return annotation is RunContext or get_origin(annotation) is RunContext
