"""Events: every step of a run, as frozen records with a `kind` discriminator.

`Agent.stream()` yields them; traces, the CLI view and benchmarks consume the same events.
Times are seconds since the run started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .observation import Observation
from .plan import Plan, Task
from .usage import Usage

__all__ = [
    "AnswerDelta",
    "Answered",
    "Event",
    "JoinDecided",
    "ModelCallFinished",
    "ModelCallStarted",
    "PassApplied",
    "PlanFinished",
    "PolicyDenied",
    "Purpose",
    "Replanned",
    "TaskFailed",
    "TaskFinished",
    "TaskParsed",
    "TaskStarted",
]

Purpose = Literal["plan", "join", "turn"]
"""What a model call is for: a plan, a join decision, or a baseline agent's turn."""


@dataclass(frozen=True, slots=True)
class ModelCallStarted:
    purpose: Purpose
    round: int
    time: float
    kind: Literal["model_call_started"] = "model_call_started"


@dataclass(frozen=True, slots=True)
class ModelCallFinished:
    """A model call ended; carries its token usage."""

    purpose: Purpose
    round: int
    usage: Usage
    started: float
    time: float
    first_chunk: float | None = None
    """When the first piece of output arrived (the prompt was read by then), if any did."""
    kind: Literal["model_call_finished"] = "model_call_finished"


@dataclass(frozen=True, slots=True)
class TaskParsed:
    task: Task
    round: int
    time: float
    kind: Literal["task_parsed"] = "task_parsed"


@dataclass(frozen=True, slots=True)
class TaskStarted:
    idx: int
    tool: str
    args: dict[str, Any]
    attempt: int
    time: float
    kind: Literal["task_started"] = "task_started"


@dataclass(frozen=True, slots=True)
class TaskFinished:
    observation: Observation
    time: float
    kind: Literal["task_finished"] = "task_finished"


@dataclass(frozen=True, slots=True)
class TaskFailed:
    observation: Observation
    time: float
    kind: Literal["task_failed"] = "task_failed"


@dataclass(frozen=True, slots=True)
class PassApplied:
    """A plan pass changed how a task runs (or how the plan was obtained).

    `pass_name` says which pass (`cse`, `result_cache`, `fusion`, `dead_tasks`,
    `critical_path`, `plan_cache`), `detail` what it did; `related` are the other tasks
    involved (the call whose result was reused, the calls fused with this one).
    """

    pass_name: str
    idx: int | None
    detail: str
    related: tuple[int, ...]
    time: float
    kind: Literal["pass_applied"] = "pass_applied"


@dataclass(frozen=True, slots=True)
class PlanFinished:
    """The planner's stream ended (or the plan broke: `error` says where and why, and
    `error_line` is the broken line of the plan, 1-based, when known)."""

    round: int
    plan: Plan
    error: str | None
    time: float
    error_line: int | None = None
    kind: Literal["plan_finished"] = "plan_finished"


@dataclass(frozen=True, slots=True)
class JoinDecided:
    round: int
    decision: Literal["finish", "replan"]
    text: str
    """The answer (finish) or the reason (replan)."""
    thought: str | None
    time: float
    source: Literal["joiner", "template"] = "joiner"
    """`"template"`: the plan's `finish(...)` answered, with no joiner call."""
    unknown: tuple[str, ...] = ()
    """Numbers the answer stated that no result holds, now marked `(unknown)` in it."""
    kind: Literal["join_decided"] = "join_decided"


@dataclass(frozen=True, slots=True)
class Replanned:
    round: int
    """The round that starts now."""
    reason: str
    time: float
    kind: Literal["replanned"] = "replanned"


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A piece of the answer as the joiner writes it (only what is inside `Finish(...)`).

    The pieces of a run joined are its `answer`. They come before `JoinDecided` and never
    for a replan: an answer that may still be turned down (a typed answer not yet
    validated, `grounded`, `follow_up`) is held back and comes as one piece once accepted.
    """

    text: str
    time: float
    kind: Literal["answer_delta"] = "answer_delta"


@dataclass(frozen=True, slots=True)
class PolicyDenied:
    """The agent's policy did not let task `idx` run (and no approver let it): `reason`
    says why, `sources` are the untrusted results its call was derived from."""

    idx: int
    tool: str
    policy: str
    reason: str
    sources: tuple[str, ...]
    time: float
    asked: bool = False
    """Whether the approver was asked (and rejected the call)."""
    kind: Literal["policy_denied"] = "policy_denied"


@dataclass(frozen=True, slots=True)
class Answered:
    answer: str
    time: float
    kind: Literal["answered"] = "answered"


Event = (
    ModelCallStarted
    | ModelCallFinished
    | TaskParsed
    | TaskStarted
    | TaskFinished
    | TaskFailed
    | PassApplied
    | PlanFinished
    | JoinDecided
    | Replanned
    | AnswerDelta
    | PolicyDenied
    | Answered
)
