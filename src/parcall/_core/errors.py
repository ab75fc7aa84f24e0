"""Every error parcall raises is a `ParcallError`; plan errors name the offending line."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActionRejectedError",
    "CyclicPlanError",
    "DependencyFailedError",
    "DryRunError",
    "DuplicateTaskError",
    "ForwardReferenceError",
    "InvalidArgumentsError",
    "JoinerOutputError",
    "ParcallError",
    "PlanError",
    "PlanSyntaxError",
    "PolicyDeniedError",
    "ReplanLimitError",
    "ScriptExhaustedError",
    "ToolError",
    "ToolTimeoutError",
    "ToolsetError",
    "TurnLimitError",
    "UnknownReferenceError",
    "UnknownToolError",
    "UsageLimitExceeded",
]


class ParcallError(Exception):
    """Base class of every error parcall raises on purpose.

    An error that ends a run carries what the run did so far in `result` (a `RunResult`:
    plans, observations with their values, the event trace), so nothing is lost.
    """

    result: Any = None


class PlanError(ParcallError):
    """A plan the model wrote cannot be run. `line` is 1-based within the plan text."""

    def __init__(self, message: str, *, line: int | None = None, text: str = "") -> None:
        self.reason = message
        self.line = line
        self.text = text
        where = f"line {line}: " if line is not None else ""
        shown = f" (in {text.strip()[:120]!r})" if text.strip() else ""
        super().__init__(f"{where}{message}{shown}")


class PlanSyntaxError(PlanError):
    """A task line that is not a call of the form `N. tool(arg=value, ...)`."""


class UnknownToolError(PlanError):
    """A task calls a tool the agent does not have."""


class InvalidArgumentsError(PlanError):
    """Arguments that do not fit the tool's signature or types."""


class UnknownReferenceError(PlanError):
    """A `$N` reference to a task that no line of the plan defines (`target` is N, `task`
    the index of the task that refers to it)."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        text: str = "",
        task: int | None = None,
        target: int | None = None,
    ) -> None:
        super().__init__(message, line=line, text=text)
        self.task = task
        self.target = target


class ForwardReferenceError(PlanError):
    """A `$N` reference to a task that comes later in the plan."""


class CyclicPlanError(PlanError):
    """A task that depends on its own result."""


class DuplicateTaskError(PlanError):
    """Two tasks with the same index (a replan must continue the numbering)."""


class ToolError(ParcallError):
    """A tool call failed; the original exception is `__cause__`."""


class ToolTimeoutError(ToolError):
    """A tool call did not finish within its timeout."""


class DependencyFailedError(ToolError):
    """A task was not run because a task it depends on failed."""


class JoinerOutputError(ParcallError):
    """The joiner's output was empty, so there is neither an answer nor a reason to replan."""


class ReplanLimitError(ParcallError):
    """The joiner still asked to replan after `max_replans` replans; `result` keeps the run."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class TurnLimitError(ParcallError):
    """A baseline agent's model had not written `Finish(...)` after `max_turns` turns;
    `result` keeps the run."""

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result


class UsageLimitExceeded(ParcallError):
    """A run went past one of its `UsageLimits` (requests or tokens); `result` keeps the run
    so far (its usage in `result.usage`)."""


class ScriptExhaustedError(ParcallError):
    """A `ScriptedModel` was called more times than it has outputs."""


class ActionRejectedError(ToolError):
    """A task of a tool with side effects that `approve` rejected (or could not approve);
    the tool was never called."""


class PolicyDeniedError(ActionRejectedError):
    """A task the agent's policy did not allow (see `Agent(policy=...)`); the tool was
    never called, and the joiner is told why."""


class DryRunError(ActionRejectedError):
    """A task of a tool with side effects that a dry run showed and did not make
    (`Reject(dry_run=True)`, `parcall run --dry-run`)."""


class ToolsetError(ParcallError):
    """A toolset (an MCP server, an OpenAPI service) could not be opened or read."""
