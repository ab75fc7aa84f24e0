"""The gate before tools that act: acting tasks wait for `approve`, reads go on meanwhile.

A tool made with `side_effects=True` acts on the world. When the first such task of a plan
is ready to start, the agent calls its `approve` callable once with the plan so far — every
task, which of them act, and their arguments resolved where the inputs have settled — and
the decision covers every acting task known at that moment. An acting task parsed later
is asked about in a later call. Tasks that do not act are never held.

A rejection (or an approver that fails) settles the task as failed with
`ActionRejectedError`, so the joiner reads why; the tool is never called.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import anyio

from .._core.errors import ActionRejectedError, DryRunError, ParcallError
from .._core.observation import format_value, resolve
from .._core.plan import Task, iter_refs
from .._core.provenance import Provenance
from .._core.tool import Tool

__all__ = [
    "ApprovalGate",
    "ApprovalRequest",
    "Approve",
    "Approver",
    "PlannedCall",
    "Reject",
    "validate_approver",
]


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """One task of the plan as the approver sees it.

    `args` are resolved where the task's inputs have settled; where they have not, the
    `Ref`s (`$2`) are still in place. `asked` marks the acting calls this decision is about.
    """

    idx: int
    tool: str
    args: dict[str, Any]
    acts: bool
    asked: bool
    kind: Literal["planned_call"] = "planned_call"
    concern: str | None = None
    """Why the agent's policy would not run this call without approval (None: it would)."""
    provenance: Mapping[str, Provenance] = field(default_factory=dict)
    """Where each argument comes from (under a policy; see `Agent(policy=...)`)."""

    def describe(self) -> str:
        """`2. send(to='bob@example.com', body=$1)`, as plans are shown elsewhere."""
        return Task(self.idx, self.tool, self.args).describe()


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What `approve` is asked: the request and the plan so far."""

    request: str
    calls: tuple[PlannedCall, ...]
    kind: Literal["approval_request"] = "approval_request"

    @property
    def asked(self) -> tuple[PlannedCall, ...]:
        """The acting calls the decision is about."""
        return tuple(c for c in self.calls if c.asked)


@dataclass(frozen=True, slots=True)
class Approve:
    """Run the acting calls asked about; `edits` replaces arguments first:
    `Approve(edits={3: {"to": "alice@example.com"}})`."""

    edits: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    kind: Literal["approve"] = "approve"


@dataclass(frozen=True, slots=True)
class Reject:
    """Do not run them; `reason` is what the joiner is told. `tasks` rejects only those
    (the other calls asked about are approved); None rejects every one. `dry_run=True`
    means the calls were only to be shown: the run's status is then `"dry_run"`, not
    `"refused"`."""

    reason: str = "not approved"
    tasks: frozenset[int] | None = None
    dry_run: bool = False
    kind: Literal["reject"] = "reject"


Decision = Approve | Reject
Approver = Callable[[ApprovalRequest], "Decision | bool | Awaitable[Decision | bool]"]
"""`approve(request)`: sync (run in a worker thread) or async; True/False mean
`Approve()` / `Reject()`."""


class ApprovalGate:
    """One run's gate: asks `approve` for acting tasks and remembers each decision."""

    def __init__(
        self,
        approve: Approver,
        request: str,
        tools: Mapping[str, Tool],
        provenance: Callable[[Task], Mapping[str, Provenance]] | None = None,
    ) -> None:
        self._approve = approve
        self._request = request
        self._tools = tools
        self._provenance = provenance
        self._lock = anyio.Lock()
        # Per task: the argument edits to apply, or the reason it may not run.
        self._decided: dict[int, Mapping[str, Any] | str] = {}
        # Per task: the policy's concern, and those an answer was given with in view.
        self._concerns: dict[int, str] = {}
        self._shown: dict[int, str | None] = {}
        self._shown_only: set[int] = set()  # rejected by a dry run

    async def review(
        self,
        task: Task,
        arguments: dict[str, Any],
        plan: Mapping[int, Task],
        values: Mapping[int, Any],
        concern: str | None = None,
    ) -> dict[str, Any]:
        """The arguments to call `task` with (edited, maybe); raises `ActionRejectedError`.

        `concern` is why the agent's policy would not run the call unasked: it is shown to
        the approver, and an answer given without it in view does not count."""
        async with self._lock:  # one question at a time; a decision may cover later tasks
            if concern is not None:
                self._concerns[task.idx] = concern
                if self._shown.get(task.idx) != concern:
                    self._decided.pop(task.idx, None)
            if task.idx not in self._decided:
                await self._ask(task, arguments, plan, values)
        verdict = self._decided[task.idx]
        if isinstance(verdict, str):
            raise (DryRunError if task.idx in self._shown_only else ActionRejectedError)(verdict)
        return {**arguments, **verdict}

    async def _ask(
        self,
        ready: Task,
        arguments: dict[str, Any],
        plan: Mapping[int, Task],
        values: Mapping[int, Any],
    ) -> None:
        calls = []
        for idx in sorted(plan):
            task = plan[idx]
            acts = self._acts(task.tool)
            concern = self._concerns.get(idx)
            args = arguments if idx == ready.idx else _resolve_known(task.args, values)
            ask = (acts or concern is not None) and idx not in self._decided
            sources = {} if self._provenance is None else dict(self._provenance(task))
            calls.append(
                PlannedCall(
                    idx, task.tool, dict(args), acts, ask, concern=concern, provenance=sources
                )
            )
        request = ApprovalRequest(self._request, tuple(calls))
        asked = [c.idx for c in request.asked]
        self._shown.update((c.idx, c.concern) for c in request.asked)
        try:
            decision = _decision(await self._call(request))
            if isinstance(decision, Approve):
                stray = sorted(set(decision.edits) - set(asked))
                if stray:
                    raise ValueError(f"edits name task(s) {stray}, not among those asked {asked}")
        except Exception as exc:  # an approver that fails approves nothing
            self._decided.update(
                dict.fromkeys(asked, f"approval failed: {type(exc).__name__}: {exc}")
            )
            return
        for idx in asked:
            if isinstance(decision, Reject):
                if decision.tasks is None or idx in decision.tasks:
                    self._decided[idx] = f"rejected: {decision.reason}"
                    if decision.dry_run:
                        self._shown_only.add(idx)
                    continue
                self._decided[idx] = {}
            else:
                self._decided[idx] = dict(decision.edits.get(idx, {}))

    async def _call(self, request: ApprovalRequest) -> Any:
        approve = self._approve
        if inspect.iscoroutinefunction(approve) or inspect.iscoroutinefunction(
            getattr(approve, "__call__", None)  # noqa: B004 - an object with async __call__
        ):
            return await cast(Awaitable[Any], approve(request))
        # Abandoned if the run is cancelled: a person may never answer a prompt.
        result = await anyio.to_thread.run_sync(approve, request, abandon_on_cancel=True)
        return await result if inspect.isawaitable(result) else result

    def _acts(self, name: str) -> bool:
        found = self._tools.get(name)
        return found is not None and found.side_effects


def _decision(value: Any) -> Decision:
    if value is True:
        return Approve()
    if value is False:
        return Reject()
    if isinstance(value, (Approve, Reject)):
        return value
    raise TypeError(f"approve returned {value!r}; expected Approve(...), Reject(...) or a bool")


def _resolve_known(args: dict[str, Any], values: Mapping[int, Any]) -> dict[str, Any]:
    """Arguments with the refs whose tasks have settled replaced; the others kept as refs."""
    out: dict[str, Any] = {}
    for name, value in args.items():
        if all(ref.task in values for ref in iter_refs(value)):
            try:
                out[name] = resolve(value, values, format_value)
                continue
            except ParcallError:
                pass  # a path that does not fit the value: show the reference itself
        out[name] = value
    return out


def validate_approver(approve: object) -> Approver | None:
    if approve is not None and not callable(approve):
        raise TypeError(f"approve must be a callable taking an ApprovalRequest, not {approve!r}")
    return cast("Approver | None", approve)
