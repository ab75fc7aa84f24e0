"""Identical calls of idempotent tools are made once by default; `passes=()` turns it off."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from conftest import FINISH, plan
from parcall import Agent, Event, PassApplied, ScriptedModel, Settings, Tool, tool
from parcall.passes import CommonSubexpressions, CriticalPath, ResultCache
from parcall.store import MemoryStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def get_price(calls: Counter[str], **policy: Any) -> Tool:
    async def price(item: str) -> float:
        """The price of an item, in euros."""
        calls[item] += 1
        await anyio.lowlevel.checkpoint()
        return {"apple": 0.5, "pear": 0.8}[item]

    return Tool.from_function(price, **policy)


@tool
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


DUPLICATES = plan('1. price("apple")', '2. price("apple")', "3. add(a=$1, b=$2)")


def merged(events: tuple[Event, ...]) -> list[tuple[int, tuple[int, ...]]]:
    return [
        (e.idx, e.related) for e in events if isinstance(e, PassApplied) and e.pass_name == "cse"
    ]


async def test_identical_calls_of_an_idempotent_tool_run_once_by_default() -> None:
    calls: Counter[str] = Counter()
    agent = Agent(ScriptedModel([DUPLICATES, FINISH]), [get_price(calls, idempotent=True), add])
    result = await agent.run("What do two apples cost?")
    assert calls == Counter({"apple": 1})
    assert result.values == {1: 0.5, 2: 0.5, 3: 1.0}  # $1 and $2 both hold the one result
    assert merged(result.events) == [(2, (1,))]


async def test_passes_empty_turns_merging_off() -> None:
    calls: Counter[str] = Counter()
    tools = [get_price(calls, idempotent=True), add]
    agent = Agent(ScriptedModel([DUPLICATES, FINISH]), tools, passes=())
    result = await agent.run("What do two apples cost?")
    assert calls == Counter({"apple": 2})
    assert result.values == {1: 0.5, 2: 0.5, 3: 1.0}
    assert merged(result.events) == []


async def test_passes_of_your_own_replace_the_default() -> None:
    calls: Counter[str] = Counter()
    tools = [get_price(calls, idempotent=True), add]
    alone = Agent(ScriptedModel([DUPLICATES, FINISH]), tools, passes=[CriticalPath()])
    await alone.run("q")
    assert calls["apple"] == 2
    both = Agent(
        ScriptedModel([DUPLICATES, FINISH]), tools, passes=[CommonSubexpressions(), CriticalPath()]
    )
    await both.run("q")
    assert calls["apple"] == 3


async def test_calls_of_a_tool_not_marked_idempotent_all_run() -> None:
    calls: Counter[str] = Counter()
    agent = Agent(ScriptedModel([DUPLICATES, FINISH]), [get_price(calls), add])
    result = await agent.run("q")
    assert calls == Counter({"apple": 2})
    assert merged(result.events) == []


async def test_a_tool_that_acts_is_never_merged_even_if_marked_idempotent() -> None:
    calls: Counter[str] = Counter()
    acting = get_price(calls, idempotent=True, side_effects=True)
    agent = Agent(ScriptedModel([DUPLICATES, FINISH]), [acting, add])
    result = await agent.run("q")
    assert calls == Counter({"apple": 2})
    assert merged(result.events) == []
    cache = ResultCache(MemoryStore())  # nor is its result kept across runs
    again = Agent(ScriptedModel([DUPLICATES, FINISH] * 2), [acting, add], passes=[cache])
    await again.run("q")
    await again.run("q")
    assert calls["apple"] == 6


def test_the_built_in_tools_are_idempotent() -> None:
    from parcall.tools import calculator, convert_units, date_diff, lookup, search, today

    for built_in in (search, lookup, calculator, date_diff, today, convert_units):
        assert built_in.idempotent and not built_in.side_effects, built_in.name


async def test_an_openapi_services_repeated_gets_are_sent_once_and_its_writes_every_time() -> None:
    pytest.importorskip("jsonref", reason="needs the openapi extra: pip install -e '.[openapi]'")
    from parcall.tools.openapi import OpenAPIToolset

    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path}")
        if request.method == "GET":
            return httpx.Response(200, json={"name": "Rex"})
        return httpx.Response(200, json={"ok": True, "got": json.loads(request.content)})

    document = {
        "openapi": "3.0.0",
        "paths": {
            "/pets/{id}": {
                "get": {
                    "operationId": "getPet",
                    "summary": "A pet by id.",
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
                },
                "post": {
                    "operationId": "renamePet",
                    "summary": "Rename a pet.",
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}},
                                }
                            }
                        }
                    },
                },
            }
        },
    }
    service = OpenAPIToolset(
        document, base_url="http://svc", transport=httpx.MockTransport(handler), side_effects=False
    )
    script = plan(
        "1. getPet(id=7)",
        "2. getPet(id=7)",
        '3. renamePet(id=7, name="Max")',
        '4. renamePet(id=7, name="Max")',
    )
    agent = Agent(ScriptedModel([script, FINISH]), [], toolsets=[service])
    result = await agent.run("q")
    assert sent == ["GET /pets/7", "POST /pets/7", "POST /pets/7"]
    assert result.values[1] == result.values[2] == {"name": "Rex"}
    off = OpenAPIToolset(
        document, base_url="http://svc", transport=httpx.MockTransport(handler), idempotent=False
    )
    sent.clear()
    await Agent(
        ScriptedModel([plan("1. getPet(id=7)", "2. getPet(id=7)"), FINISH]), [], toolsets=[off]
    ).run("q")
    assert sent == ["GET /pets/7", "GET /pets/7"]


async def test_an_mcp_tool_marked_read_only_is_merged_and_an_unmarked_one_is_not() -> None:
    pytest.importorskip("mcp", reason="needs the mcp extra: pip install -e '.[mcp]'")
    from parcall.tools.mcp import MCPToolset

    server = Path(__file__).parents[1] / "servers" / "mcp_demo.py"
    toolset = MCPToolset([sys.executable, str(server), "stdio"], side_effects=False)
    script = plan(
        '1. shout(text="hi")',  # readOnlyHint
        '2. shout(text="hi")',
        "3. add(a=1, b=2)",  # no hints
        "4. add(a=1, b=2)",
    )
    agent = Agent(ScriptedModel([script, FINISH]), [], toolsets=[toolset])
    result = await agent.run("q")
    assert result.values[1] == result.values[2] == "HI"
    assert merged(result.events) == [(2, (1,))]


async def test_calls_are_merged_when_a_replan_brings_an_idempotent_tool_into_view() -> None:
    class InOrder:
        """Shows the tools in the order given, one at a time."""

        async def select(self, request: str, tools: Sequence[Tool], k: int) -> list[Tool]:
            return list(tools[:k])

    calls: Counter[str] = Counter()
    script = [
        plan("1. add(a=1, b=2)"),
        "Action: Replan(the prices are missing)",
        plan('2. price("apple")', '3. price("apple")'),
        FINISH,
    ]
    tools = [add, get_price(calls, idempotent=True)]  # `add` is shown first, `price` on replan
    agent = Agent(
        ScriptedModel(script), tools, tool_selector=InOrder(), settings=Settings(select_k=1)
    )
    result = await agent.run("q")
    assert calls == Counter({"apple": 1})
    assert merged(result.events) == [(3, (2,))]
