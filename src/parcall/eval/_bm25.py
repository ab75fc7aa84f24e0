"""BM25 over a handful of texts, with the `bm25s` library (the `eval` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._core.extras import require

__all__ = ["Bm25Index"]


def _bm25s() -> Any:
    return require("bm25s", needed_for="the eval datasets' search", extra="eval")


class Bm25Index:
    """Ranks `texts` for a query (English stopwords removed, no stemming)."""

    def __init__(self, texts: Sequence[str]) -> None:
        if not texts:
            raise ValueError("a BM25 index needs at least one text")
        self._bm25s = _bm25s()
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
