"""`Tool2VecSelector`: a tool's vector learned from the requests that used it (Tool2Vec,
Moon et al. 2024), not only from its description."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._result import RunResult
from .._tool import Tool
from ._base import Usage, tool_text, usages
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
        if max_examples < 1:
            raise ValueError("max_examples must be at least 1")
        super().__init__(encoder)
        self.prior = prior
        self.max_examples = max_examples
        self.examples: dict[str, list[str]] = {}
        self._version = 0  # bumped by every new example; keys the cached tool matrix
        self._matrix: tuple[tuple[int, tuple[Tool, ...]], Any] | None = None
        for name, requests in (examples or {}).items():
            for request in requests:
                self.add_example(name, request)

    def add_example(self, tool_name: str, request: str) -> None:
        """Record that `request` was served (in part) by `tool_name`; the newest are kept."""
        kept = self.examples.setdefault(tool_name, [])
        if request not in kept:
            kept.append(request)
            del kept[: -self.max_examples]
            self._version += 1

    def learn(self, source: RunResult | Usage) -> None:
        """Add the request of a past run (or one `Usage`) to each tool it used."""
        for usage in [source] if isinstance(source, Usage) else usages(source):
            for name in usage.tools:
                self.add_example(name, usage.request)

    def _scores(self, query: NDArray[np.float32], tools: Sequence[Tool]) -> list[float]:
        scores: list[float] = (self._tool_matrix(tuple(tools)) @ query).tolist()
        return scores

    def _tool_matrix(self, tools: tuple[Tool, ...]) -> Any:
        """One unit vector per tool: its own text (weighted `prior`) plus its examples."""
        key = (self._version, tools)
        cached = self._matrix
        if cached is not None and cached[0] == key:
            return cached[1]
        own = self._vectors([tool_text(t) for t in tools]) * self.prior
        for i, tool in enumerate(tools):
            used = self.examples.get(tool.name, ())
            if used:
                own[i] += self._vectors(used).sum(axis=0)
        matrix = unit(own)
        self._matrix = (key, matrix)
        return matrix
