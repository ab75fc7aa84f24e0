"""Vector retrieval shared by the embedding selectors: an `Encoder` protocol, a cache of
encoded texts, and cosine ranking. The only module of `parcall.select` importing numpy."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from .._core.extras import require
from .._core.tool import Tool

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Encoder", "TextVectors", "VectorSelector", "numpy"]


class Encoder(Protocol):
    """Turns texts into unit-length vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


def numpy() -> Any:
    return require("numpy", needed_for="vector tool selection")


class TextVectors:
    """Encodes texts once: tools are offered again and again, requests are new each time."""

    def __init__(self, encoder: Encoder, *, limit: int = 50_000) -> None:
        self.encoder = encoder
        self.limit = limit
        self._cache: dict[str, NDArray[np.float32]] = {}
        self._lock = threading.Lock()  # selections of concurrent runs share the cache

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        np = numpy()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)  # type: ignore[no-any-return]
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if len(self._cache) + len(missing) > self.limit:
                self._cache.clear()
                missing = list(dict.fromkeys(texts))
            if missing:
                for text, vector in zip(missing, self.encoder.encode(missing)):
                    self._cache[text] = np.asarray(vector, dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])  # type: ignore[no-any-return]


def unit(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Rows scaled to length 1 (zero rows stay zero)."""
    np = numpy()
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)  # type: ignore[no-any-return]


class VectorSelector:
    """Ranks tools by a score against the request's vector; encoding runs in a worker thread."""

    def __init__(self, encoder: Encoder | None) -> None:
        if encoder is None:
            from ._minilm import MiniLMEncoder

            encoder = MiniLMEncoder()
        self.encoder = encoder
        self._vectors = TextVectors(encoder)

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        ranked = await anyio.to_thread.run_sync(self.rank, request, tools)
        return [tool for tool, _ in ranked[:k]]

    def rank(self, request: str, tools: Sequence[Tool]) -> list[tuple[Tool, float]]:
        """Every tool with its score, best first (ties keep the given order)."""
        if not tools:
            return []
        scores = self._scores(self._vectors([request])[0], tools)
        order = sorted(range(len(tools)), key=lambda i: -scores[i])
        return [(tools[i], scores[i]) for i in order]

    def _scores(self, query: NDArray[np.float32], tools: Sequence[Tool]) -> list[float]:
        raise NotImplementedError
