"""Which tools the planner is shown for a request, and the system prompt that shows them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._core.errors import ParcallError
from .._core.settings import PlanFormat
from .._core.tool import Tool
from .offered import offer, offered_names
from .prompts import Prompts

if TYPE_CHECKING:
    from ..select import ToolSelector

__all__ = ["ToolShowing"]

SYSTEM_PROMPTS_KEPT = 256


@dataclass(frozen=True, slots=True)
class ToolShowing:
    """The agent's tools, those it offers besides, and the selector that narrows them.

    `prompts_seen` is shared by every run of an agent: 1,000 concurrent runs should not
    rebuild the system prompt each; with a selector, runs shown the same tools share one."""

    tools: Mapping[str, Tool]
    offered: tuple[Tool, ...]
    prompts: Prompts
    plan_format: PlanFormat
    selector: ToolSelector | None = None
    k: int = 5
    prompts_seen: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def system_prompt(self, tools: Iterable[Tool] | None = None) -> str:
        """The planner's system prompt showing `tools` (default: every tool, and those
        offered)."""
        if tools is None:
            tools = offer(self.tools, self.offered).values()
        shown = tuple(tools)
        key = (self.prompts, self.plan_format, shown)
        prompt = self.prompts_seen.get(key)
        if prompt is None:
            if len(self.prompts_seen) >= SYSTEM_PROMPTS_KEPT:
                self.prompts_seen.clear()
            offered = offered_names(shown, self.tools, self.offered)
            prompt = self.prompts_seen[key] = self.prompts.system(
                shown, self.plan_format, offered=offered
            )
        return prompt

    async def select(
        self, request: str, shown: Iterable[str] = (), *, pool: Mapping[str, Tool] | None = None
    ) -> dict[str, Tool]:
        """The tools to show for `request`: the selector's picks among the tools of `pool`
        (the agent's, and a run's toolsets) not yet `shown`, added to those, in the pool's
        order (the same picks, the same prompt)."""
        tools = self.tools if pool is None else pool
        if self.selector is None or len(tools) <= self.k:
            return dict(tools)
        names = set(shown)
        offered = [t for name, t in tools.items() if name not in names]
        picked = await self.selector.select(request, offered, self.k) if offered else []
        for item in picked:
            if not isinstance(item, Tool) or tools.get(item.name) is not item:
                raise ParcallError(
                    f"the tool selector returned {item!r}, which is not one of the agent's tools"
                )
            names.add(item.name)
        if not names:
            raise ParcallError("the tool selector picked no tool for this request")
        return {name: tool for name, tool in tools.items() if name in names}
