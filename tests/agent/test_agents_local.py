"""Conversations, deps and usage limits with a real model: SmolLM2-135M.

Outputs of a 135M model are not checked for sense, only what the engine guarantees with any
model: the second turn is planned from the first, deps reach the tools and the model cannot
write the context parameter, and a token limit stops the run on the usage llama.cpp reports.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from conftest import TINY_MISSING, tiny_model_path
from parcall import Agent, RunContext, Settings, Turn, UsageLimitExceeded, UsageLimits, tool
from parcall._planner.grammar import plan_grammar
from parcall.models import LlamaCpp, ModelRequest

pytestmark = [pytest.mark.anyio, pytest.mark.llama]


@pytest.fixture(scope="module")
def tiny() -> Iterator[LlamaCpp]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python not installed: pip install 'parcall[llama]'")
    if tiny_model_path() is None:
        pytest.skip(TINY_MISSING)
    model = LlamaCpp("local:tiny", n_ctx=2048, n_threads=1, seed=1, warm_start=False)
    yield model
    model.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # one backend: the model is the slow part, not the event loop


@dataclass
class Directory:
    user: str
    calls: list[str] = field(default_factory=list)


@tool
def height(ctx: RunContext[Directory], building: str) -> str:
    """The height of a building.

    Args:
        building: the building's name.
    """
    ctx.deps.calls.append(building)
    return f"{building} is 300 m tall (asked by {ctx.deps.user})."


class Recording:
    """The tiny model, keeping each request (to read the prompts it was given)."""

    def __init__(self, model: LlamaCpp) -> None:
        self.model = model
        self.name = model.name
        self.requests: list[ModelRequest] = []

    def stream(self, request: ModelRequest):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        return self.model.stream(request)


async def test_history_deps_and_a_token_limit_on_the_tiny_model(tiny: LlamaCpp) -> None:
    # One model call, to keep it quick on a busy CPU: the plan of the second turn of a
    # conversation, stopped after it by a limit the prompt alone goes past.
    model = Recording(tiny)
    limits = UsageLimits(input_tokens_limit=10)
    agent = Agent(
        model,
        [height],
        settings=Settings(max_plan_tokens=8, constrained=False),
        usage_limits=limits,
    )
    deps = Directory("ann")
    history = [Turn(request="How tall is the Eiffel Tower?", answer="330 m")]
    with pytest.raises(UsageLimitExceeded, match="input_tokens_limit of 10") as caught:
        await agent.run("And the other one?", deps=deps, message_history=history)
    (request,) = model.requests
    assert "ctx" not in plan_grammar(agent.tools.values())  # what a constrained plan may say
    assert "Q: How tall is the Eiffel Tower?\nA: 330 m" in request.messages[1].content
    partial = caught.value.result
    assert partial.usage.input_tokens > 10 and len(partial.model_calls) == 1
    # whatever the model planned, each call it made was given the run's deps
    assert len(deps.calls) == len([o for o in partial.observations if o.ok])
