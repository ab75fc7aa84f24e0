"""The OpenAI chat-completions wire format: validated requests in, responses and chunks out."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._core.history import Turn
from .._core.result import RunResult, outcome_fields
from .._core.trace import event_to_dict
from ._response_format import ResponseFormat

__all__ = [
    "ChatCompletionRequest",
    "ChatMessage",
    "answer_pieces",
    "chunk",
    "completion",
    "error_body",
    "history_of",
    "question_of",
]

EVENT_FIELD = "parcall_event"
"""The extension field of a streamed chunk that carries one run event (clients may ignore it)."""
VALUE_CHARS = 2000


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        for part in self.content:
            if part.type != "text" or part.text is None:
                raise ValueError(f"only text content is understood, not {part.type!r} parts")
        return "".join(part.text or "" for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """What is read from a request; other OpenAI fields (temperature, …) are accepted and
    ignored, since the served agent has its own settings."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1
    tools: list[Any] | None = None
    response_format: ResponseFormat | None = None

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError("only n=1 is served")
        return n

    @field_validator("tools")
    @classmethod
    def _no_client_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            raise ValueError("this model runs its own tools on the server; send no 'tools'")
        return tools


def question_of(request: ChatCompletionRequest) -> str:
    """The agent's request: the last user message, with any instructions (system and
    developer messages) before it; the earlier turns are `history_of`. `ValueError` if the
    last message is not the user's."""
    messages = request.messages
    if messages[-1].role != "user":
        raise ValueError(f"the last message must be the user's, not {messages[-1].role!r}")
    question = messages[-1].text()
    if not question.strip():
        raise ValueError("the last user message is empty")
    instructions = [m.text() for m in messages[:-1] if m.role in ("system", "developer")]
    if not instructions:
        return question
    return "\n\n".join(["Instructions:\n" + "\n".join(instructions), f"Question: {question}"])


def history_of(request: ChatCompletionRequest) -> tuple[Turn, ...]:
    """The earlier user/assistant messages as the agent's `message_history`: each assistant
    message closes a turn whose request is the user messages before it (an assistant message
    with none, such as a greeting, is a turn with an empty request)."""
    turns: list[Turn] = []
    asked: list[str] = []
    for message in request.messages[:-1]:
        if message.role == "user":
            asked.append(message.text())
        elif message.role == "assistant":
            turns.append(Turn(request="\n".join(asked), answer=message.text()))
            asked = []
    if asked:  # user messages with no answer yet: a turn still waiting for one
        turns.append(Turn(request="\n".join(asked), answer=""))
    return tuple(turns)


def error_body(message: str, *, kind: str, code: str, param: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error (the official clients read `error.message`)."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class Ids:
    """One response's id, time and model, shared by all its chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model


def usage_of(result: RunResult) -> dict[str, int]:
    usage = result.usage
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }


def summary_of(result: RunResult) -> dict[str, Any]:
    """The `parcall` extension of a whole response: the run's status (`answered`,
    `partial`, `refused`, `dry_run`) and the tasks it lacks, and its shape, not its full
    trace."""
    return {
        **outcome_fields(result),
        "duration_s": result.duration,
        "replans": result.replans,
        "tasks": [
            {
                "idx": o.idx,
                "tool": o.tool,
                "status": o.status,
                "started_at": o.started_at,
                "finished_at": o.finished_at,
            }
            for o in result.observations
        ],
    }


def completion(ids: Ids, result: RunResult) -> dict[str, Any]:
    return {
        "id": ids.id,
        "object": "chat.completion",
        "created": ids.created,
        "model": ids.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": result.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": usage_of(result),
        "parcall": summary_of(result),
    }


def chunk(
    ids: Ids,
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    event: object | None = None,
    usage: dict[str, int] | None = None,
    outcome: RunResult | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": ids.id,
        "object": "chat.completion.chunk",
        "created": ids.created,
        "model": ids.model,
        "choices": []
        if usage is not None
        else [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    if event is not None:
        body[EVENT_FIELD] = event_to_dict(event, value_chars=VALUE_CHARS)
    if usage is not None:
        body["usage"] = usage
    if outcome is not None:  # the last chunk says how the run ended
        body["parcall"] = outcome_fields(outcome)
    return body


def answer_pieces(answer: str) -> list[str]:
    """The answer as word-sized deltas (a joiner's answer is whole; clients expect pieces)."""
    return re.findall(r"\s*\S+|\s+$", answer) or [answer]
