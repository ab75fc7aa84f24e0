"""The engine end to end with the scripted model: parallelism, refs, failures, replans."""

from __future__ import annotations

import math
from typing import Any

import anyio
import pytest

from conftest import FINISH, Gate, live_tasks, make_search, plan
from parcall import (
    Agent,
    Answered,
    JoinDecided,
    ModelCallFinished,
    ReplanLimitError,
    Replanned,
    ScriptedModel,
    Settings,
    TaskFailed,
    TaskFinished,
    TaskParsed,
    TaskStarted,
    Tool,
    tool,
)

pytestmark = pytest.mark.anyio


def gated_tool(gate: Gate, expected: int) -> Tool:
    """A tool that waits until `expected` calls are running at once, then returns."""
    everyone_in = anyio.Event()

    @tool
    async def fetch(name: str) -> str:
        """Fetch a thing."""
        gate.enter(name)
        try:
            if gate.running >= expected:
                everyone_in.set()
            await everyone_in.wait()
            return f"got {name}"
        finally:
            gate.leave()

    return fetch


async def test_independent_tasks_start_before_either_finishes(gate: Gate) -> None:
    model = ScriptedModel([plan('1. fetch("a")', '2. fetch("b")'), FINISH])
    agent = Agent(model, [gated_tool(gate, expected=2)])
    with anyio.fail_after(5):  # a sequential engine would wait here forever
        result = await agent.run("q")
    assert gate.peak == 2
    assert result.values == {1: "got a", 2: "got b"}


async def test_a_dependent_task_starts_after_its_input_and_gets_the_typed_value() -> None:
    seen: list[Any] = []

    @tool
    async def numbers() -> list[int]:
        """Some numbers."""
        return [1, 2, 3]

    @tool
    def total(values: list[int]) -> int:
        """Sum (a sync tool, run in a worker thread)."""
        seen.append(values)
        return sum(values)

    model = ScriptedModel([plan("1. numbers()", "2. total(values=$1)"), FINISH])
    result = await Agent(model, [numbers, total]).run("q")
    assert seen == [[1, 2, 3]]  # a list, not its text
    assert result.values[2] == 6
    events = [
        (e.kind, getattr(e, "idx", None) or getattr(e, "observation", None)) for e in result.events
    ]
    finished_1 = next(
        i
        for i, e in enumerate(result.events)
        if isinstance(e, TaskFinished) and e.observation.idx == 1
    )
    started_2 = next(
        i for i, e in enumerate(result.events) if isinstance(e, TaskStarted) and e.idx == 2
    )
    assert finished_1 < started_2, events


async def test_tasks_start_while_the_planner_is_still_streaming() -> None:
    text = plan('1. search("first")', *[f'{i}. search("item number {i}")' for i in range(2, 9)])
    model = ScriptedModel([text, FINISH], tokens_per_second=200)
    result = await Agent(model, [make_search()]).run("q")
    started_1 = next(
        i for i, e in enumerate(result.events) if isinstance(e, TaskStarted) and e.idx == 1
    )
    plan_done = next(
        i
        for i, e in enumerate(result.events)
        if isinstance(e, ModelCallFinished) and e.purpose == "plan"
    )
    assert started_1 < plan_done
    assert len(result.observations) == 8


async def test_refs_in_lists_dicts_and_strings_resolve() -> None:
    received: list[Any] = []

    @tool
    async def record(items: list[Any], info: dict[str, Any], text: str) -> str:
        """Record arguments."""
        received.append((items, info, text))
        return "ok"

    search = make_search({"a": {"h": 330}, "b": 93})
    text = plan(
        '1. search("a")',
        '2. search("b")',
        '3. record(items=[$1, [$2]], info={"x": ${2}, "h": $1.h}, text="b is $2, ${2}")',
    )
    await Agent(ScriptedModel([text, FINISH]), [search, record]).run("q")
    assert received == [([{"h": 330}, [93]], {"x": 93, "h": 330}, "b is 93, 93")]


async def test_failures_timeouts_and_skipped_dependents_become_observations() -> None:
    @tool
    async def broken(x: int) -> int:
        """Always fails."""
        raise ZeroDivisionError("division by zero in broken")

    @tool(timeout=0.05)
    async def slow(x: int) -> int:
        """Never finishes in time."""
        await anyio.sleep_forever()
        return x

    @tool
    async def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    text = plan("1. broken(1)", "2. slow(2)", "3. double($1)", "4. double(x=$3)", "5. double(5)")
    model = ScriptedModel([text, FINISH])
    with anyio.fail_after(5):
        result = await Agent(model, [broken, slow, double]).run("q")
    obs = {o.idx: o for o in result.observations}
    assert obs[1].error_type == "ZeroDivisionError" and "division by zero" in str(obs[1].error)
    assert obs[2].error_type == "ToolTimeoutError"
    assert obs[3].error_type == "DependencyFailedError" and "$1" in str(obs[3].error)
    assert obs[4].error_type == "DependencyFailedError" and "$3" in str(obs[4].error)
    assert obs[3].started_at is None  # never run
    assert obs[5].ok and obs[5].value == 10
    joiner_prompt = model.prompts[1]
    for needle in ("ZeroDivisionError", "ToolTimeoutError", "not run: its input $1"):
        assert needle in joiner_prompt
    # An answer that names no failure gets what failed added (the tasks that failed of
    # themselves; those not run are named through their inputs).
    assert result.answer == (
        "done (incomplete: task 1 broken failed (division by zero in broken); "
        "task 2 slow failed (slow did not finish within 0.05 s))"
    )


async def test_retries_rerun_a_failing_tool_until_it_succeeds() -> None:
    calls: list[int] = []

    @tool(retries=2, retry_delay=0)
    async def flaky(x: int) -> int:
        """Fails twice."""
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return x

    result = await Agent(ScriptedModel([plan("1. flaky(7)"), FINISH]), [flaky]).run("q")
    assert result.observation(1).value == 7
    assert result.observation(1).attempts == 3
    starts = [e.attempt for e in result.events if isinstance(e, TaskStarted)]
    assert starts == [0, 1, 2]


async def test_arguments_are_validated_before_the_tool_runs() -> None:
    called = False

    @tool
    async def number() -> str:
        """Returns text, not a number."""
        return "not a number"

    @tool
    async def square(x: int) -> int:
        """Square."""
        nonlocal called
        called = True
        return x * x

    result = await Agent(
        ScriptedModel([plan("1. number()", "2. square($1)"), FINISH]),
        [number, square],
        settings={"max_replans": 0},  # else the plan is sent back to fix the arguments
    ).run("q")
    assert not called
    assert "bad arguments for square" in str(result.observation(2).error)


async def test_the_joiner_can_replan_and_the_new_plan_continues_numbering() -> None:
    search = make_search({"a": "no data", "b": "42"})

    def second_plan(request: Any) -> str:
        return plan('3. search("b")', '4. search(query="after $1 and $3")')

    model = ScriptedModel(
        [
            plan('1. search("a")', '2. search("a again")'),
            "Thought: missing.\nAction: Replan(a gave no data; try b)",
            second_plan,
            "Action: Finish(42)",
        ]
    )
    result = await Agent(model, [search], settings=Settings(max_replans=1)).run("q")
    assert result.answer == "42"
    assert len(result.plans) == 2 and result.replans == 1
    assert [o.idx for o in result.observations] == [1, 2, 3, 4]
    assert result.values[4] == "result for after no data and 42"
    replan_prompt = model.requests[2].messages
    assert "a gave no data; try b" in replan_prompt[-1].content
    assert "from 3" in replan_prompt[-1].content
    # The replanner sees the earlier observations: they are in the conversation it extends.
    assert any("no data" in m.content for m in replan_prompt)
    kinds = [e.kind for e in result.events if isinstance(e, (JoinDecided, Replanned, Answered))]
    assert kinds == ["join_decided", "replanned", "join_decided", "answered"]


async def test_max_replans_is_honoured() -> None:
    replan = "Action: Replan(still missing)"
    model = ScriptedModel([plan('1. search("a")'), replan, plan('2. search("b")'), replan])
    with pytest.raises(ReplanLimitError) as info:
        await Agent(model, [make_search()], settings=Settings(max_replans=1)).run("q")
    assert len(model.requests) == 4  # plan, join, plan, join — no third plan
    assert "This is the last step" in model.requests[3].messages[-1].content
    partial = info.value.result
    assert len(partial.plans) == 2  # type: ignore[attr-defined]


async def test_a_broken_plan_goes_to_the_joiner_as_a_reason_not_a_crash() -> None:
    model = ScriptedModel(
        [
            '1. search("a")\n2. teleport(to="mars")\n3. search("b")\njoin()',
            "Action: Replan(use only search)",
            plan('2. search("c")'),
            "Action: Finish(ok)",
        ]
    )
    result = await Agent(model, [make_search()]).run("q")
    assert result.answer == "ok"
    assert "line 2: unknown tool 'teleport'" in model.requests[1].messages[-1].content
    assert [t.idx for t in result.plans[0]] == [1]  # tasks before the error still ran
    assert result.values[1] == "result for a"


async def test_cancelling_a_run_leaves_no_tool_running(gate: Gate, anyio_backend: str) -> None:
    @tool
    async def hang(name: str) -> str:
        """Never returns."""
        gate.enter(name)
        try:
            await anyio.sleep_forever()
        finally:
            gate.leave()
        return name

    model = ScriptedModel([plan('1. hang("a")', '2. hang("b")', "3. hang(name=$1)"), FINISH])
    agent = Agent(model, [hang])
    before = live_tasks(anyio_backend)
    async with agent.stream("q") as run:
        async for event in run:
            if isinstance(event, TaskStarted) and len(gate.started) == 2:
                break  # leaving the block cancels the run
    assert gate.started == ["a", "b"]
    assert gate.running == 0
    assert live_tasks(anyio_backend) <= before


async def test_a_cancel_scope_around_run_cancels_every_tool(gate: Gate) -> None:
    @tool
    async def hang(name: str) -> str:
        """Never returns."""
        gate.enter(name)
        try:
            await anyio.sleep_forever()
        finally:
            gate.leave()
        return name

    model = ScriptedModel([plan('1. hang("a")', '2. hang("b")'), FINISH])
    with anyio.move_on_after(0.2):
        await Agent(model, [hang]).run("q")
    assert gate.peak == 2 and gate.running == 0


async def test_stream_yields_typed_events_and_keeps_the_result() -> None:
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    kinds = []
    async with Agent(model, [make_search()]).stream("q") as run:
        async for event in run:
            kinds.append(event.kind)
    assert kinds[0] == "model_call_started" and kinds[-2:] == ["join_decided", "answered"]
    assert kinds.index("task_parsed") < kinds.index("task_started") < kinds.index("task_finished")
    assert kinds.count("model_call_finished") == 2 and kinds.count("plan_finished") == 1
    assert run.result.answer == "done"
    assert run.result.usage.output_tokens > 0 and run.result.usage.input_tokens > 0


async def test_a_stream_read_outside_its_block_says_how_to_read_it() -> None:
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    with pytest.raises(RuntimeError, match=r"async with agent\.stream\(request\) as events"):
        async for _ in Agent(model, [make_search()]).stream("q"):
            pass
    assert model.requests == []  # nothing was started


async def test_global_and_per_tool_limits_are_never_exceeded(gate: Gate) -> None:
    @tool(max_concurrency=2)
    async def limited(i: int) -> int:
        """Limited to two at a time."""
        gate.enter(str(i))
        try:
            await anyio.sleep(0.01)
            return i
        finally:
            gate.leave()

    text = plan(*[f"{i}. limited({i})" for i in range(1, 9)])
    result = await Agent(ScriptedModel([text, FINISH]), [limited]).run("q")
    assert gate.peak == 2 and len(result.values) == 8

    gate2 = Gate()

    @tool
    async def free(i: int) -> int:
        """Unlimited tool under a global limit."""
        gate2.enter(str(i))
        try:
            await anyio.sleep(0.01)
            return i
        finally:
            gate2.leave()

    text = plan(*[f"{i}. free({i})" for i in range(1, 9)])
    await Agent(ScriptedModel([text, FINISH]), [free], settings=Settings(max_concurrency=3)).run(
        "q"
    )
    assert gate2.peak == 3


def test_run_sync_wraps_run() -> None:
    model = ScriptedModel([plan('1. search("a")'), "Action: Finish(sync ok)"])
    result = Agent(model, [make_search()]).run_sync("q")
    assert result.answer == "sync ok"
    assert math.isfinite(result.duration)


async def test_task_parsed_events_come_in_plan_order() -> None:
    text = plan(*[f'{i}. search("q{i}")' for i in range(1, 6)])
    result = await Agent(ScriptedModel([text, FINISH]), [make_search()]).run("q")
    parsed = [e.task.idx for e in result.events if isinstance(e, TaskParsed)]
    assert parsed == [1, 2, 3, 4, 5]
    assert not any(isinstance(e, TaskFailed) for e in result.events)


async def test_every_call_extends_the_previous_prompt_so_prefix_caches_hit() -> None:
    model = ScriptedModel(
        [
            plan('1. search("a")'),
            "Action: Replan(more)",
            plan('2. search("b")'),
            FINISH,
        ]
    )
    await Agent(model, [make_search()]).run("q")
    for before, after in zip(model.requests, model.requests[1:]):
        assert after.messages[: len(before.messages)] == before.messages


async def test_the_separate_layout_gives_the_joiner_its_own_prompt() -> None:
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    await Agent(model, [make_search()], settings=Settings(prompt_layout="separate")).run(
        "the question"
    )
    join = model.requests[1].messages
    assert [m.role for m in join] == ["system", "user"]
    assert "joiner" in join[0].content
    assert "the question" in join[1].content and "result for a" in join[1].content


async def test_an_empty_plan_is_planned_again_not_answered_from_memory() -> None:
    model = ScriptedModel(["Thought: I know this.\njoin()", plan('1. search("a")'), FINISH])
    result = await Agent(model, [make_search()], settings=Settings(max_replans=2)).run("q")
    assert result.answer == "done" and result.values == {1: "result for a"}
    assert [r.purpose for r in model.requests] == ["plan", "plan", "join"]
    assert "called no tool" in model.requests[1].messages[-1].content
    assert sum(isinstance(e, Replanned) for e in result.events) == 1


async def test_an_empty_plan_with_no_replans_left_goes_to_the_joiner() -> None:
    model = ScriptedModel(["join()", FINISH])
    result = await Agent(model, [make_search()], settings=Settings(max_replans=0)).run("q")
    assert result.answer == "done" and [r.purpose for r in model.requests] == ["plan", "join"]


async def test_a_replan_that_only_repeats_earlier_calls_must_answer() -> None:
    replan = "Action: Replan(try again)"
    model = ScriptedModel([plan('1. search("a")'), replan, plan('2. search("a")'), FINISH])
    result = await Agent(model, [make_search()], settings=Settings(max_replans=5)).run("q")
    assert result.answer == "done"
    assert "This is the last step" in model.requests[3].messages[-1].content


async def test_a_plan_that_repeats_an_action_a_third_time_ends_there() -> None:
    @tool(side_effects=True)
    def ring(bell: str) -> str:
        """Ring a bell once."""
        return f"rang {bell}"

    looping = '1. ring("a")\n2. ring("b")\n3. ring("a")\n4. ring("a")\n5. ring("d")\n'
    model = ScriptedModel([looping, FINISH])
    result = await Agent(model, [ring], settings=Settings(constrained=True)).run("q")
    assert [t.idx for t in result.plans[0]] == [1, 2, 3, 4]
    assert result.plans[0].joined
    assert sorted(result.values) == [1, 2, 3, 4]


async def test_a_lookup_made_again_ends_a_constrained_plan_and_actions_may_repeat() -> None:
    twice = plan('1. search("a")', '2. search("b")', '3. search("a")', '4. search("c")')
    result = await Agent(
        ScriptedModel([twice, FINISH]), [make_search()], settings=Settings(constrained=True)
    ).run("q")
    assert [t.idx for t in result.plans[0]] == [1, 2, 3]  # the repeat tells nothing new
    assert result.plans[0].joined

    @tool(side_effects=True)
    def ring(bell: str) -> str:
        """Ring a bell once."""
        return f"rang {bell}"

    rings = plan('1. ring("a")', '2. ring("a")', '3. ring("b")')
    result = await Agent(
        ScriptedModel([rings, FINISH]), [ring], settings=Settings(constrained=True)
    ).run("q")
    assert sorted(result.values) == [1, 2, 3]
    dice = plan(*(f'{i}. search("roll")' for i in range(1, 6)))
    result = await Agent(ScriptedModel([dice, FINISH]), [make_search()]).run("q")
    assert sorted(result.values) == [1, 2, 3, 4, 5]


async def test_a_constrained_plan_spinning_out_one_query_ends() -> None:
    queries = ["dogs", "dogs and cats", "dogs and cats and owls", "dogs and cats and owls and x"]
    spinning = plan(*(f'{i}. search("{q}")' for i, q in enumerate(queries * 2, 1)))
    result = await Agent(
        ScriptedModel([spinning, FINISH]), [make_search()], settings=Settings(constrained=True)
    ).run("q")
    assert [t.idx for t in result.plans[0]] == [1, 2, 3, 4]
    narrowing = plan('1. search("Jaws")', '2. search("Jaws director")', '3. search("Jaws cast")')
    result = await Agent(
        ScriptedModel([narrowing, FINISH]), [make_search()], settings=Settings(constrained=True)
    ).run("q")
    assert [t.idx for t in result.plans[0]] == [1, 2, 3]


async def test_every_plan_error_is_in_the_result() -> None:
    search = make_search()
    broken = plan('1. search("a")', "2. search(query=123)")
    model = ScriptedModel(
        [broken, "Action: Replan(try again)", plan("3. search(query=$9)"), FINISH]
    )
    result = await Agent(model, [search]).run("q")
    assert result.answer == "done"
    assert [(e.round, e.line) for e in result.plan_errors] == [(0, 2), (1, 1)]
    assert "bad value for 'query'" in result.plan_errors[0].message
    assert "no task 9 in the plan" in result.plan_errors[1].message
    assert [o.idx for o in result.observations] == [1]


async def test_a_clean_run_has_no_plan_errors() -> None:
    model = ScriptedModel([plan('1. search("a")'), FINISH])
    assert (await Agent(model, [make_search()]).run("q")).plan_errors == ()


async def test_a_broken_baseline_turn_is_a_plan_error_too() -> None:
    from parcall import ReActAgent

    model = ScriptedModel(["Thought: x\nAction: search(query=$4)", FINISH])
    result = await ReActAgent(model, [make_search()]).run("q")
    assert [(e.round, e.line) for e in result.plan_errors] == [(0, 2)]
    assert "no task 4" in result.plan_errors[0].message
