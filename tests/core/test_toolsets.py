"""`Agent(toolsets=...)`: opened when a run starts, closed when it ends, tools added to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import pytest

from conftest import FINISH, make_search, plan
from parcall import Agent, ScriptedModel, Tool, Toolset, ToolsetError, tool

pytestmark = pytest.mark.anyio


class Counting:
    """A toolset that records when it is opened and closed."""

    def __init__(self, *tools: Tool) -> None:
        self.tools = tools
        self.log: list[str] = []

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Sequence[Tool]]:
        self.log.append("open")
        try:
            yield self.tools
        finally:
            self.log.append("close")


@tool
def double(x: int) -> int:
    """Twice x."""
    return 2 * x


async def test_a_toolset_is_open_for_each_run_and_its_tools_are_planned_with() -> None:
    toolset = Counting(double)
    assert isinstance(toolset, Toolset)
    model = ScriptedModel([plan("1. double(x=21)"), FINISH] * 2)
    agent = Agent(model, [make_search()], toolsets=[toolset])
    first = await agent.run("q")
    await agent.run("q")
    assert first.values == {1: 42}
    assert toolset.log == ["open", "close", "open", "close"]
    assert "double(x: int)" in model.requests[0].messages[0].content  # the planner sees it


async def test_a_toolset_closes_when_the_run_fails() -> None:
    toolset = Counting(double)
    agent = Agent(ScriptedModel([]), [], toolsets=[toolset])  # the model has nothing to say
    with pytest.raises(Exception, match="ScriptedModel"):
        await agent.run("q")
    assert toolset.log == ["open", "close"]


async def test_a_name_clash_is_a_clear_error() -> None:
    clash = Tool.from_function(lambda query: query, name="search", description="Search.")
    agent = Agent(ScriptedModel([]), [make_search()], toolsets=[Counting(clash)])
    with pytest.raises(ToolsetError, match=r"two tools are named 'search'.*prefix"):
        await agent.run("q")


def test_something_without_open_is_refused() -> None:
    with pytest.raises(TypeError, match="has no open"):
        Agent(ScriptedModel([]), [], toolsets=[object()])  # type: ignore[list-item]
