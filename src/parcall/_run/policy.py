"""Policies: which calls may run, judged from where their arguments come from.

`Agent(policy=...)` consults the policy before every task runs, with the task's provenance
(see `_provenance`). A policy returns None (the call runs) or the reason it may not run
unasked. With an `approve` callable the approver then decides, the reason and the
provenance in view; without one the call is denied. A denied call is an observation the
joiner reads (`PolicyDeniedError`) and a `PolicyDenied` event, never a crash.

`Sealed` is the plan-then-execute rule: the first plan is written before any untrusted
value exists, so it may act; once the planner has read an untrusted result, a replan may
not add calls that act, and no call that acts may take an argument derived from an
untrusted result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol, runtime_checkable

from .._core.errors import ActionRejectedError, PolicyDeniedError
from .._core.events import Event, PolicyDenied
from .._core.plan import Task
from .._core.provenance import Lineage, Provenance
from .._core.tool import Tool
from .approval import ApprovalGate

__all__ = ["Policy", "PolicyCall", "PolicyGate", "Sealed", "policy_argument"]


@dataclass(frozen=True, slots=True)
class PolicyCall:
    """A call about to run, as a policy sees it."""

    task: Task
    tool: Tool
    arguments: dict[str, Any]
    """The arguments, resolved and validated."""
    provenance: Mapping[str, Provenance]
    """Where each argument comes from."""
    planned_after: Provenance
    """What the planner had read when it wrote this call (nothing, in the first plan)."""
    round: int
    kind: Literal["policy_call"] = "policy_call"

    @property
    def acts(self) -> bool:
        return self.tool.side_effects


@runtime_checkable
class Policy(Protocol):
    """`check(call)`: None lets the call run; a string is why it may not run unasked.
    `name` names the policy in events and in what the joiner is told."""

    @property
    def name(self) -> str: ...

    def check(self, call: PolicyCall) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Sealed:
    """No action chosen or fed by untrusted data: after the planner has read an untrusted
    result, replans may not add calls to tools that act, and a tool that acts may not take
    an argument derived from an untrusted result (unless the approver allows the call)."""

    name: str = "sealed"
    kind: Literal["sealed"] = "sealed"

    def check(self, call: PolicyCall) -> str | None:
        if not call.acts:
            return None
        read = call.planned_after.untrusted
        if read:
            return (
                f"{call.tool.name} acts, and replan {call.round} that calls it was written "
                f"after reading untrusted results ({_list(read)})"
            )
        for name, provenance in call.provenance.items():
            if not provenance.trusted:
                return (
                    f"{call.tool.name} acts, and its argument {name!r} is derived from "
                    f"untrusted results ({_list(provenance.untrusted)})"
                )
        return None


def _list(sources: tuple[Any, ...]) -> str:
    return ", ".join(s.describe() for s in sources)


def policy_argument(policy: object) -> Policy | None:
    """`Agent(policy=...)`: a `Policy`, `"sealed"`, or None."""
    if policy is None or isinstance(policy, Policy):
        return policy
    if policy == "sealed":
        return Sealed()
    raise TypeError(
        f"Agent: policy must be 'sealed', None, or an object with a name and a "
        f"check(call) method, not {policy!r}"
    )


@dataclass
class PolicyGate:
    """One run's check before each task: the policy, then the approver where needed."""

    policy: Policy
    lineage: Lineage
    emit: Callable[[Event], None]
    clock: Callable[[], float]
    approval: ApprovalGate | None = None

    async def review(
        self,
        task: Task,
        tool: Tool,
        arguments: dict[str, Any],
        plan: Mapping[int, Task],
        values: Mapping[int, Any],
    ) -> dict[str, Any]:
        """The arguments to run `task` with; raises `PolicyDeniedError` (or, for an acting
        call the approver rejects, `ActionRejectedError`)."""
        provenance = self.lineage.arguments(task)
        planned_after = self.lineage.planned_after(task)
        call = PolicyCall(
            task, tool, arguments, provenance, planned_after, self.lineage.round_of(task)
        )
        try:
            concern = self.policy.check(call)
        except Exception as exc:  # a policy that fails allows nothing
            self._deny(task, f"the policy failed: {type(exc).__name__}: {exc}", call, asked=False)
        if concern is None:
            if self.approval is not None and tool.side_effects:
                return await self.approval.review(task, arguments, plan, values)
            return arguments
        if self.approval is None:
            self._deny(task, concern, call, asked=False)
        try:
            return await self.approval.review(task, arguments, plan, values, concern=concern)
        except ActionRejectedError as exc:
            self._deny(task, f"{concern}; {exc}", call, asked=True)

    def _deny(self, task: Task, reason: str, call: PolicyCall, *, asked: bool) -> NoReturn:
        sources: set[str] = {s.describe() for s in call.planned_after.untrusted}
        for provenance in call.provenance.values():
            sources.update(s.describe() for s in provenance.untrusted)
        name = self.policy.name
        self.emit(
            PolicyDenied(
                task.idx, task.tool, name, reason, tuple(sorted(sources)), self.clock(), asked
            )
        )
        raise PolicyDeniedError(f"denied by the {name} policy: {reason}")
