"""`deps` and `RunContext`: what a tool that asks for it is given, hidden from the model."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conftest import FINISH, plan
from parcall import Agent, PassContext, PassRun, RunContext, ScriptedModel, Tool, tool
from parcall.passes import ResultCache

pytestmark = pytest.mark.anyio


@dataclass
class Bank:
    """What a caller gives a run: a handle the tools share, and who is asking."""

    user: str
    balances: dict[str, float]
    seen: list[RunContext[Bank]] = field(default_factory=list)


@tool
async def balance(ctx: RunContext[Bank], account: str) -> float:
    """The balance of one of the user's accounts.

    Args:
        account: the account's name.
    """
    ctx.deps.seen.append(ctx)
    return ctx.deps.balances[f"{ctx.deps.user}/{account}"]


@tool
def owner(ctx: RunContext[Bank]) -> str:
    """Who is asking (a sync tool, run in a worker thread)."""
    ctx.deps.seen.append(ctx)
    return ctx.deps.user


def bank() -> Bank:
    return Bank("ann", {"ann/savings": 120.0, "ann/current": 7.5})


def test_the_context_parameter_is_not_in_the_schema_or_the_signature() -> None:
    assert balance.parameters == ("account",)
    assert balance.json_schema()["properties"].keys() == {"account"}
    assert balance.json_schema()["required"] == ["account"]
    assert balance.signature() == "balance(account: str) -> float"
    assert owner.json_schema()["properties"] == {} and owner.takes_ctx
    assert not Tool.from_function(lambda account: account, name="plain", description="x").takes_ctx


async def test_deps_reach_async_and_sync_tools_with_the_runs_usage_and_id() -> None:
    deps = bank()
    model = ScriptedModel(
        [
            plan('1. balance("savings")'),
            "Action: Replan(ask who is asking)",
            plan("2. owner()"),
            FINISH,
        ]
    )
    result = await Agent(model, [balance, owner]).run("How much has Ann saved?", deps=deps)
    assert result.values == {1: 120.0, 2: "ann"}
    assert [ctx.tool_name for ctx in deps.seen] == ["balance", "owner"]
    for ctx in deps.seen:
        assert ctx.deps is deps
        assert ctx.run_id == result.run_id and ctx.run_id
        assert ctx.prompt == "How much has Ann saved?"
    first, second = deps.seen
    # a task runs while the plan that wrote it still streams: the calls finished before it
    calls = result.model_calls
    assert (first.requests, first.usage.input_tokens) == (0, 0)
    assert second.requests == 2 and second.usage == calls[0].usage + calls[1].usage
    assert (first.task, second.task) == (1, 2)


async def test_each_run_gets_its_own_deps() -> None:
    model = ScriptedModel([plan("1. owner()"), FINISH], cycle=True)
    agent = Agent(model, [owner])
    first = await agent.run("Who?", deps=Bank("ann", {}))
    second = await agent.run("Who?", deps=Bank("bob", {}))
    assert (first.values[1], second.values[1]) == ("ann", "bob")
    assert first.run_id != second.run_id


async def test_a_retried_call_says_which_attempt_it_is() -> None:
    attempts: list[int] = []

    @tool(retries=2, retry_delay=0)
    async def flaky(ctx: RunContext[None], x: int) -> int:
        """Fails twice."""
        attempts.append(ctx.retry)
        if ctx.retry < 2:
            raise OSError("not yet")
        return x

    model = ScriptedModel([plan("1. flaky(3)"), FINISH])
    result = await Agent(model, [flaky]).run("q")
    assert attempts == [0, 1, 2] and result.values[1] == 3


async def test_a_context_tool_is_never_served_from_the_result_cache() -> None:
    calls: list[str] = []

    @tool(idempotent=True)
    async def mine(ctx: RunContext[str], what: str) -> str:
        """The caller's own data."""
        calls.append(ctx.deps)
        return f"{ctx.deps}'s {what}"

    model = ScriptedModel([plan('1. mine("mail")'), FINISH], cycle=True)
    agent = Agent(model, [mine], passes=[ResultCache()])
    first = await agent.run("q", deps="ann")
    second = await agent.run("q", deps="bob")
    assert (first.values[1], second.values[1]) == ("ann's mail", "bob's mail")
    assert calls == ["ann", "bob"]


async def test_calling_a_context_tool_outside_a_run_needs_ctx() -> None:
    with pytest.raises(TypeError, match="takes a RunContext"):
        await owner.call({})


async def test_passes_are_given_a_pass_context() -> None:
    seen: list[object] = []

    class Spy:
        name = "spy"

        def start(self, run: PassContext) -> PassRun:
            seen.append(run)
            return PassRun()

    model = ScriptedModel([plan("1. owner()"), FINISH])
    await Agent(model, [owner], passes=[Spy()]).run("q", deps=bank())
    assert isinstance(seen[0], PassContext) and seen[0].request == "q"
