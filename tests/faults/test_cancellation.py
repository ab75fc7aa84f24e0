"""Cancelling a whole run at every point of its life leaves nothing behind: no task, no tool
still running, no thread other than the (idle) worker-thread pool."""

from __future__ import annotations

import random
import threading
from typing import Any

import anyio
import pytest

from conftest import live_tasks, plan
from faults.conftest import FaultCounter
from parcall import Agent, Event, ScriptedModel, Settings, Tool, tool

pytestmark = [pytest.mark.faults, pytest.mark.anyio]

POOL_THREADS = ("AnyIO worker thread", "Trio thread")
PLAN_1 = plan(
    '1. fetch("a")',
    '2. fetch("b")',
    "3. crunch(x=$1)",
    "4. hang(x=$2)",
    '5. fetch(name="$3 and $4")',
)
PLAN_2 = plan('6. fetch("c")', "7. crunch(x=$6)")


class Tracker:
    """Counts tool bodies running in the event loop and in worker threads."""

    def __init__(self) -> None:
        self.running = 0
        self.in_threads = 0
        self.threads_idle = threading.Condition()

    def tools(self) -> list[Tool]:
        @tool
        async def fetch(name: str) -> str:
            """Fetch a thing after a short scripted latency."""
            self.running += 1
            try:
                await anyio.sleep(0.002)
                return f"got {name}"
            finally:
                self.running -= 1

        @tool
        def crunch(x: str) -> int:
            """CPU work in a worker thread."""
            with self.threads_idle:
                self.in_threads += 1
            try:
                return sum(range(20_000)) + len(x)
            finally:
                with self.threads_idle:
                    self.in_threads -= 1
                    self.threads_idle.notify_all()

        @tool(timeout=0.01)
        async def hang(x: str) -> str:
            """Never returns; only its timeout (or a cancellation) ends it."""
            self.running += 1
            try:
                await anyio.sleep_forever()
            finally:
                self.running -= 1
            return x

        return [fetch, crunch, hang]


def make_agent(tracker: Tracker) -> Agent:
    model = ScriptedModel(
        [PLAN_1, "Action: Replan(need c)", PLAN_2, "Action: Finish(done)"],
        tokens_per_second=2000,
        time_to_first_token=0.001,
    )
    return Agent(model, tracker.tools(), settings=Settings(max_replans=1, max_concurrency=3))


def new_threads(before: set[threading.Thread]) -> list[str]:
    return [
        t.name
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.name.startswith(POOL_THREADS)
    ]


async def assert_nothing_left(
    tracker: Tracker, backend: str, tasks: set[Any], threads: set[threading.Thread]
) -> None:
    assert tracker.running == 0, "a tool coroutine is still running"
    with tracker.threads_idle:  # a sync tool finishes its (short) work, then its thread idles
        assert tracker.threads_idle.wait_for(lambda: tracker.in_threads == 0, timeout=5)
    assert live_tasks(backend) <= tasks
    assert new_threads(threads) == []


async def test_a_full_run_for_reference(anyio_backend: str) -> None:
    result = await make_agent(Tracker()).run("q")
    assert result.answer.startswith("done") and len(result.observations) == 7


async def test_leaving_the_event_stream_at_every_event_leaves_nothing_behind(
    anyio_backend: str, faults: FaultCounter
) -> None:
    total = len((await make_agent(Tracker()).run("q")).events)
    tasks, threads = live_tasks(anyio_backend), set(threading.enumerate())
    for stop_at in range(total):
        faults.inject("cancel.at_event")
        tracker = Tracker()
        seen: list[Event] = []
        with anyio.fail_after(10):
            async with make_agent(tracker).stream("q") as run:
                async for event in run:
                    seen.append(event)
                    if len(seen) > stop_at:
                        break
        assert len(seen) == stop_at + 1
        await assert_nothing_left(tracker, anyio_backend, tasks, threads)


async def test_a_deadline_at_random_points_leaves_nothing_behind(
    anyio_backend: str, faults: FaultCounter
) -> None:
    reference = await make_agent(Tracker()).run("q")
    rng = random.Random(6)
    tasks, threads = live_tasks(anyio_backend), set(threading.enumerate())
    outcomes = {"cancelled": 0, "answered": 0}
    for _ in range(40):
        faults.inject("cancel.random_deadline")
        tracker = Tracker()
        with anyio.move_on_after(rng.uniform(0, reference.duration * 1.2)) as scope:
            await make_agent(tracker).run("q")
        outcomes["cancelled" if scope.cancelled_caught else "answered"] += 1
        await assert_nothing_left(tracker, anyio_backend, tasks, threads)
    assert outcomes["cancelled"] > 0


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_leaving_the_event_stream_on_trio_never_crashes(
    anyio_backend: str, faults: FaultCounter
) -> None:
    total = len((await make_agent(Tracker()).run("q")).events)
    # Trio runs woken tasks in random order; about 1 exit in 20 hits the bad order, so
    # 5 sweeps (170 exits) make the failure all but certain.
    for _ in range(5):
        for stop_at in range(total):
            faults.inject("cancel.at_event")
            seen = 0
            async with make_agent(Tracker()).stream("q") as run:
                async for _ in run:
                    seen += 1
                    if seen > stop_at:
                        break
