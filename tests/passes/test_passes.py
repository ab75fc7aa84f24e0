"""Plan passes: each does less work or better-ordered work, and never changes an answer."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FINISH, plan
from parcall import Agent, Event, PassApplied, ScriptedModel, Settings, TaskStarted, Tool, tool
from parcall.passes import (
    CommonSubexpressions,
    CriticalPath,
    DeadTasks,
    Fusion,
    PriorityLimiter,
    ResultCache,
    call_key,
)
from parcall.store import MemoryStore

pytestmark = pytest.mark.anyio


class Calls:
    """Counts calls per tool, and the batches a batch form was given."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.batches: list[list[dict[str, Any]]] = []


def lookup_tool(calls: Calls, *, idempotent: bool = True, batch: bool = False) -> Tool:
    async def lookup(key: str) -> str:
        """Look a key up."""
        calls.count["lookup"] += 1
        await anyio.lowlevel.checkpoint()
        if key == "bad":
            raise ValueError("no such key")
        return f"value of {key}"

    async def lookup_many(batch_args: list[dict[str, Any]]) -> list[str]:
        calls.batches.append(batch_args)
        await anyio.lowlevel.checkpoint()
        if any(a["key"] == "bad" for a in batch_args):
            raise ValueError("no such key")  # as the single call would
        return [f"value of {a['key']}" for a in batch_args]

    return Tool.from_function(lookup, idempotent=idempotent, batch=lookup_many if batch else None)


def whole(*lines: str) -> ScriptedModel:
    """A model that writes the plan in one chunk (every task is parsed at once)."""
    return ScriptedModel([plan(*lines), FINISH], chars_per_token=10**9)


def applied(events: tuple[Event, ...], name: str) -> list[PassApplied]:
    return [e for e in events if isinstance(e, PassApplied) and e.pass_name == name]


def started(events: tuple[Event, ...]) -> list[int]:
    return [e.idx for e in events if isinstance(e, TaskStarted)]


# common subexpressions


async def test_cse_runs_a_repeated_idempotent_call_once_and_shares_its_result() -> None:
    calls = Calls()
    lines = ('1. lookup("a")', '2. lookup("b")', '3. lookup("a")')
    agent = Agent(whole(*lines), [lookup_tool(calls)], passes=[CommonSubexpressions()])
    result = await agent.run("q")
    assert calls.count["lookup"] == 2
    assert result.values == {1: "value of a", 2: "value of b", 3: "value of a"}
    [event] = applied(result.events, "cse")
    assert (event.idx, event.related) == (3, (1,))


async def test_cse_never_merges_calls_of_a_tool_not_marked_idempotent() -> None:
    calls = Calls()
    lines = ('1. lookup("a")', '2. lookup("a")')
    tools = [lookup_tool(calls, idempotent=False)]
    result = await Agent(whole(*lines), tools, passes=[CommonSubexpressions()]).run("q")
    assert calls.count["lookup"] == 2
    assert not applied(result.events, "cse")


async def test_cse_lets_a_repeat_of_a_failed_call_try_on_its_own() -> None:
    calls = Calls()
    lines = ('1. lookup("bad")', '2. lookup("bad")')
    agent = Agent(whole(*lines), [lookup_tool(calls)], passes=[CommonSubexpressions()])
    result = await agent.run("q")
    assert calls.count["lookup"] == 2
    assert [o.ok for o in result.observations] == [False, False]


def test_call_keys_tell_apart_what_a_tool_could_tell_apart() -> None:
    assert call_key("t", {"x": 1}) == call_key("t", {"x": 1})
    keys = {call_key("t", {"x": v}) for v in (1, 1.0, True, "1", [1], (1,), {"1": 1})}
    assert len(keys) == 7
    assert call_key("t", {"x": 1}) != call_key("u", {"x": 1})
    assert call_key("t", {"x": {1: "int key"}}) is None
    assert call_key("t", {"x": object()}) is None


# result cache


async def test_result_cache_serves_a_second_run_without_calling_the_tool() -> None:
    calls = Calls()
    cache = ResultCache()
    tools = [lookup_tool(calls)]
    first = await Agent(whole('1. lookup("a")'), tools, passes=[cache]).run("q")
    second = await Agent(whole('1. lookup("a")'), tools, passes=[cache]).run("q")
    assert calls.count["lookup"] == 1
    assert first.values == second.values == {1: "value of a"}
    assert len(applied(second.events, "result_cache")) == 1
    assert (cache.hits, cache.misses) == (1, 1)


async def test_result_cache_entries_expire_after_their_ttl() -> None:
    now = [0.0]
    calls = Calls()
    cache = ResultCache(MemoryStore(clock=lambda: now[0]), ttl=60)
    tools = [lookup_tool(calls)]
    for clock in (0.0, 59.0, 60.0):
        now[0] = clock
        await Agent(whole('1. lookup("a")'), tools, passes=[cache]).run("q")
    assert calls.count["lookup"] == 2  # a miss at 0, a hit at 59, expired at 60


async def test_result_cache_keeps_only_tools_marked_idempotent_and_plain_data() -> None:
    calls: Counter[str] = Counter()

    @tool(idempotent=True)
    async def pair(x: int) -> tuple[int, int]:
        """A tuple (JSON would read it back as a list)."""
        calls["pair"] += 1
        return (x, x)

    @tool
    async def stamp(x: int) -> int:
        """Not idempotent."""
        calls["stamp"] += 1
        return x

    cache = ResultCache()
    for _ in range(2):
        model = whole("1. pair(1)", "2. stamp(1)")
        result = await Agent(model, [pair, stamp], passes=[cache]).run("q")
        assert result.values == {1: (1, 1), 2: 1}
    assert calls == {"pair": 2, "stamp": 2}


def test_a_cache_needs_a_store_and_a_positive_ttl() -> None:
    with pytest.raises(TypeError, match="store"):
        ResultCache(store="memory")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl"):
        ResultCache(ttl=0)


# fusion


async def test_fusion_sends_ready_calls_of_a_batch_tool_as_one_call() -> None:
    calls = Calls()
    lines = ('1. lookup("a")', '2. lookup("b")', '3. lookup("c")')
    tools = [lookup_tool(calls, batch=True)]
    result = await Agent(whole(*lines), tools, passes=[Fusion(max_batch=3)]).run("q")
    assert calls.count["lookup"] == 0
    assert calls.batches == [[{"key": "a"}, {"key": "b"}, {"key": "c"}]]
    assert result.values == {1: "value of a", 2: "value of b", 3: "value of c"}
    [event] = applied(result.events, "fusion")
    assert (event.idx, event.related) == (1, (2, 3))


async def test_fusion_leaves_a_call_alone_in_its_window_as_a_plain_call() -> None:
    calls = Calls()
    tools = [lookup_tool(calls, batch=True)]
    result = await Agent(whole('1. lookup("a")'), tools, passes=[Fusion(window=0)]).run("q")
    assert (calls.count["lookup"], calls.batches) == (1, [])
    assert result.values == {1: "value of a"}


@pytest.mark.parametrize("broken", ["raises", "short"])
async def test_fusion_falls_back_to_one_call_each_when_the_batch_call_breaks(broken: str) -> None:
    count: Counter[str] = Counter()

    def many(batch_args: list[dict[str, Any]]) -> list[str]:
        if broken == "raises":
            raise ConnectionError("batch endpoint down")
        return ["only one"]

    @tool(batch=many)
    async def lookup(key: str) -> str:
        """Look a key up."""
        count[key] += 1
        return f"value of {key}"

    model = whole('1. lookup("a")', '2. lookup("b")')
    result = await Agent(model, [lookup], passes=[Fusion(max_batch=2)]).run("q")
    assert result.values == {1: "value of a", 2: "value of b"}
    assert count == {"a": 1, "b": 1}
    assert "each call runs on its own" in applied(result.events, "fusion")[-1].detail


# scheduling


def scheduled_tools() -> list[Tool]:
    async def seed() -> int:
        """Start once the whole plan is parsed (the model's stream has ended)."""
        await anyio.wait_all_tasks_blocked()
        return 0

    async def step(x: int, tag: int = 0) -> int:
        """One step (`tag` keeps the plan's lines distinct: the parser stops a looping plan)."""
        await anyio.lowlevel.checkpoint()
        return x + 1

    return [
        Tool.from_function(seed),
        Tool.from_function(step, idempotent=True),
        Tool.from_function(step, name="crunch", idempotent=True),
    ]


def seen_latencies() -> CriticalPath:
    """A scheduler that has seen `crunch` take ten times as long as `step`."""
    cp = CriticalPath()
    cp.observe("step", 0.1)
    cp.observe("crunch", 1.0)
    return cp


CHAIN_LAST = (
    "1. seed()",
    "2. step($1, 2)",
    "3. step($1, 3)",
    "4. step($1, 4)",
    "5. step($1, 5)",
    "6. crunch($1)",
    "7. crunch($6)",
    "8. crunch($7)",
)


@pytest.mark.parametrize(
    ("scheduled", "order"),
    [
        (False, [1, 2, 3, 4, 5, 6, 7, 8]),
        (True, [1, 2, 6, 7, 8, 3, 4, 5]),
    ],
)
async def test_critical_path_first_starts_the_long_chain_before_short_tasks(
    scheduled: bool, order: list[int], anyio_backend: str
) -> None:
    passes = [seen_latencies()] if scheduled else []
    agent = Agent(
        whole(*CHAIN_LAST), scheduled_tools(), settings=Settings(max_concurrency=1), passes=passes
    )
    result = await agent.run("q")
    if anyio_backend == "asyncio":
        assert started(result.events) == order
    elif scheduled:  # trio starts ready tasks in random order: only the first grab may differ
        got = started(result.events)
        assert got.index(6) <= 2
        assert got[got.index(6) : got.index(6) + 3] == [6, 7, 8]
    assert result.values == {1: 0, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 2, 8: 3}
    if scheduled:
        kept = [e for e in applied(result.events, "critical_path") if "kept" in e.detail]
        assert [(e.idx, e.related) for e in kept] == [(7, (6,)), (8, (7,))]


async def test_a_slot_kept_for_a_chain_never_waits_on_a_repeated_call() -> None:
    # 3 repeats 2 once $1 is known, and outranks it (4 uses 3): with a slot kept for 3,
    # CSE would hold 3 back for 2, which waits for that very slot.
    lines = ("1. seed()", "2. step(0)", "3. step($1)", "4. crunch($3)")
    passes = [CommonSubexpressions(), seen_latencies()]
    agent = Agent(
        whole(*lines), scheduled_tools(), settings=Settings(max_concurrency=1), passes=passes
    )
    with anyio.fail_after(10):
        result = await agent.run("q")
    assert result.values == {1: 0, 2: 1, 3: 1, 4: 2}


async def test_critical_path_orders_by_observed_latency_too() -> None:
    cp = CriticalPath()
    cp.observe("slow", 2.0)
    cp.observe("fast", 0.1)
    assert cp.expected("slow") == 2.0
    assert cp.expected("unseen") == pytest.approx(1.05)
    cp.observe("slow", 1.0)
    assert 1.0 < cp.expected("slow") < 2.0


async def test_dead_tasks_start_last_and_still_run(anyio_backend: str) -> None:
    # 2, 3 and 5 are used by no task; 4 is used by 5.
    lines = ("1. seed()", "2. step($1, 2)", "3. step($1, 3)", "4. step($1, 4)", "5. step($4)")
    agent = Agent(
        whole(*lines), scheduled_tools(), settings=Settings(max_concurrency=1), passes=[DeadTasks()]
    )
    result = await agent.run("q")
    got = started(result.events)
    if anyio_backend == "asyncio":
        assert got == [1, 2, 4, 3, 5]  # 2 found the slot free; then the used task first
    else:  # trio starts ready tasks in random order: only the first grab may differ
        assert got.index(4) <= 2
    assert result.values == {1: 0, 2: 1, 3: 1, 4: 1, 5: 2}


async def test_a_tool_limit_binds_under_the_scheduler_as_without_it() -> None:
    running = 0
    peak = 0

    @tool(max_concurrency=2, idempotent=True)
    async def slow(x: int) -> int:
        """Hold a slot for a moment."""
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        running -= 1
        return x

    lines = [f"{i}. slow({i})" for i in range(1, 9)]
    agent = Agent(whole(*lines), [slow], passes=[CriticalPath(), DeadTasks()])
    result = await agent.run("q")
    assert peak == 2
    assert result.values == {i: i for i in range(1, 9)}


async def test_priority_limiter_gives_a_freed_slot_to_the_highest_priority() -> None:
    from parcall.passes._priority import Waiter

    limiter = PriorityLimiter(1)
    order: list[str] = []
    priorities = {"low": 1.0, "high": 2.0, "bumped": 0.0}
    waiters = {n: Waiter(lambda n=n: priorities[n]) for n in ("holder", *priorities)}  # type: ignore[misc]
    priorities["holder"] = 0.0
    release = anyio.Event()

    async def take(name: str) -> None:
        async with limiter.hold(waiters[name]):
            order.append(name)
            if name == "holder":
                await release.wait()

    async with anyio.create_task_group() as tg:
        for name in ("holder", "low", "high", "bumped"):
            tg.start_soon(take, name)
            await anyio.wait_all_tasks_blocked()
        priorities["bumped"] = 3.0
        limiter.bump(waiters["bumped"])
        release.set()
    assert order == ["holder", "bumped", "high", "low"]


async def test_a_cancelled_waiter_leaves_its_place_to_the_next() -> None:
    from parcall.passes._priority import Waiter

    limiter = PriorityLimiter(1)
    got: list[str] = []
    release = anyio.Event()

    async def take(name: str, priority: float) -> None:
        async with limiter.hold(Waiter(lambda: priority)):
            got.append(name)
            if name == "holder":
                await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "holder", 0.0)
        await anyio.wait_all_tasks_blocked()
        async with anyio.create_task_group() as doomed:
            doomed.start_soon(take, "cancelled", 5.0)
            await anyio.wait_all_tasks_blocked()
            doomed.cancel_scope.cancel()
        tg.start_soon(take, "next", 1.0)
        await anyio.wait_all_tasks_blocked()
        release.set()
    assert got == ["holder", "next"]
    assert (limiter.borrowed, limiter.waiting) == (0, 0)


def test_passes_are_checked_when_the_agent_is_made() -> None:
    with pytest.raises(TypeError, match="not a pass"):
        Agent(ScriptedModel([]), [], passes=["cse"])  # type: ignore[list-item]


# a pass never changes an answer

ARGS = st.sampled_from(['"a"', '"b"', '"bad"'])


@st.composite
def plans(draw: st.DrawFn) -> list[str]:
    lines = []
    for i in range(1, draw(st.integers(1, 8)) + 1):
        tool_name = draw(st.sampled_from(["lookup", "note"]))
        if i > 1 and draw(st.booleans()):
            arg = f'"{{${draw(st.integers(1, i - 1))}}}"'  # a template: "${N}"
        else:
            arg = draw(ARGS)
        lines.append(f"{i}. {tool_name}({arg})")
    return lines


def run_plan(lines: list[str], passes: list[Any], limit: int | None) -> tuple[Any, ...]:
    calls = Calls()
    notes: list[str] = []

    async def note(text: str) -> str:
        """Not idempotent: records every call."""
        notes.append(text)
        await anyio.lowlevel.checkpoint()
        return f"noted {len(text)}"

    tools = [lookup_tool(calls, batch=True), Tool.from_function(note)]
    model = ScriptedModel([plan(*lines), FINISH], chars_per_token=7)

    async def main() -> Any:
        return await Agent(
            model, tools, passes=passes, settings=Settings(max_concurrency=limit)
        ).run("q")

    result = anyio.run(main)
    joiner_saw = model.requests[-1].messages[-1].content
    return result.answer, result.values, joiner_saw, sorted(notes)


@settings(max_examples=40, deadline=None)
@given(plans(), st.sampled_from([None, 1, 2]))
def test_no_pass_changes_what_the_joiner_sees_or_merges_non_idempotent_calls(
    lines: list[str], limit: int | None
) -> None:
    every = [
        CommonSubexpressions(),
        ResultCache(),
        Fusion(max_batch=3, window=0.001),
        CriticalPath(),
        DeadTasks(),
    ]
    assert run_plan(lines, every, limit) == run_plan(lines, [], limit)
