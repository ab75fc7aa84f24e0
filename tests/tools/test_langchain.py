"""LangChain `BaseTool`s run as parcall tools."""

from __future__ import annotations

import sys
import threading

import anyio
import pytest

from conftest import FINISH, plan
from parcall import Agent, ApprovalRequest, Reject, ScriptedModel

pytest.importorskip(
    "langchain_core", reason="needs the langchain extra: pip install -e '.[langchain]'"
)

from langchain_core.tools import StructuredTool, ToolException
from langchain_core.tools import tool as lc_tool

from parcall.tools.langchain import from_langchain, from_langchain_tool

pytestmark = pytest.mark.anyio


@lc_tool
def multiply(a: int, b: int = 2) -> int:
    """Multiply two integers."""
    return a * b


barrier = threading.Barrier(2, timeout=10)


@lc_tool
def both_here(name: str) -> str:
    """Wait until two calls are in progress at once (in worker threads)."""
    barrier.wait()
    return f"hello {name}"


@lc_tool
async def shout(text: str) -> str:
    """Upper-case a text (an async LangChain tool)."""
    return text.upper()


def broken(text: str) -> str:
    """Always fails."""
    raise ToolException(f"cannot handle {text}")


def test_schema_and_description_come_from_the_langchain_tool() -> None:
    t = from_langchain_tool(multiply)
    assert t.name == "multiply"
    assert t.description == "Multiply two integers."
    assert t.parameters == ("a", "b")
    assert t.required == {"a"}
    assert t.validate({"a": 3})["b"] == 2


async def test_langchain_tools_run_in_a_plan_with_refs_and_in_parallel() -> None:
    barrier.reset()
    model = ScriptedModel(
        [
            plan(
                "1. multiply(a=3)",
                "2. multiply(a=$1, b=5)",
                '3. both_here("x")',
                '4. both_here("y")',
            ),
            FINISH,
        ]
    )
    with anyio.fail_after(10):  # the two both_here calls only end when they run together
        result = await Agent(model, from_langchain([multiply, both_here])).run("q")
    assert result.values == {1: 6, 2: 30, 3: "hello x", 4: "hello y"}


async def test_a_tool_exception_is_a_failed_observation() -> None:
    failing = StructuredTool.from_function(broken, name="broken-tool")
    model = ScriptedModel([plan('1. broken_tool(text="this")'), FINISH])
    result = await Agent(model, [from_langchain_tool(failing)]).run("q")
    (obs,) = result.observations
    assert obs.error_type == "ToolException"
    assert "cannot handle this" in (obs.error or "")


async def test_side_effects_put_a_langchain_tool_behind_the_gate() -> None:
    calls: list[int] = []

    def record(n: int) -> int:
        """Record a number."""
        calls.append(n)
        return n

    acting = from_langchain_tool(StructuredTool.from_function(record), side_effects=True)

    async def approve(request: ApprovalRequest) -> Reject:
        return Reject("no")

    model = ScriptedModel([plan("1. record(n=1)"), FINISH])
    await Agent(model, [acting], approve=approve).run("q")
    assert calls == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_async_langchain_tool_runs_on_asyncio() -> None:
    model = ScriptedModel([plan('1. shout(text="hi")'), FINISH])
    result = await Agent(model, from_langchain([shout])).run("q")
    assert result.values == {1: "HI"}


def test_a_non_langchain_object_is_refused() -> None:
    with pytest.raises(TypeError, match="not a LangChain BaseTool"):
        from_langchain_tool(print)  # type: ignore[arg-type]


def test_a_missing_langchain_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core.tools", None)
    with pytest.raises(ImportError, match=r"parcall\[langchain\]"):
        from_langchain_tool(multiply)
