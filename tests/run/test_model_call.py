"""Ending a model call once its useful output is in: `STOP`, then the drain for backends
that ignore it."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from conftest import FINISH, make_search
from parcall import Agent, ModelCallFinished
from parcall._run.model_call import DRAIN_AFTER_DONE
from parcall.models import STOP, ModelChunk, ModelRequest, TextChunk, Usage, UsageChunk

pytestmark = pytest.mark.anyio

PLAN = ['1. search("a")\n', "join()\n"]


class Chatty:
    """A plan, then text without end, one chunk per token; `honours_stop` decides whether
    `STOP` ends it (as `LlamaCpp` does) or is ignored (as a server stream would)."""

    def __init__(self, *, honours_stop: bool) -> None:
        self.honours_stop = honours_stop
        self.generated: list[int] = []
        self.calls = 0

    @property
    def name(self) -> str:
        return "chatty"

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelChunk, object]:
        self.calls += 1
        if request.purpose == "join":
            yield TextChunk(FINISH)
            return
        made = 0
        try:
            for piece in [*PLAN, *(["and more "] * 1000)]:
                made += 1
                if (yield TextChunk(piece)) is STOP and self.honours_stop:
                    break
            yield UsageChunk(Usage(input_tokens=10, output_tokens=made))
        finally:
            self.generated.append(made)


def plan_usage(events: tuple[object, ...]) -> Usage:
    (call,) = [e for e in events if isinstance(e, ModelCallFinished) and e.purpose == "plan"]
    return call.usage


async def test_a_backend_that_honours_stop_generates_nothing_after_the_plan() -> None:
    model = Chatty(honours_stop=True)
    result = await Agent(model, [make_search()]).run("q")
    assert result.answer == "done"
    assert model.generated[0] == len(PLAN)  # nothing after `join()`
    assert plan_usage(result.events) == Usage(input_tokens=10, output_tokens=len(PLAN))


async def test_a_backend_that_ignores_stop_is_drained_then_closed() -> None:
    model = Chatty(honours_stop=False)
    result = await Agent(model, [make_search()]).run("q")
    assert result.answer == "done"
    assert model.generated[0] == len(PLAN) + DRAIN_AFTER_DONE + 1
    assert plan_usage(result.events) == Usage()  # it never came: the stream was closed
