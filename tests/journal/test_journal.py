"""Durable runs: a journaled run resumes without redoing what the journal holds."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from conftest import plan
from parcall import Agent, ParcallError, PlanFinished, ScriptedModel, Settings, tool
from parcall._core.tool import JournalMode
from parcall.store import SQLiteRunStore

pytestmark = pytest.mark.anyio

ANSWER = "Thought: both are known.\nAction: Finish(7 and 8)"


@dataclass(frozen=True)
class Point:
    """A value that is not JSON: journaled as a pickle."""

    x: int
    y: int


class Handle:
    """A value that is neither JSON nor picklable (it holds a lock)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Handle({self.n})"


class World:
    """Tools that count their calls; `slow` waits until the test lets it go."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.slow_started = anyio.Event()
        self.release = anyio.Event()

    def tools(self) -> list[Any]:
        @tool
        async def fast(n: int) -> Point:
            """A quick lookup.

            Args:
                n: which.
            """
            self.calls.append(f"fast {n}")
            return Point(n, n + 1)

        @tool
        async def slow(n: int) -> int:
            """A slow lookup.

            Args:
                n: which.
            """
            self.calls.append(f"slow {n}")
            self.slow_started.set()
            await self.release.wait()
            return n * 2

        @tool(side_effects=True)
        async def send(text: str) -> str:
            """Send a message.

            Args:
                text: what to send.
            """
            self.calls.append(f"send {text}")
            self.slow_started.set()
            await self.release.wait()
            return "sent"

        return [fast, slow, send]


PLAN = plan("1. fast(n=7)", "2. slow(n=4)")


async def crash_when_slow_starts(
    agent: Agent, world: World, run_id: str, *, plan_done: bool = True
) -> None:
    """Run until the slow tool is running (and the plan is written, if `plan_done`), then
    stop the run as a dying process would."""
    planned = anyio.Event()

    async def consume() -> None:
        async with agent.stream("What are 7 and 8?", run_id=run_id) as run:
            async for event in run:
                if isinstance(event, PlanFinished):
                    planned.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await world.slow_started.wait()
        if plan_done:
            await planned.wait()
        tg.cancel_scope.cancel()
    assert planned.is_set() == plan_done


async def test_a_finished_run_resumes_to_the_same_answer_with_no_call(tmp_path: Path) -> None:
    world = World()
    world.release.set()
    store = SQLiteRunStore(tmp_path / "runs.db")
    first = await Agent(ScriptedModel([PLAN, ANSWER]), world.tools(), store=store).run("Q?")
    assert first.run_id is not None and first.answer == "7 and 8"
    calls = list(world.calls)

    again = Agent(ScriptedModel([]), world.tools(), store=store)  # any model call would fail
    resumed = await again.resume(first.run_id)
    assert resumed.answer == first.answer and resumed.run_id == first.run_id
    assert world.calls == calls  # no tool ran again
    assert [o.value for o in resumed.observations] == [Point(7, 8), 8]
    assert not resumed.model_calls
    stored = await store.get(first.run_id)
    assert stored is not None and stored.status == "done" and stored.answer == "7 and 8"


async def test_a_crashed_run_redoes_only_what_the_journal_does_not_hold(tmp_path: Path) -> None:
    world = World()
    store = SQLiteRunStore(tmp_path / "runs.db")
    agent = Agent(ScriptedModel([PLAN]), world.tools(), store=store)
    await crash_when_slow_starts(agent, world, "r1")
    assert world.calls == ["fast 7", "slow 4"]
    stored = await store.get("r1")
    assert stored is not None and stored.status == "running"

    world.release.set()
    # The plan is in the journal: the new model is asked only for the join.
    resumed = await Agent(ScriptedModel([ANSWER]), world.tools(), store=store).resume("r1")
    assert resumed.answer == "7 and 8"
    assert world.calls == ["fast 7", "slow 4", "slow 4"]  # fast finished: not run again
    assert [c.purpose for c in resumed.model_calls] == ["join"]
    assert [t.tool for t in resumed.plans[0].tasks] == ["fast", "slow"]


async def test_a_plan_cut_off_is_asked_again_and_its_finished_tasks_kept(tmp_path: Path) -> None:
    world = World()
    store = SQLiteRunStore(tmp_path / "runs.db")
    # The model is still writing when the crash comes: the journal has no plan yet.
    longer = plan("1. fast(n=7)", "2. slow(n=4)", "3. fast(n=9)")
    writer = Agent(ScriptedModel([longer], tokens_per_second=20), world.tools(), store=store)
    await crash_when_slow_starts(writer, world, "r3", plan_done=False)
    world.release.set()
    model = ScriptedModel([longer, ANSWER])
    resumed = await Agent(model, world.tools(), store=store).resume("r3")
    assert [c.purpose for c in resumed.model_calls] == ["plan", "join"]
    assert world.calls == ["fast 7", "slow 4", "slow 4", "fast 9"]


async def test_a_tool_that_acts_is_reported_not_repeated(tmp_path: Path) -> None:
    world = World()
    store = SQLiteRunStore(tmp_path / "runs.db")
    sending = plan("1. fast(n=1)", '2. send(text="hello")')
    agent = Agent(ScriptedModel([sending]), world.tools(), store=store)
    await crash_when_slow_starts(agent, world, "r2")
    world.release.set()
    model = ScriptedModel(["Thought: unsure.\nAction: Finish(maybe sent)"])
    resumed = await Agent(model, world.tools(), store=store).resume("r2")
    assert world.calls == ["fast 1", "send hello"]  # the message went out once
    failed = resumed.observations[1]
    assert not failed.ok and "not run again, because it acts on the world" in (failed.error or "")
    # The joiner was told, in its prompt.
    assert "not run again" in model.requests[0].messages[-1].content


async def test_replay_stops_where_the_run_differs_and_continues_live(tmp_path: Path) -> None:
    world = World()
    world.release.set()
    store = SQLiteRunStore(tmp_path / "runs.db")
    first = await Agent(ScriptedModel([PLAN, ANSWER]), world.tools(), store=store).run("Q?")
    model = ScriptedModel([plan("1. fast(n=2)"), "Thought: ok.\nAction: Finish(2 et 3)"])
    assert first.run_id is not None
    other: dict[str, Any] = {"store": store, "settings": Settings(max_plan_tokens=500)}
    resumed = await Agent(model, world.tools(), **other).resume(first.run_id)
    # Another setting: the journaled plan no longer answers this run's first call.
    assert resumed.answer == "2 et 3" and len(model.requests) == 2
    again = await Agent(ScriptedModel([]), world.tools(), **other).resume(first.run_id)
    assert again.answer == "2 et 3"  # the journal now holds the new calls


async def test_a_value_that_cannot_be_kept_is_computed_again(tmp_path: Path) -> None:
    made: list[int] = []

    @tool
    async def handle(n: int) -> Any:
        """Open something.

        Args:
            n: which.
        """
        made.append(n)
        return Handle(n)

    store = SQLiteRunStore(tmp_path / "runs.db")
    script = [plan("1. handle(n=3)"), "Thought: ok.\nAction: Finish(three)"]
    first = await Agent(ScriptedModel(script), [handle], store=store).run("Q?")
    assert first.run_id is not None
    await Agent(ScriptedModel([]), [handle], store=store).resume(first.run_id)
    assert made == [3, 3]


async def test_runs_are_listed_with_their_status_and_meta(tmp_path: Path) -> None:
    world = World()
    world.release.set()
    store = SQLiteRunStore(tmp_path / "runs.db")
    agent = Agent(ScriptedModel([PLAN, ANSWER], cycle=True), world.tools(), store=store)
    await agent.run("first?", run_id="a", meta={"user": "ann"})
    with pytest.raises(ParcallError):
        await Agent(ScriptedModel([]), world.tools(), store=store).run("second?", run_id="b")
    runs = {r.id: r for r in await store.runs()}
    assert runs["a"].status == "done" and runs["a"].meta == {"user": "ann"}
    assert runs["b"].status == "failed" and runs["b"].error
    assert [r.id for r in await store.runs(status="failed")] == ["b"]
    with pytest.raises(ValueError, match="already has a run 'a'"):
        await agent.run("again?", run_id="a")


async def test_resume_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="resume needs a journal"):
        await Agent(ScriptedModel([]), []).resume("x")
    agent = Agent(ScriptedModel([]), [], store=tmp_path / "runs.db")  # a path is enough
    with pytest.raises(ValueError, match="the journal has no run 'x'"):
        await agent.resume("x")
    with pytest.raises(TypeError, match="is not a RunStore"):
        Agent(ScriptedModel([]), [], store=42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mode", "reruns"), [("auto", False), ("pickle", False), ("json", True), ("never", True)]
)
async def test_a_tool_decides_how_its_values_are_kept(
    mode: JournalMode, reruns: bool, tmp_path: Path
) -> None:
    made: list[int] = []

    @tool(journal=mode)
    async def point(n: int) -> Point:
        """A value that is not JSON.

        Args:
            n: which.
        """
        made.append(n)
        return Point(n, n)

    store = SQLiteRunStore(tmp_path / "runs.db")
    script = [plan("1. point(n=5)"), "Thought: ok.\nAction: Finish(five)"]
    first = await Agent(ScriptedModel(script), [point], store=store).run("Q?")
    assert first.run_id is not None
    await Agent(ScriptedModel([]), [point], store=store).resume(first.run_id)
    assert made == ([5, 5] if reruns else [5])


def test_a_journal_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="journal must be 'auto', 'json', 'pickle' or 'never'"):
        tool(name="one", journal="yaml")(lambda: 1)  # type: ignore[call-overload]


async def test_a_stream_asked_to_resume_without_a_journal_says_so() -> None:
    with pytest.raises(ValueError, match="resume needs a journal"):
        async with Agent(ScriptedModel([]), []).stream("Q?", run_id="x", resume=True) as run:
            async for _ in run:
                pass
