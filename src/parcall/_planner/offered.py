"""Tools the agent offers the planner besides the user's own: the built-in calculator, so a
sum over looked-up numbers is computed by a tool, not in the model's head (where a small
model gets 412 + 474 wrong).

A tool is offered only when the run has none of that name: a `calculator` of the user's
(or of a toolset) is kept as it is. `Settings(calculator=False)` (or `Agent.offered_tools = ()`)
offers none.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from .._core.tool import Tool

__all__ = ["default_offered", "offer", "offered_names"]


@functools.cache
def default_offered() -> tuple[Tool, ...]:
    """The tools an agent offers unless told otherwise: the built-in calculator, described
    to the planner as the place for any number computed from results."""
    from ..tools._calculator import calculator as compute  # built-in tools sit above the engine

    def calculator(expression: str) -> float | int:
        """Compute arithmetic: a sum, a difference, a product, an average. Any number the
        answer works out from results is computed here, never in the answer.

        Args:
            expression: The arithmetic, with results of earlier tasks as $N: a sum
                "$1 + $2 + $3", an average "mean($1, $2, $3)".
        """
        return compute(expression)

    return (Tool.from_function(calculator),)


def offer(tools: Mapping[str, Tool], offered: Iterable[Tool]) -> dict[str, Tool]:
    """`tools`, then each offered tool whose name none of them has."""
    out = dict(tools)
    for item in offered:
        out.setdefault(item.name, item)
    return out


def offered_names(
    tools: Iterable[Tool], own: Mapping[str, Tool], offered: Iterable[Tool]
) -> frozenset[str]:
    """The names among `tools` of tools that were offered, not given (not in `own`)."""
    extra = [o for o in offered if own.get(o.name) is not o]
    return frozenset(t.name for t in tools if any(t is o for o in extra))
