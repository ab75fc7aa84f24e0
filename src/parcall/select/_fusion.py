"""`RankFusion`: several selectors' rankings merged by reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from .._core.result import RunResult
from .._core.tool import Tool
from ._base import ToolSelector, Usage, learn_if_able

__all__ = ["RankFusion"]


class RankFusion:
    """Ranks tools by the sum of `1 / (c + rank)` over the given selectors' full rankings
    (Cormack et al. 2009): lexical and learned selectors miss different tools, and fusion
    needs no score calibration between them. `learn` is passed on to selectors that learn.
    """

    def __init__(self, selectors: Sequence[ToolSelector], *, c: int = 60) -> None:
        if not selectors:
            raise ValueError("RankFusion needs at least one selector")
        self.selectors = list(selectors)
        self.c = c

    def learn(self, source: RunResult | Usage) -> None:
        for selector in self.selectors:
            learn_if_able(selector, source)

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        rankings: list[list[Tool]] = [[] for _ in self.selectors]

        async def rank(i: int, selector: ToolSelector) -> None:
            rankings[i] = await selector.select(request, tools, len(tools))

        async with anyio.create_task_group() as tg:
            for i, selector in enumerate(self.selectors):
                tg.start_soon(rank, i, selector)
        score: dict[str, float] = {}
        by_name = {t.name: t for t in tools}
        for ranking in rankings:
            for position, tool in enumerate(ranking):
                score[tool.name] = score.get(tool.name, 0.0) + 1 / (self.c + position + 1)
        order = sorted(by_name, key=lambda name: -score.get(name, 0.0))
        return [by_name[name] for name in order[:k]]
