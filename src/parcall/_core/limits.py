"""`UsageLimits`: bounds on a run's model requests and tokens.

The request limit is checked before each model call (the call that would exceed it is not
made); the token limits after each call, from the usage the backend reported (a backend
that reports none counts as zero tokens). Exceeding one ends the run with
`UsageLimitExceeded`, whose `result` holds the run so far.
"""

from __future__ import annotations

from dataclasses import dataclass

from .checks import check_int
from .errors import UsageLimitExceeded
from .usage import Usage

__all__ = ["UsageLimits"]


@dataclass(frozen=True, slots=True)
class UsageLimits:
    """Limits on one run (`Agent(usage_limits=...)` for every run, or `run(q, usage_limits=...)`).

    `request_limit` bounds the model calls (plans and joins; 50 by default, as pydantic-ai);
    `input_tokens_limit`, `output_tokens_limit` and `total_tokens_limit` bound the tokens
    the calls read, wrote, or both, summed over the run. None is no limit.
    """

    request_limit: int | None = 50
    input_tokens_limit: int | None = None
    output_tokens_limit: int | None = None
    total_tokens_limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("request_limit", *_TOKEN_LIMITS):
            check_int("UsageLimits", name, getattr(self, name), minimum=0, optional=True)

    def check_before_request(self, requests: int) -> None:
        """Before a model call, with the calls made so far: raises if one more is too many."""
        if self.request_limit is not None and requests + 1 > self.request_limit:
            raise UsageLimitExceeded(
                f"the next model request would exceed the request_limit of "
                f"{self.request_limit} ({requests} made)"
            )

    def check_tokens(self, usage: Usage) -> None:
        """After a model call, with the run's usage so far: raises if a token limit is passed."""
        used = {
            "input_tokens_limit": usage.input_tokens,
            "output_tokens_limit": usage.output_tokens,
            "total_tokens_limit": usage.input_tokens + usage.output_tokens,
        }
        for name, count in used.items():
            limit = getattr(self, name)
            if limit is not None and count > limit:
                what = name.removesuffix("_limit").replace("_", " ")
                raise UsageLimitExceeded(
                    f"the run used {count} {what}, more than its {name} of {limit}"
                )


_TOKEN_LIMITS = ("input_tokens_limit", "output_tokens_limit", "total_tokens_limit")
