"""Tool faults: each one becomes an observation the joiner sees, and the run still answers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import pytest

from conftest import FINISH, plan
from faults.conftest import FaultCounter, assert_traced
from parcall import Agent, ScriptedModel, TaskFailed, TaskStarted, Tool, tool

pytestmark = [pytest.mark.faults, pytest.mark.anyio]

LIMIT = 10  # seconds: a cell that needs longer is hanging


@tool
async def double(x: int) -> int:
    """Double a number."""
    return 2 * x


async def run_plan(tools: list[Tool], *lines: str, **agent: Any) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel([plan(*lines), FINISH])
    with anyio.fail_after(LIMIT):
        result = await Agent(model, tools, **agent).run("q")
    return result, model


async def test_a_raising_tool_fails_its_task_and_skips_its_dependents(
    faults: FaultCounter,
) -> None:
    @tool
    async def broken(x: int) -> int:
        """Always fails."""
        faults.inject("tool.raises")
        raise RuntimeError("disk on fire")

    result, model = await run_plan(
        [broken, double], "1. broken(1)", "2. double($1)", "3. double(3)"
    )
    assert result.answer == "done (incomplete: task 1 broken failed (disk on fire))"
    assert result.observation(1).error_type == "RuntimeError"
    assert result.observation(2).error_type == "DependencyFailedError"
    assert result.observation(3).value == 6
    assert "disk on fire" in model.prompts[1]
    assert_traced(result, tasks=3)


async def test_a_tool_past_its_timeout_becomes_a_timeout_observation(faults: FaultCounter) -> None:
    @tool(timeout=0.05, retries=1, retry_delay=0)
    async def slow(x: int) -> int:
        """Takes too long every time."""
        faults.inject("tool.times_out")
        await anyio.sleep(5)
        return x

    result, model = await run_plan([slow], "1. slow(1)")
    obs = result.observation(1)
    assert obs.error_type == "ToolTimeoutError" and obs.attempts == 2
    assert [e.attempt for e in result.events if isinstance(e, TaskStarted)] == [0, 1]
    assert "ToolTimeoutError" in model.prompts[1]
    assert_traced(result, tasks=1)


async def test_a_tool_that_hangs_forever_is_ended_by_its_timeout(faults: FaultCounter) -> None:
    ended = anyio.Event()

    @tool(timeout=0.05)
    async def hang(x: int) -> int:
        """Never returns."""
        faults.inject("tool.hangs")
        try:
            await anyio.sleep_forever()
        finally:
            ended.set()
        return x

    result, _ = await run_plan([hang, double], "1. hang(1)", "2. double(2)")
    assert ended.is_set()  # the tool's coroutine was unwound, not left suspended
    assert result.observation(1).error_type == "ToolTimeoutError"
    assert result.observation(2).value == 4
    assert_traced(result, tasks=2)


async def test_a_value_of_the_wrong_type_fails_the_dependent_before_it_runs(
    faults: FaultCounter,
) -> None:
    ran = False

    @tool
    async def numbers() -> Any:
        """Claims to give numbers."""
        faults.inject("tool.wrong_type")
        return {"not": "a list"}

    @tool
    async def total(values: list[int]) -> int:
        """Sum."""
        nonlocal ran
        ran = True
        return sum(values)

    result, model = await run_plan(
        [numbers, total], "1. numbers()", "2. total($1)", settings={"max_replans": 0}
    )
    assert not ran
    obs = result.observation(2)
    assert not obs.ok and "bad arguments for total" in str(obs.error)
    assert "bad arguments for total" in model.prompts[1]
    assert_traced(result, tasks=2)


async def test_a_huge_value_is_kept_whole_and_shown_truncated_with_a_marker(
    faults: FaultCounter,
) -> None:
    size = 30_000_000

    @tool
    async def dump() -> str:
        """A 30 MB answer."""
        faults.inject("tool.huge_value")
        return "x" * size

    @tool
    async def length(text: str) -> int:
        """Length of a text."""
        return len(text)

    result, model = await run_plan([dump, length], "1. dump()", "2. length($1)")
    assert len(result.observation(1).value) == size  # the full value is kept
    assert result.observation(2).value == size  # and passed whole to a dependent
    joiner_prompt = model.prompts[1]
    assert "[truncated: " in joiner_prompt
    assert len(joiner_prompt) < 20_000  # the model sees a bounded observation
    assert_traced(result, tasks=2)


async def test_a_sync_tool_blocking_its_thread_is_abandoned_at_its_timeout(
    faults: FaultCounter,
) -> None:
    unblock = threading.Event()
    finished = threading.Event()
    threads: list[threading.Thread] = []

    @tool(timeout=0.05)
    def block(x: int) -> int:
        """Blocks its worker thread until the test lets it go."""
        faults.inject("tool.blocks_thread")
        threads.append(threading.current_thread())
        unblock.wait(LIMIT)
        finished.set()
        return x

    result, _ = await run_plan([block, double], "1. block(1)", "2. double(2)")
    assert result.observation(1).error_type == "ToolTimeoutError"
    assert result.observation(2).value == 4
    assert_traced(result, tasks=2)
    # The run returned while the thread is still blocked: Python cannot stop a thread, so the
    # call is abandoned; the thread finishes on its own once the function returns.
    assert threads[0].is_alive() and not finished.is_set()
    unblock.set()
    assert await anyio.to_thread.run_sync(finished.wait, LIMIT)


async def test_a_tool_cancelled_from_inside_settles_as_done(faults: FaultCounter) -> None:
    @tool
    async def gives_up(x: int) -> int:
        """Cancels its own work (a library's internal timeout): a normal return."""
        faults.inject("tool.cancelled_inside")
        with anyio.move_on_after(0):
            await anyio.sleep(5)
        return x

    result, _ = await run_plan([gives_up], "1. gives_up(1)")
    assert result.observation(1).value == 1
    assert_traced(result, tasks=1)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_asyncio_timeout_inside_a_tool_is_a_tool_failure(faults: FaultCounter) -> None:
    @tool
    async def waits(x: int) -> int:
        """Uses asyncio.wait_for, which raises TimeoutError."""
        faults.inject("tool.cancelled_inside")
        return await asyncio.wait_for(asyncio.sleep(5), 0.01)

    result, _ = await run_plan([waits], "1. waits(1)")
    assert result.observation(1).error_type == "TimeoutError"
    assert_traced(result, tasks=1)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_tool_raising_cancelled_error_fails_only_its_task(faults: FaultCounter) -> None:
    @tool
    async def cancelled(x: int) -> int:
        """Raises CancelledError itself (as a task cancelled by a library would)."""
        faults.inject("tool.raises_cancelled")
        raise asyncio.CancelledError()

    result, _ = await run_plan([cancelled, double], "1. cancelled(1)", "2. double(2)")
    assert not result.observation(1).ok
    assert result.observation(2).value == 4


async def test_a_failing_tool_with_retries_records_every_attempt(faults: FaultCounter) -> None:
    calls = 0

    @tool(retries=3, retry_delay=0)
    async def flaky(x: int) -> int:
        """Fails three times, then works."""
        nonlocal calls
        calls += 1
        if calls <= 3:
            faults.inject("tool.raises")
            raise ConnectionError(f"attempt {calls}")
        return x

    result, _ = await run_plan([flaky], "1. flaky(5)")
    assert result.observation(1).value == 5 and result.observation(1).attempts == 4
    assert not any(isinstance(e, TaskFailed) for e in result.events)
    assert_traced(result, tasks=1)
