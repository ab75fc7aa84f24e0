"""`Clauses`: a request that asks for several things ("find a hotel, then book a taxi") is
ranked clause by clause, so the tool of each step gets a place among the k picks."""

from __future__ import annotations

import re
from collections.abc import Sequence

import anyio

from .._core.result import RunResult
from .._core.tool import Tool
from ._base import ToolSelector, Usage, learn_if_able

__all__ = ["Clauses", "clauses"]

# Sentence ends, and the words that start a next step.
_STEP = re.compile(
    r"(?<=[.!?;])\s+|,?\s+(?:and\s+)?then\b,?\s*|\b(?:after that|afterwards|finally|lastly)\b,?\s*",
    re.IGNORECASE,
)


def clauses(request: str, *, min_words: int = 3) -> list[str]:
    """The steps a request names: its sentences, split again at "then", "after that",
    "finally"; pieces of fewer than `min_words` words are dropped."""
    pieces = (p.strip() for p in _STEP.split(request) if p)
    return [p for p in pieces if len(p.split()) >= min_words]


class Clauses:
    """Wraps a selector. A request of two or more clauses (`clauses`) is ranked once per
    clause and once whole, and the picks take turns: the best tool of each clause, then of
    the whole request, then each one's second best, and so on. One tool per step beats a
    ranking of the whole request, where the step with the most words takes every place.
    A one-clause request goes to the wrapped selector unchanged.
    """

    def __init__(self, selector: ToolSelector, *, min_words: int = 3) -> None:
        if min_words < 1:
            raise ValueError("min_words must be at least 1")
        self.selector = selector
        self.min_words = min_words

    def learn(self, source: RunResult | Usage) -> None:
        learn_if_able(self.selector, source)

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        steps = clauses(request, min_words=self.min_words)
        if len(steps) < 2:
            return await self.selector.select(request, tools, k)
        rankings: list[list[Tool]] = [[] for _ in range(len(steps) + 1)]

        async def rank(i: int, text: str) -> None:
            rankings[i] = await self.selector.select(text, tools, k)

        async with anyio.create_task_group() as tg:
            for i, text in enumerate([*steps, request]):
                tg.start_soon(rank, i, text)
        picked: dict[str, Tool] = {}
        for turn in range(k):
            for ranking in rankings:
                if turn < len(ranking):
                    picked.setdefault(ranking[turn].name, ranking[turn])
        return list(picked.values())[:k]
