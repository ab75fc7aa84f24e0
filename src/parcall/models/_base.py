"""The one protocol every model backend implements, and the messages it speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, runtime_checkable

from .._core.usage import Usage

__all__ = [
    "STOP",
    "Message",
    "Model",
    "ModelChunk",
    "ModelRequest",
    "Prefill",
    "TextChunk",
    "ToolCallChunk",
    "ToolSpec",
    "Usage",
    "UsageChunk",
]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. Prompts are built so that later calls extend earlier ones."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a chat API's native `tools` field describes it (JSON schema parameters)."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Everything a backend needs for one streamed completion."""

    messages: tuple[Message, ...]
    purpose: Literal["plan", "join", "turn", "other"] = "other"
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    grammar: str | None = None
    """A GBNF grammar (llama.cpp) the output must match, if the backend supports it."""
    json_schema: dict[str, Any] | None = None
    """A JSON schema (structured outputs) the output must match, if supported."""
    tools: tuple[ToolSpec, ...] = ()
    """Offered for native tool calling; empty means plain text output."""


@dataclass(frozen=True, slots=True)
class TextChunk:
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ToolCallChunk:
    """A piece of a native tool call; pieces with the same `index` belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class UsageChunk:
    usage: Usage = field(default_factory=Usage)
    kind: Literal["usage"] = "usage"


ModelChunk = TextChunk | ToolCallChunk | UsageChunk


class _Stop:
    __slots__ = ()

    def __repr__(self) -> str:
        return "STOP"


STOP: Final = _Stop()
"""Sent into a model's stream (`await stream.asend(STOP)`) by a consumer that has all the
output it needs. A backend that generates locally stops there and yields its `UsageChunk`
next, so nothing more is generated and the usage is exact; a backend may also ignore it
and go on as if the consumer had asked for the next chunk."""


@runtime_checkable
class Model(Protocol):
    """A language model that streams a completion.

    `stream` is an async generator: it yields text (or tool-call) chunks as they arrive and
    ends with at most one `UsageChunk`. Consumers may stop early (e.g. once a plan's `join()`
    is parsed) and close the generator; backends must then release what they hold. Before
    closing, a consumer may send `STOP` to ask for the usage so far (see `STOP`).
    """

    @property
    def name(self) -> str: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelChunk]: ...


@runtime_checkable
class Prefill(Protocol):
    """Optional for a `Model`: read a prompt's beginning ahead of time.

    The agent calls `prefill(messages)` while tools run, with the part of the next prompt
    that will not change (its last message is the start of a message the next call
    completes), and again with a longer beginning as results arrive. A backend with a local
    cache evaluates it (llama.cpp: into the KV cache); others need not implement it. The
    agent cancels the call before its next model call, and a backend must then give way at
    once; errors are ignored.
    """

    async def prefill(self, messages: Sequence[Message]) -> None: ...


def prompt_text(messages: Sequence[Message]) -> str:
    """A plain rendering of messages, for backends without a chat template and for counting."""
    return "".join(f"<|{m.role}|>\n{m.content}\n" for m in messages)
