"""`Usage`: the tokens model calls read and wrote."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    """Input tokens the backend did not have to evaluate (prefix/prompt cache hits)."""
    reported: bool = True
    """False when a server sent no token counts: the zeros above are then unknown, not zero.
    A sum is reported only if all its parts were (its counts are then a lower bound)."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
            self.reported and other.reported,
        )

    def describe(self) -> str:
        """`12 in / 3 out tokens`, or `tokens not reported` when the server sent none."""
        counts = f"{self.input_tokens} in / {self.output_tokens} out tokens"
        if self.reported:
            return counts
        if self.input_tokens or self.output_tokens:
            return f"{counts} (some calls' tokens not reported)"
        return "tokens not reported"
