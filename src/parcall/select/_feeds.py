"""Downstream completion: when a picked tool's result usually feeds another tool, pick that
one too, so the tool a plan needs at step 2 is not left out of the prompt."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .._core.result import RunResult
from .._core.tool import Tool
from ._base import ToolSelector, Usage, learn_if_able, usages

__all__ = ["FeedsCompletion"]


class FeedsCompletion:
    """Wraps a selector. After it picks, each picked tool is followed by the tools its result
    feeds, declared (`@tool(feeds=[...])`) or learned from past plans' `$N` edges: an edge
    `A → B` counts once `B` took `A`'s result in at least `min_share` of the plans that used
    `A` (and in `min_count` of them). Completion stays within `k`: a downstream tool takes
    the place of the lowest-ranked pick.

    `learn(result)` records a past run's edges (and passes it on to the wrapped selector if
    that one learns too).
    """

    def __init__(
        self, selector: ToolSelector, *, min_share: float = 0.5, min_count: int = 1
    ) -> None:
        if not 0 < min_share <= 1:
            raise ValueError("min_share must be in (0, 1]")
        if min_count < 1:
            raise ValueError("min_count must be at least 1")
        self.selector = selector
        self.min_share = min_share
        self.min_count = min_count
        self._uses: Counter[str] = Counter()
        self._edges: Counter[tuple[str, str]] = Counter()

    def learn(self, source: RunResult | Usage) -> None:
        """Record the tool-to-tool edges of a past run (or of one `Usage`)."""
        for usage in [source] if isinstance(source, Usage) else usages(source):
            self._uses.update(usage.tools)
            self._edges.update(set(usage.edges))
        learn_if_able(self.selector, source)

    def downstream(self, tool: Tool) -> list[str]:
        """The tools `tool`'s result feeds: declared ones first, then learned ones by share."""
        uses = self._uses[tool.name]
        learned = sorted(
            (
                (count / uses, target)
                for (source, target), count in self._edges.items()
                if source == tool.name and count >= self.min_count
                if uses and count / uses >= self.min_share
            ),
            key=lambda item: -item[0],
        )
        return list(dict.fromkeys([*tool.feeds, *(target for _, target in learned)]))

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        return self.complete(await self.selector.select(request, tools, k), tools, k)

    def complete(self, picked: Sequence[Tool], tools: Sequence[Tool], k: int) -> list[Tool]:
        """`picked` in order, each followed (transitively) by what it feeds, cut to `k`."""
        by_name = {t.name: t for t in tools}
        chosen: dict[str, Tool] = {}
        # A worklist instead of recursion: feed chains may be long (or cyclic).
        stack = list(reversed(picked))
        while stack and len(chosen) < k:
            tool = stack.pop()
            if tool.name in chosen:
                continue
            chosen[tool.name] = tool
            feeds = [by_name[n] for n in self.downstream(tool) if n in by_name]
            stack.extend(reversed([t for t in feeds if t.name not in chosen]))
        return list(chosen.values())
