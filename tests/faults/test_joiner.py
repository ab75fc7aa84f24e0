"""Joiner faults: output that is neither Finish nor Replan, and a joiner that never finishes."""

from __future__ import annotations

import anyio
import pytest

from conftest import make_search, plan
from faults.conftest import FaultCounter, assert_traced
from parcall import (
    Agent,
    JoinDecided,
    JoinerOutputError,
    ParcallError,
    ReplanLimitError,
    RunResult,
    ScriptedModel,
    Settings,
)

pytestmark = [pytest.mark.faults, pytest.mark.anyio]

LIMIT = 10


@pytest.mark.parametrize(
    ("joiner", "answer"),
    [
        ("The tower is 330 m tall.", "The tower is 330 m tall."),
        ("Thought: I think it is 330 m.", "I think it is 330 m."),
        ("Action: Finish(330 m", "330 m"),
        ("finish: 330 m", "330 m"),
        ("🚀 \u202eRTL override\u202c", "🚀 \u202eRTL override\u202c"),
    ],
)
async def test_text_without_a_clear_action_is_taken_as_the_answer(
    joiner: str, answer: str, faults: FaultCounter
) -> None:
    faults.inject("joiner.neither_finish_nor_replan")
    model = ScriptedModel([plan('1. search("a")'), joiner])
    with anyio.fail_after(LIMIT):
        result = await Agent(model, [make_search({"a": "a is 330 m tall"})]).run("q")
    assert result.answer == answer
    assert_traced(result, tasks=1)


@pytest.mark.parametrize("joiner", ["", "   \n\t", "Action:"])
async def test_empty_joiner_output_is_a_typed_error(joiner: str, faults: FaultCounter) -> None:
    faults.inject("joiner.empty")
    model = ScriptedModel([plan('1. search("a")'), joiner])
    with anyio.fail_after(LIMIT), pytest.raises(JoinerOutputError):
        await Agent(model, [make_search()]).run("q")


@pytest.mark.parametrize("max_replans", [0, 1, 5])
async def test_replan_forever_stops_at_max_replans_with_the_partial_result(
    max_replans: int, faults: FaultCounter
) -> None:
    calls = 0

    def planner_or_joiner(request: object) -> str:
        nonlocal calls
        calls += 1
        if calls % 2 == 1:
            n = calls // 2 + 1
            return plan(f'{n}. search("round {n}")')
        faults.inject("joiner.replan_forever")
        return "Thought: not enough.\nAction: Replan(try again)"

    model = ScriptedModel([planner_or_joiner], cycle=True)
    with anyio.fail_after(LIMIT), pytest.raises(ReplanLimitError) as info:
        await Agent(model, [make_search()], settings=Settings(max_replans=max_replans)).run("q")
    assert len(model.requests) == 2 * (max_replans + 1)
    partial = info.value.result
    assert isinstance(partial, RunResult)
    assert len(partial.plans) == max_replans + 1
    assert [o.idx for o in partial.observations] == list(range(1, max_replans + 2))
    decisions = [e.decision for e in partial.events if isinstance(e, JoinDecided)]
    assert decisions == ["replan"] * (max_replans + 1)


async def test_every_error_out_of_a_run_carries_the_trace(faults: FaultCounter) -> None:
    faults.inject("joiner.empty")
    model = ScriptedModel([plan('1. search("a")'), ""])
    with pytest.raises(ParcallError) as info:
        await Agent(model, [make_search()]).run("q")
    partial = getattr(info.value, "result", None)
    assert isinstance(partial, RunResult) and partial.observation(1).ok


async def test_an_error_reaches_a_stream_consumer_unwrapped(faults: FaultCounter) -> None:
    faults.inject("joiner.empty")
    model = ScriptedModel([plan('1. search("a")'), ""])
    with pytest.raises(JoinerOutputError):
        async with Agent(model, [make_search()]).stream("q") as run:
            async for _ in run:
                pass
