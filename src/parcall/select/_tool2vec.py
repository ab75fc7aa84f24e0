"""`Tool2VecSelector`: a tool's vector learned from the requests that used it (Tool2Vec,
Moon et al. 2024), not only from its description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._core.result import RunResult
from .._core.tool import Tool
from ._base import Examples, Usage, tool_text
from ._vectors import Encoder, VectorSelector, unit

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Tool2VecSelector"]


class Tool2VecSelector(VectorSelector):
    """Ranks tools by cosine similarity between the request and each tool's usage vector:
    the mean embedding of the requests that used the tool, with the embedding of its own
    text counted as `prior` more examples (so a tool nobody used yet is still found).

    `learn(result)` adds a past run's request as an example of every tool that succeeded in
    it; `examples` seeds usage (tool name → requests). `encoder` defaults to `MiniLMEncoder`.
    """

    def __init__(
        self,
        encoder: Encoder | None = None,
        *,
        examples: Mapping[str, Sequence[str]] | None = None,
        prior: float = 1.0,
        max_examples: int = 200,
    ) -> None:
        if prior < 0:
            raise ValueError("prior must be >= 0")
        super().__init__(encoder)
        self.prior = prior
        self.examples = Examples(examples, max_examples=max_examples)
        self._matrix: tuple[tuple[int, tuple[Tool, ...]], Any] | None = None

    def learn(self, source: RunResult | Usage) -> None:
        """Add the request of a past run (or one `Usage`) to each tool it used."""
        self.examples.learn(source)

    def _scores(self, query: NDArray[np.float32], tools: Sequence[Tool]) -> list[float]:
        scores: list[float] = (self._tool_matrix(tuple(tools)) @ query).tolist()
        return scores

    def _tool_matrix(self, tools: tuple[Tool, ...]) -> Any:
        """One unit vector per tool: its own text (weighted `prior`) plus its examples."""
        key = (self.examples.version, tools)
        cached = self._matrix
        if cached is not None and cached[0] == key:
            return cached[1]
        own = self._vectors([tool_text(t) for t in tools]) * self.prior
        for i, tool in enumerate(tools):
            used = self.examples.of(tool.name)
            if used:
                own[i] += self._vectors(used).sum(axis=0)
        matrix = unit(own)
        self._matrix = (key, matrix)
        return matrix
