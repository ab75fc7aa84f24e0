"""BM25 with the `bm25s` library: `BM25Selector`, lexical retrieval over tool names,
descriptions and parameter docs, and `Bm25Index`, ranking a handful of texts (the eval
datasets' search).

The only module that imports `bm25s` (and `PyStemmer`); both come with `parcall[select]`
(`parcall[eval]` brings `bm25s` alone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core.extras import MissingExtraError, require
from .._core.result import RunResult
from .._core.tool import Tool
from ._base import Examples, Usage, tool_text, words

__all__ = ["BM25Selector", "Bm25Index"]


def _bm25s(needed_for: str, extra: str | None = None) -> Any:
    return require("bm25s", needed_for=needed_for, extra=extra)


def _stemmer() -> Any:
    try:
        stemmer = require("Stemmer", needed_for="stemming")
    except MissingExtraError:  # stemming is a small gain; retrieval works without it
        return None
    return stemmer.Stemmer("english")


class BM25Selector:
    """Ranks tools by BM25 between the request and each tool's text (`tool_text`: name split
    into words, description, parameter names and docs), with English stemming.

    `learn(result)` adds a past run's request to the text of every tool that succeeded in it
    (document expansion): requests use words that descriptions lack ("a table for four"
    for a restaurant booking), and a tool is then found by the words of the requests that
    needed it. `examples` seeds usage (tool name → requests); the newest `max_examples` of a
    tool are kept. The index is built once per tool list and learned examples, and reused.
    """

    def __init__(
        self,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        examples: Mapping[str, Sequence[str]] | None = None,
        max_examples: int = 200,
    ) -> None:
        self.k1 = k1
        self.b = b
        self.examples = Examples(examples, max_examples=max_examples)
        self._index: tuple[tuple[int, tuple[Tool, ...]], Any, Any] | None = None

    def learn(self, source: RunResult | Usage) -> None:
        """Add the request of a past run (or one `Usage`) to each tool it used."""
        self.examples.learn(source)

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
        key = (self.examples.version, tools)
        if self._index is not None and self._index[0] == key:
            return self._index[1], self._index[2]
        bm25s = _bm25s("BM25Selector")
        tokenizer = bm25s.tokenization.Tokenizer(stemmer=_stemmer(), stopwords="en")
        texts = ["\n".join([tool_text(t), *self.examples.of(t.name)]) for t in tools]
        ids = tokenizer.tokenize(texts, show_progress=False, return_as="ids")
        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        retriever.index(ids, show_progress=False)
        self._index = (key, retriever, tokenizer)
        return retriever, tokenizer


class Bm25Index:
    """Ranks `texts` for a query (English stopwords removed, no stemming). `extra`: the extra
    a missing `bm25s` is installed with (`eval` for the eval datasets)."""

    def __init__(self, texts: Sequence[str], *, extra: str = "select") -> None:
        if not texts:
            raise ValueError("a BM25 index needs at least one text")
        self._bm25s = _bm25s("BM25 search", extra)
        self.size = len(texts)
        self._retriever = self._bm25s.BM25()
        tokens = self._bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
        self._retriever.index(tokens, show_progress=False)

    def ranked(self, query: str, k: int = 1) -> list[tuple[int, float]]:
        """The best `k` texts as (position, score), best first; scores may be 0 when no
        query word occurs in any text."""
        tokens = self._bm25s.tokenize([query], stopwords="en", show_progress=False)
        docs, scores = self._retriever.retrieve(
            tokens, k=min(k, self.size), show_progress=False, n_threads=1
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0])]
