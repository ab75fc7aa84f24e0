"""The executor on its own: tasks are submitted one by one, as the parser completes them.

Every wait here is on an event (a tool's start, a release), never a sleep: a test whose
tasks did not overlap would deadlock and fail on its `fail_after`.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from conftest import live_tasks
from parcall import ParcallError, Tool, tool
from parcall._core.events import Event, TaskFailed, TaskFinished, TaskStarted
from parcall._core.plan import Ref, Task, Template
from parcall._run.executor import Executor

pytestmark = pytest.mark.anyio

LIMIT = 5.0  # seconds before a wait that should return at once fails the test


class Run:
    """An executor inside its own task group, with the events it emitted."""

    def __init__(self, executor: Executor, events: list[Event], scope: anyio.CancelScope) -> None:
        self.executor = executor
        self.events = events
        self.cancel = scope.cancel  # cancels the run: the group its tasks run in

    def submit(self, idx: int, name: str, deps: tuple[int, ...] = (), **args: Any) -> None:
        self.executor.submit(Task(idx, name, args, deps))

    async def settled(self) -> None:
        with anyio.fail_after(LIMIT):
            await self.executor.wait_settled()

    def started(self) -> list[int]:
        return [e.idx for e in self.events if isinstance(e, TaskStarted)]

    def value(self, idx: int) -> Any:
        observation = self.executor.observations[idx]
        assert observation.ok, observation.error
        return observation.value


@asynccontextmanager
async def running(*tools: Tool, **options: Any) -> AsyncIterator[Run]:
    events: list[Event] = []
    async with anyio.create_task_group() as tg:
        executor = Executor(
            tg, {t.name: t for t in tools}, emit=events.append, clock=anyio.current_time, **options
        )
        yield Run(executor, events, tg.cancel_scope)


async def waited(event: anyio.Event) -> None:
    with anyio.fail_after(LIMIT):
        await event.wait()


class Counter:
    """Counts the calls running at once; each call holds until `release` is set."""

    def __init__(self) -> None:
        self.running = 0
        self.peak = 0
        self.release = anyio.Event()

    async def hold(self) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1


def held(name: str, counter: Counter, **options: Any) -> Tool:
    async def call(i: int) -> int:
        """Held until the counter releases it."""
        await counter.hold()
        return i

    return Tool.from_function(call, name=name, **options)


def echo() -> Tool:
    @tool
    async def echo(value: object) -> object:
        """Its argument, as given."""
        return value

    return echo


async def test_a_task_without_inputs_starts_when_it_is_submitted() -> None:
    began, release = anyio.Event(), anyio.Event()

    @tool
    async def wait() -> str:
        """Waits for the test."""
        began.set()
        await release.wait()
        return "done"

    async with running(wait) as run:
        run.submit(1, "wait")
        await waited(began)  # before anyone waits for the executor to settle
        release.set()
        await run.settled()
    assert run.value(1) == "done"


async def test_a_dependent_task_starts_only_once_its_input_settled() -> None:
    release = anyio.Event()

    @tool
    async def first() -> int:
        """Waits for the test."""
        await release.wait()
        return 41

    @tool
    async def second(x: int) -> int:
        """One more."""
        return x + 1

    async with running(first, second) as run:
        run.submit(1, "first")
        run.submit(2, "second", (1,), x=Ref(1))
        await anyio.wait_all_tasks_blocked()
        assert run.started() == [1]
        release.set()
        await run.settled()
    assert run.started() == [1, 2]
    assert run.value(2) == 42


async def test_a_task_submitted_after_its_input_settled_starts_at_once() -> None:
    async with running(echo()) as run:
        run.submit(1, "echo", value="a")
        await run.settled()
        run.submit(2, "echo", (1,), value=Ref(1))
        await run.settled()
    assert run.value(2) == "a"


async def test_independent_tasks_run_at_the_same_time() -> None:
    ping_started, pong_started = anyio.Event(), anyio.Event()

    @tool
    async def ping() -> str:
        """Returns once pong has started."""
        ping_started.set()
        await pong_started.wait()
        return "ping"

    @tool
    async def pong() -> str:
        """Returns once ping has started."""
        pong_started.set()
        await ping_started.wait()
        return "pong"

    async with running(ping, pong) as run:
        run.submit(1, "ping")
        run.submit(2, "pong")
        await run.settled()  # would time out if one waited for the other to finish
    assert (run.value(1), run.value(2)) == ("ping", "pong")


async def test_wait_settled_returns_at_once_when_nothing_was_submitted() -> None:
    async with running(echo()) as run:
        await run.settled()
    assert run.executor.observations == {} and run.events == []


async def test_a_failing_tool_becomes_a_failed_observation_not_an_exception() -> None:
    @tool
    async def broken() -> str:
        """Always fails."""
        raise ValueError("the disk is full")

    async with running(broken) as run:
        run.submit(1, "broken")
        await run.settled()
    failed = run.executor.observations[1]
    assert (failed.status, failed.error, failed.error_type) == (
        "failed",
        "the disk is full",
        "ValueError",
    )
    assert isinstance(failed.exception, ValueError) and failed.attempts == 1
    assert [type(e) for e in run.events] == [TaskStarted, TaskFailed]


async def test_dependents_of_a_failed_task_fail_down_the_chain_without_running() -> None:
    calls: list[object] = []

    @tool
    async def broken() -> str:
        """Always fails."""
        raise ValueError("no such city")

    @tool
    async def record(value: object) -> object:
        """Records that it ran."""
        calls.append(value)
        return value

    async with running(broken, record) as run:
        run.submit(1, "broken")
        run.submit(2, "record", (1,), value=Ref(1))
        run.submit(3, "record", (2,), value=Ref(2))
        run.submit(4, "record", value="independent")
        await run.settled()
    assert calls == ["independent"]
    second, third = run.executor.observations[2], run.executor.observations[3]
    assert second.error_type == third.error_type == "DependencyFailedError"
    assert second.error == "not run: its input $1 (broken) failed: no such city"
    assert third.error is not None and third.error.startswith("not run: its input $2 (record)")
    assert second.started_at is None and third.started_at is None
    assert sorted(run.started()) == [1, 4]


async def test_a_task_submitted_after_its_input_failed_is_failed_at_once() -> None:
    @tool
    async def broken() -> str:
        """Always fails."""
        raise ValueError("gone")

    async with running(broken, echo()) as run:
        run.submit(1, "broken")
        await run.settled()
        run.submit(2, "echo", (1,), value=Ref(1))
        assert run.executor.observations[2].error_type == "DependencyFailedError"
        await run.settled()
    assert run.started() == [1]


async def test_refs_into_a_result_give_the_typed_values() -> None:
    got: dict[str, Any] = {}

    @tool
    async def lookup() -> dict[str, Any]:
        """A nested result."""
        return {"path": ["a", "b"], "rows": [{"n": 3}, {"n": 4}], "meta": {"ok": True}}

    @tool
    async def take(path: list[str], n: int, meta: dict[str, bool]) -> str:
        """Keeps what it was given."""
        got.update(path=path, n=n, meta=meta)
        return "kept"

    async with running(lookup, take) as run:
        run.submit(1, "lookup")
        rows = Ref(1, ("rows", 1, "n"))
        run.submit(2, "take", (1,), path=Ref(1, ("path",)), n=rows, meta=Ref(1, ("meta",)))
        await run.settled()
    assert got == {"path": ["a", "b"], "n": 4, "meta": {"ok": True}}


async def test_refs_inside_lists_dicts_and_templates_resolve() -> None:
    async with running(echo()) as run:
        run.submit(1, "echo", value={"city": "Paris", "people": 2_100_000})
        await run.settled()
        template = Template(("population of ", Ref(1, ("city",)), ": ", Ref(1, ("people",))))
        run.submit(2, "echo", (1,), value=[Ref(1, ("people",)), {"text": template}])
        await run.settled()
    assert run.value(2) == [2_100_000, {"text": "population of Paris: 2100000"}]


async def test_templates_format_results_with_the_executors_format_arg() -> None:
    async with running(echo(), format_arg=lambda v: f"<{v}>") as run:
        run.submit(1, "echo", value=7)
        await run.settled()
        run.submit(2, "echo", (1,), value=Template(("got ", Ref(1))))
        await run.settled()
    assert run.value(2) == "got <7>"


async def test_a_field_of_a_list_result_takes_the_first_item_and_notes_it() -> None:
    async with running(echo()) as run:
        run.submit(1, "echo", value=[{"id": "x"}, {"id": "y"}])
        await run.settled()
        run.submit(2, "echo", (1,), value=Ref(1, ("id",)))
        await run.settled()
    assert run.value(2) == "x"
    (note,) = run.executor.observations[2].notes
    assert "$1 is a list of 2 items; $1.id used the first item's 'id'" in note


async def test_a_ref_that_cannot_be_resolved_fails_its_task_naming_the_ref() -> None:
    async with running(echo()) as run:
        run.submit(1, "echo", value={"city": "Paris"})
        run.submit(2, "echo", (1,), value=Ref(1, ("country",)))
        await run.settled()
    failed = run.executor.observations[2]
    assert failed.error_type == "InvalidArgumentsError" and failed.started_at is None
    assert failed.error is not None and failed.error.startswith("$1.country cannot be resolved")


async def test_bad_arguments_fail_the_task_before_the_tool_runs() -> None:
    calls: list[int] = []

    @tool
    async def square(x: int) -> int:
        """x squared."""
        calls.append(x)
        return x * x

    async with running(square) as run:
        run.submit(1, "square", x="seven")
        await run.settled()
    failed = run.executor.observations[1]
    assert failed.error is not None and failed.error.startswith("bad arguments for square:")
    assert calls == [] and run.started() == []


@pytest.mark.parametrize(
    ("value", "arg", "hint"),
    [
        ({"id": 1042, "name": "Bob"}, Ref(1), "$1 is a record with keys id, name: write $1.id"),
        ({"user": {"user_id": 7, "x": 1}}, Ref(1, ("user",)), "write $1.user.user_id"),
        ([3, 4], Ref(1), "$1 is a list: write $1[0] for its first item"),
    ],
)
async def test_a_whole_record_where_one_field_was_meant_says_which_path_takes_it(
    value: object, arg: Ref, hint: str
) -> None:
    @tool
    def delete_account(user_id: int) -> str:
        """Delete an account by its id."""
        return f"deleted {user_id}"

    @tool
    def find_user(who: str) -> object:
        """A user's record."""
        return value

    async with running(find_user, delete_account) as run:
        run.submit(1, "find_user", who="Bob")
        run.submit(2, "delete_account", (1,), user_id=arg)
        await run.settled()
    error = run.executor.observations[2].error
    assert error is not None and error.startswith("bad arguments for delete_account: user_id:")
    assert hint in error


async def test_a_literal_that_fails_validation_gets_no_path_hint() -> None:
    @tool
    def square(x: int) -> int:
        """x squared."""
        return x * x

    async with running(square) as run:
        run.submit(1, "square", x={"a": 1})
        await run.settled()
    error = run.executor.observations[1].error
    assert error is not None and "write $" not in error


async def test_a_tools_max_concurrency_bounds_its_calls() -> None:
    counter = Counter()
    limited = held("limited", counter, max_concurrency=2)
    async with running(limited) as run:
        for i in range(1, 6):
            run.submit(i, "limited", i=i)
        await anyio.wait_all_tasks_blocked()
        assert counter.running == 2 and len(run.started()) == 2
        counter.release.set()
        await run.settled()
    assert counter.peak == 2
    assert [run.value(i) for i in range(1, 6)] == [1, 2, 3, 4, 5]


async def test_the_global_limiter_bounds_calls_across_tools() -> None:
    counter = Counter()
    tools = held("a", counter), held("b", counter)
    async with running(*tools, limiter=anyio.CapacityLimiter(3)) as run:
        for i in range(1, 7):
            run.submit(i, "a" if i % 2 else "b", i=i)
        await anyio.wait_all_tasks_blocked()
        assert counter.running == 3
        counter.release.set()
        await run.settled()
    assert counter.peak == 3 and len(run.executor.observations) == 6


async def test_a_task_queued_on_a_busy_tool_holds_no_global_slot() -> None:
    counter = Counter()
    slow = held("slow", counter, max_concurrency=1)
    async with running(slow, echo(), limiter=anyio.CapacityLimiter(2)) as run:
        run.submit(1, "slow", i=1)
        run.submit(2, "slow", i=2)  # waits for the tool, not for one of the two slots
        run.submit(3, "echo", value="through")
        await anyio.wait_all_tasks_blocked()
        assert run.value(3) == "through" and counter.running == 1
        counter.release.set()
        await run.settled()
    assert counter.peak == 1


async def test_a_tool_that_runs_too_long_times_out_as_an_observation() -> None:
    @tool(timeout=0.05)
    async def stuck() -> str:
        """Never returns."""
        await anyio.sleep_forever()
        return "never"

    async with running(stuck) as run:
        run.submit(1, "stuck")
        await run.settled()
    failed = run.executor.observations[1]
    assert failed.error_type == "ToolTimeoutError"
    assert failed.error == "stuck did not finish within 0.05 s"


async def test_retries_rerun_a_failing_tool_and_count_its_attempts() -> None:
    failures = [ConnectionError("reset"), ConnectionError("reset again")]

    @tool(retries=2, retry_delay=0)
    async def flaky() -> str:
        """Fails twice, then answers."""
        if failures:
            raise failures.pop(0)
        return "third time"

    async with running(flaky) as run:
        run.submit(1, "flaky")
        await run.settled()
    assert run.value(1) == "third time"
    assert run.executor.observations[1].attempts == 3
    assert [e.attempt for e in run.events if isinstance(e, TaskStarted)] == [0, 1, 2]


async def test_a_tool_failing_every_attempt_reports_its_last_error() -> None:
    attempts: list[int] = []

    @tool(retries=1, retry_delay=0)
    async def down() -> str:
        """Always fails."""
        attempts.append(len(attempts))
        raise ConnectionError(f"refused ({len(attempts)})")

    async with running(down) as run:
        run.submit(1, "down")
        await run.settled()
    failed = run.executor.observations[1]
    assert (failed.error, failed.attempts) == ("refused (2)", 2)
    assert attempts == [0, 1]


async def test_the_gate_reviews_only_tools_with_side_effects_and_may_edit_them() -> None:
    reviewed: list[str] = []

    class Halve:
        async def review(
            self,
            task: Task,
            arguments: dict[str, Any],
            plan: Mapping[int, Task],
            values: Mapping[int, Any],
        ) -> dict[str, Any]:
            reviewed.append(task.tool)
            return {"amount": arguments["amount"] // 2}

    @tool(side_effects=True)
    async def pay(amount: int) -> int:
        """Pays."""
        return amount

    async with running(pay, echo(), gate=Halve()) as run:
        run.submit(1, "pay", amount=10)
        run.submit(2, "echo", value=10)
        await run.settled()
    assert reviewed == ["pay"]
    assert (run.value(1), run.value(2)) == (5, 10)


async def test_a_policy_that_refuses_fails_the_task_before_it_runs() -> None:
    class Refuse:
        async def review(
            self,
            task: Task,
            tool: Tool,
            arguments: dict[str, Any],
            plan: Mapping[int, Task],
            values: Mapping[int, Any],
        ) -> dict[str, Any]:
            if arguments["value"] == "secret":
                raise ParcallError(f"task {task.idx} may not send the secret")
            return arguments

    async with running(echo(), policy=Refuse()) as run:
        run.submit(1, "echo", value="secret")
        run.submit(2, "echo", value="public")
        await run.settled()
    assert run.executor.observations[1].error == "task 1 may not send the secret"
    assert run.value(2) == "public" and run.started() == [2]


async def test_a_sync_tool_runs_in_a_worker_thread_and_an_inline_one_does_not() -> None:
    loop_thread = threading.get_ident()

    def where() -> int:
        """The thread it ran on."""
        return threading.get_ident()

    threaded = Tool.from_function(where, name="threaded")
    inline = Tool.from_function(where, name="inline", inline=True)
    async with running(threaded, inline) as run:
        run.submit(1, "threaded")
        run.submit(2, "inline")
        await run.settled()
    assert run.value(1) != loop_thread
    assert run.value(2) == loop_thread


async def test_slow_sync_tools_overlap_on_their_threads() -> None:
    together = threading.Barrier(3, timeout=LIMIT)  # broken unless three calls run at once

    def meet(i: int) -> int:
        """Returns once three calls are running."""
        together.wait()
        return i

    async with running(Tool.from_function(meet)) as run:
        for i in range(1, 4):
            run.submit(i, "meet", i=i)
        await run.settled()
    assert [run.value(i) for i in range(1, 4)] == [1, 2, 3]


async def test_cancelling_the_run_cancels_its_tools_and_leaves_nothing_running(
    anyio_backend: str,
) -> None:
    counter = Counter()
    thread_started, unblock, returned = threading.Event(), threading.Event(), threading.Event()
    cancelled: list[int] = []

    async def hang(i: int) -> int:
        """Never returns unless released."""
        try:
            await counter.hold()
        except anyio.get_cancelled_exc_class():
            cancelled.append(i)
            raise
        return i

    def block() -> str:
        """Blocks its thread until the test lets it go."""
        thread_started.set()
        try:
            unblock.wait(LIMIT)
            return "late"
        finally:
            returned.set()

    tools = Tool.from_function(hang), Tool.from_function(block)
    before = live_tasks(anyio_backend)
    with anyio.fail_after(LIMIT):
        async with running(*tools) as run:
            run.submit(1, "hang", i=1)
            run.submit(2, "hang", i=2)
            run.submit(3, "hang", (1,), i=Ref(1))
            run.submit(4, "block")
            await anyio.to_thread.run_sync(thread_started.wait, LIMIT)
            await anyio.wait_all_tasks_blocked()
            run.cancel()
    assert sorted(cancelled) == [1, 2] and counter.running == 0
    assert run.executor.observations == {}  # cancelled, not failed: nothing settled
    assert live_tasks(anyio_backend) <= before
    assert not returned.is_set()  # abandoned: the run did not wait for the thread
    unblock.set()
    assert returned.wait(LIMIT)  # and the call then ends in its thread


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio's Cancelled has no constructor
async def test_a_tool_raising_a_cancellation_of_its_own_is_a_failure() -> None:
    import asyncio

    @tool
    async def gives_up() -> str:
        """Awaits a future it cancelled itself."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        future.cancel()
        return await future

    async with running(gives_up) as run:
        run.submit(1, "gives_up")
        await run.settled()
    failed = run.executor.observations[1]
    assert failed.error == "gives_up raised a cancellation of its own"
    assert failed.error_type == "ToolError"


async def test_each_task_emits_started_then_finished_with_its_observation() -> None:
    async with running(echo()) as run:
        run.submit(1, "echo", value="a")
        await run.settled()
    started, finished = run.events
    assert isinstance(started, TaskStarted) and isinstance(finished, TaskFinished)
    assert (started.idx, started.tool, started.args, started.attempt) == (
        1,
        "echo",
        {"value": "a"},
        0,
    )
    assert finished.observation is run.executor.observations[1]
    assert finished.observation.started_at is not None
    assert finished.observation.started_at <= finished.observation.finished_at
