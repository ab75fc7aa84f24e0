"""The gate before tools that act: approve, reject, edit; reads are never held."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from conftest import FINISH, plan
from parcall import (
    ActionRejectedError,
    Agent,
    ApprovalRequest,
    Approve,
    PlanFinished,
    Reject,
    ScriptedModel,
    Tool,
    tool,
)

pytestmark = pytest.mark.anyio


class Outbox:
    """A tool that acts (sends mail) and counts its own calls, plus a read it depends on."""

    def __init__(self, hold: anyio.Event | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.read_done = anyio.Event()

        @tool
        async def lookup(name: str) -> str:
            """Find someone's address."""
            await (hold.wait() if hold else anyio.lowlevel.checkpoint())
            self.read_done.set()
            return f"{name.lower()}@example.com"

        @tool(side_effects=True)
        async def send(to: str, body: str = "hello") -> str:
            """Send a mail."""
            self.sent.append({"to": to, "body": body})
            return f"sent to {to}"

        self.lookup = lookup
        self.send = send

    @property
    def tools(self) -> list[Tool]:
        return [self.lookup, self.send]


class Recorder:
    """An approver that records what it was asked and answers with a fixed decision."""

    def __init__(self, decision: Any) -> None:
        self.decision = decision
        self.requests: list[ApprovalRequest] = []

    async def __call__(self, request: ApprovalRequest) -> Any:
        self.requests.append(request)
        return self.decision


READ_THEN_SEND = plan('1. lookup(name="Bob")', '2. send(to=$1, body="hi")')


async def test_an_approved_acting_task_runs_with_the_read_it_depends_on() -> None:
    box = Outbox()
    approver = Recorder(Approve())
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    result = await Agent(model, box.tools, approve=approver).run("mail Bob")
    assert box.sent == [{"to": "bob@example.com", "body": "hi"}]
    assert result.values[2] == "sent to bob@example.com"
    (request,) = approver.requests
    assert request.request == "mail Bob"
    assert [(c.idx, c.acts, c.asked) for c in request.calls] == [(1, False, False), (2, True, True)]
    assert request.asked[0].args == {"to": "bob@example.com", "body": "hi"}  # the read resolved


async def test_a_rejected_acting_task_never_runs_and_the_joiner_reads_why() -> None:
    box = Outbox()
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    agent = Agent(model, box.tools, approve=Recorder(Reject("no mail on Sundays")))
    result = await agent.run("mail Bob")
    assert box.sent == []  # the tool's own record, not the log
    failed = result.observations[1]
    assert failed.error_type == "ActionRejectedError"
    assert isinstance(failed.exception, ActionRejectedError)
    assert "no mail on Sundays" in model.prompts[-1]  # the join prompt
    assert result.values[1] == "bob@example.com"  # the read still ran


async def test_edits_replace_arguments_before_the_call() -> None:
    box = Outbox()
    approver = Recorder(Approve(edits={2: {"to": "alice@example.com"}}))
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    await Agent(model, box.tools, approve=approver).run("mail Bob")
    assert box.sent == [{"to": "alice@example.com", "body": "hi"}]


async def test_an_edit_that_breaks_the_arguments_fails_the_task_without_calling_it() -> None:
    box = Outbox()
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    agent = Agent(model, box.tools, approve=Recorder(Approve(edits={2: {"to": 42}})))
    result = await agent.run("mail Bob")
    assert box.sent == []
    # The approver's edit broke them, not the plan: no replan is asked to fix them.
    assert (result.observations[1].error or "").startswith("the edit at approval gave bad ")
    assert len(model.requests) == 2


async def test_edits_naming_a_task_not_asked_about_approve_nothing() -> None:
    box = Outbox()
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    agent = Agent(model, box.tools, approve=Recorder(Approve(edits={1: {"name": "x"}})))
    result = await agent.run("mail Bob")
    assert box.sent == []
    assert "not among those asked" in (result.observations[1].error or "")


async def test_a_sync_approver_runs_in_a_worker_thread() -> None:
    box = Outbox()
    asked: list[int] = []

    def approve(request: ApprovalRequest) -> bool:
        asked.extend(c.idx for c in request.asked)
        return True

    model = ScriptedModel([READ_THEN_SEND, FINISH])
    await Agent(model, box.tools, approve=approve).run("mail Bob")
    assert asked == [2]
    assert len(box.sent) == 1


async def test_an_approver_that_raises_approves_nothing() -> None:
    box = Outbox()

    def approve(request: ApprovalRequest) -> bool:
        raise RuntimeError("the approval service is down")

    model = ScriptedModel([READ_THEN_SEND, FINISH])
    result = await Agent(model, box.tools, approve=approve).run("mail Bob")
    assert box.sent == []
    assert "the approval service is down" in (result.observations[1].error or "")


async def test_reads_keep_running_while_the_approver_decides() -> None:
    box = Outbox()

    async def approve(request: ApprovalRequest) -> Approve:
        # Asked first (the acting task comes first in the plan); answers only once the read
        # that the gate must not hold has finished. A gate that held reads would deadlock.
        await box.read_done.wait()
        return Approve()

    model = ScriptedModel([plan('1. send(to="x@example.com")', '2. lookup(name="Ann")'), FINISH])
    with anyio.fail_after(10):
        result = await Agent(model, box.tools, approve=approve).run("q")
    assert result.values == {1: "sent to x@example.com", 2: "ann@example.com"}
    assert len(box.sent) == 1


async def test_one_question_covers_every_acting_task_known_and_may_reject_some() -> None:
    plan_written = anyio.Event()
    box = Outbox(hold=plan_written)  # both sends wait for the read, the read for the plan
    approver = Recorder(Reject("not Carol", tasks=frozenset({3})))
    model = ScriptedModel(
        [
            plan(
                '1. lookup(name="Bob")',
                '2. send(to=$1, body="hi")',
                '3. send(to="carol@example.com", body=$1)',
            ),
            FINISH,
        ]
    )
    async with Agent(model, box.tools, approve=approver).stream("q") as run:
        async for event in run:
            if isinstance(event, PlanFinished):
                plan_written.set()
    result = run.result
    assert box.sent == [{"to": "bob@example.com", "body": "hi"}]
    assert len(approver.requests) == 1
    asked = {c.idx: c for c in approver.requests[0].asked}
    assert set(asked) == {2, 3}
    assert result.observations[2].error_type == "ActionRejectedError"


async def test_an_acting_task_fed_by_a_rejected_one_is_not_run_either() -> None:
    box = Outbox()
    model = ScriptedModel(
        [plan('1. send(to="a@example.com")', '2. send(to="b@example.com", body=$1)'), FINISH]
    )
    agent = Agent(model, box.tools, approve=Recorder(Reject(tasks=frozenset({1}))))
    result = await agent.run("q")
    assert box.sent == []
    assert result.observations[1].error_type == "DependencyFailedError"


async def test_plans_without_acting_tools_never_ask() -> None:
    box = Outbox()
    approver = Recorder(Reject())
    model = ScriptedModel([plan('1. lookup(name="Bob")'), FINISH])
    result = await Agent(model, box.tools, approve=approver).run("q")
    assert approver.requests == []
    assert result.values == {1: "bob@example.com"}


async def test_without_an_approver_acting_tools_run_as_before() -> None:
    box = Outbox()
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    await Agent(model, box.tools).run("q")
    assert len(box.sent) == 1


def test_approve_must_be_callable() -> None:
    with pytest.raises(TypeError, match="approve must be a callable"):
        Agent(ScriptedModel([]), [], approve="yes")  # type: ignore[arg-type]


def test_a_bad_decision_is_a_clear_rejection() -> None:
    box = Outbox()
    model = ScriptedModel([READ_THEN_SEND, FINISH])
    result = Agent(model, box.tools, approve=lambda request: "sure").run_sync("q")
    assert box.sent == []
    assert "expected Approve(...), Reject(...) or a bool" in (result.observations[1].error or "")
