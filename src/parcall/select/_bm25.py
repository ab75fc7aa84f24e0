"""`BM25Selector`: lexical retrieval over tool names, descriptions and parameter docs.

The only module that imports `bm25s` (and `PyStemmer`); both come with `parcall[select]`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from .._tool import Tool
from ._base import tool_text, words

__all__ = ["BM25Selector"]


def _bm25s() -> Any:
    try:
        return importlib.import_module("bm25s")
    except ImportError as exc:
        raise ImportError(
            "BM25Selector needs the bm25s package: pip install 'parcall[select]'"
        ) from exc


def _stemmer() -> Any:
    try:
        stemmer = importlib.import_module("Stemmer")
    except ImportError:  # stemming is a small gain; retrieval works without it
        return None
    return stemmer.Stemmer("english")


class BM25Selector:
    """Ranks tools by BM25 between the request and each tool's text (`tool_text`: name split
    into words, description, parameter names and docs), with English stemming.

    The index is built once per tool list and reused while the same tools are offered.
    """

    def __init__(self, *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._index: tuple[tuple[Tool, ...], Any, Any] | None = None

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        return [tool for tool, _ in self.rank(request, tools)[:k]]

    def rank(self, request: str, tools: Sequence[Tool]) -> list[tuple[Tool, float]]:
        """Every tool with its score, best first (ties keep the given order)."""
        tools = tuple(tools)
        if not tools:
            return []
        retriever, tokenizer = self._indexed(tools)
        query = tokenizer.tokenize(
            [words(request)], update_vocab=False, show_progress=False, return_as="ids"
        )
        scores = retriever.get_scores(query[0])
        order = sorted(range(len(tools)), key=lambda i: -float(scores[i]))
        return [(tools[i], float(scores[i])) for i in order]

    def _indexed(self, tools: tuple[Tool, ...]) -> tuple[Any, Any]:
        if self._index is not None and self._index[0] == tools:
            return self._index[1], self._index[2]
        bm25s = _bm25s()
        tokenizer = bm25s.tokenization.Tokenizer(stemmer=_stemmer(), stopwords="en")
        ids = tokenizer.tokenize(
            [tool_text(t) for t in tools], show_progress=False, return_as="ids"
        )
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index(ids, show_progress=False)
        self._index = (tools, retriever, tokenizer)
        return retriever, tokenizer
