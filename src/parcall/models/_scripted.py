"""`ScriptedModel`: a model that replays given outputs at a chosen speed. A public test double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass

import anyio
from anyio.lowlevel import checkpoint

from .._core.checks import check_int, check_number, check_type
from .._core.errors import ScriptExhaustedError
from ._base import ModelChunk, ModelRequest, TextChunk, Usage, UsageChunk, prompt_text

__all__ = ["ScriptedModel", "count_tokens", "split_tokens"]

Output = str | Callable[[ModelRequest], str]


def split_tokens(text: str, chars_per_token: int = 4) -> list[str]:
    """Pieces of `chars_per_token` characters that never span a newline; a line's newline
    belongs to its last piece (an empty line is a piece of its own)."""
    tokens: list[str] = []
    lines = text.split("\n")
    last = len(lines) - 1
    for n, line in enumerate(lines):
        pieces = [line[i : i + chars_per_token] for i in range(0, len(line), chars_per_token)]
        if n < last:
            if pieces:
                pieces[-1] += "\n"
            else:
                pieces = ["\n"]
        tokens.extend(pieces)
    return tokens


def count_tokens(text: str, chars_per_token: int = 4) -> int:
    """`len(split_tokens(text))` without building the pieces."""
    lines = text.split("\n")
    count = sum(-(-len(line) // chars_per_token) or 1 for line in lines[:-1])
    return count + -(-len(lines[-1]) // chars_per_token)


@dataclass
class ScriptedModel:
    """Replays `outputs` in order, one per call, streamed like a real model.

    Each output is a string, or a function of the request returning one (to answer from the
    prompt). The first piece arrives `time_to_first_token` seconds after the call, the rest
    at `tokens_per_second` (None: all at once). Pieces are `chars_per_token` characters and
    never span a newline. Every request is kept in `requests`, so tests can read the prompts.
    Calls beyond the script raise `ScriptExhaustedError`; `cycle=True` starts over instead.
    """

    outputs: list[Output]
    time_to_first_token: float = 0.0
    tokens_per_second: float | None = None
    chars_per_token: int = 4
    cycle: bool = False
    name: str = "scripted"

    def __init__(
        self,
        outputs: Iterable[Output],
        *,
        time_to_first_token: float = 0.0,
        tokens_per_second: float | None = None,
        chars_per_token: int = 4,
        cycle: bool = False,
        name: str = "scripted",
    ) -> None:
        owner = "ScriptedModel"
        if isinstance(outputs, str):
            raise TypeError(
                f"{owner}: outputs must be a list of strings (one per call), not a str; "
                f"for one output write ScriptedModel([{outputs[:40]!r}])"
            )
        check_type(owner, "outputs", outputs, Iterable, "a list of strings or functions")
        self.outputs = list(outputs)
        for n, output in enumerate(self.outputs):
            if not (isinstance(output, str) or callable(output)):
                raise TypeError(
                    f"{owner}: outputs[{n}] must be a string or a function of the request, "
                    f"not {type(output).__name__}"
                )
        check_number(owner, "time_to_first_token", time_to_first_token, minimum=0)
        check_number(owner, "tokens_per_second", tokens_per_second, positive=True, optional=True)
        check_int(owner, "chars_per_token", chars_per_token, minimum=1)
        check_type(owner, "cycle", cycle, bool, "True or False")
        check_type(owner, "name", name, str, "a string")
        self.time_to_first_token = time_to_first_token
        self.tokens_per_second = tokens_per_second
        self.chars_per_token = chars_per_token
        self.cycle = cycle
        self.name = name
        self.requests: list[ModelRequest] = []

    @property
    def prompts(self) -> list[str]:
        """The last user message of each request, in call order."""
        return [r.messages[-1].content if r.messages else "" for r in self.requests]

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]:
        call = len(self.requests)
        self.requests.append(request)
        if call >= len(self.outputs) and not (self.cycle and self.outputs):
            raise ScriptExhaustedError(
                f"ScriptedModel has {len(self.outputs)} output(s) but was called "
                f"{call + 1} times (last request: {request.purpose})"
            )
        output = self.outputs[call % len(self.outputs)]
        text = output(request) if callable(output) else output
        tokens = split_tokens(text, self.chars_per_token)
        start = anyio.current_time()
        interval = 0.0 if self.tokens_per_second is None else 1.0 / self.tokens_per_second
        for i, token in enumerate(tokens):
            # Sleep until each token's due time, so delays do not accumulate drift.
            due = start + self.time_to_first_token + i * interval
            delay = due - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
            else:
                await checkpoint()
            yield TextChunk(token)
        if not tokens and self.time_to_first_token > 0:
            await anyio.sleep(self.time_to_first_token)
        prompt_tokens = count_tokens(prompt_text(request.messages), self.chars_per_token)
        yield UsageChunk(Usage(input_tokens=prompt_tokens, output_tokens=len(tokens)))
