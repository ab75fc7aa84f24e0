"""Sync tools share worker threads: quick calls reuse a worker, slow ones still overlap."""

from __future__ import annotations

import contextvars
import threading

import anyio
import pytest

from conftest import FINISH, live_tasks, plan
from parcall import Agent, ScriptedModel, tool
from parcall._run.sync_calls import SyncCalls

pytestmark = pytest.mark.anyio

LIMIT = 30.0  # seconds a test may wait on a thread before it fails (never reached)


async def test_many_quick_sync_calls_all_return_their_own_value() -> None:
    @tool
    def double(x: int) -> int:
        """Twice x."""
        return 2 * x

    lines = [f"{i}. double({i})" for i in range(1, 201)]
    agent = Agent(ScriptedModel([plan(*lines), FINISH]), [double])
    result = await agent.run("q")
    assert [o.value for o in result.observations] == [2 * i for i in range(1, 201)]


async def test_slow_sync_calls_still_run_at_the_same_time() -> None:
    everyone = threading.Barrier(4, timeout=LIMIT)  # breaks unless all four run at once

    @tool
    def wait_for_all(x: int) -> int:
        """Returns once four calls are running."""
        everyone.wait()
        return x

    lines = [f"{i}. wait_for_all({i})" for i in range(1, 5)]
    result = await Agent(ScriptedModel([plan(*lines), FINISH]), [wait_for_all]).run("q")
    assert [o.value for o in result.observations] == [1, 2, 3, 4]


async def test_a_sync_tool_sees_the_callers_context_variables() -> None:
    var = contextvars.ContextVar("var", default="unset")

    @tool
    def read() -> str:
        """The variable's value."""
        return var.get()

    var.set("set by the caller")
    result = await Agent(ScriptedModel([plan("1. read()"), FINISH]), [read]).run("q")
    assert result.observations[0].value == "set by the caller"


async def test_a_call_cancelled_while_queued_never_runs(anyio_backend: str) -> None:
    release, holding = threading.Event(), threading.Event()
    ran: list[str] = []

    def hold() -> None:
        ran.append("hold")
        holding.set()
        release.wait(LIMIT)

    def queued() -> None:
        ran.append("queued")

    before = live_tasks(anyio_backend)
    async with anyio.create_task_group() as tg:
        calls = SyncCalls(tg)
        calls._limit = 1  # one worker: the second call waits in the queue
        tg.start_soon(calls.call, hold, {})
        await anyio.to_thread.run_sync(holding.wait, LIMIT)
        with anyio.move_on_after(0.2):
            await calls.call(queued, {})
        release.set()
    assert ran == ["hold"]
    assert live_tasks(anyio_backend) == before


async def test_cancelling_a_running_call_lets_its_worker_go_and_the_queue_goes_on() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    scope = anyio.CancelScope()

    def block() -> None:
        started.set()
        release.wait(LIMIT)
        finished.set()

    async with anyio.create_task_group() as tg:
        calls = SyncCalls(tg)
        calls._limit = 1

        async def first() -> None:
            with scope:
                await calls.call(block, {})

        tg.start_soon(first)
        await anyio.to_thread.run_sync(started.wait, LIMIT)
        scope.cancel()
        # The worker running `block` was let go: a new one takes the next call.
        assert await calls.call(lambda: "next", {}) == "next"
    assert not finished.is_set()  # the group did not wait for the blocked thread
    release.set()
    assert await anyio.to_thread.run_sync(finished.wait, LIMIT)
    assert (calls._workers, calls._idle, calls._queued) == (0, 0, 0)


async def test_an_exception_in_a_sync_call_reaches_the_caller() -> None:
    def fail() -> None:
        raise KeyError("missing")

    async with anyio.create_task_group() as tg:
        calls = SyncCalls(tg)
        with pytest.raises(KeyError, match="missing"):
            await calls.call(fail, {})
    assert (calls._workers, calls._idle, calls._queued) == (0, 0, 0)
