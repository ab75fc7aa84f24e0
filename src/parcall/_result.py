"""`RunResult`: everything a run produced, kept as typed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._events import Event, ModelCallFinished, PlanFinished
from ._observation import Observation
from ._outcome import Status, failures, status_of
from ._plan import Plan
from ._timing import TimeBreakdown, time_breakdown
from .models._base import Usage

__all__ = ["PlanErrorInfo", "RunResult"]


@dataclass(frozen=True, slots=True)
class PlanErrorInfo:
    """A plan (or a baseline's turn) that broke: the tasks above `line` ran, the rest did
    not, and the joiner was told `message`."""

    round: int
    line: int | None
    """1-based line of the plan text (for JSON plans and tool calls: the task's position)."""
    message: str
    kind: Literal["plan_error"] = "plan_error"


@dataclass(frozen=True, slots=True)
class RunResult:
    """The answer, every plan, every observation (typed values, start/end times), tokens,
    and the full event trace of one run.

    Its repr is a summary: asyncio renders a finished run's result when it tears down its
    loop, which took seconds for a trace of 10,000 tasks.
    """

    request: str
    answer: str
    plans: tuple[Plan, ...]
    observations: tuple[Observation, ...]
    events: tuple[Event, ...]
    duration: float
    run_id: str | None = None
    """The run's id in the agent's journal (`Agent(store=...)`), else None."""
    kind: Literal["run_result"] = "run_result"

    def __repr__(self) -> str:
        return (
            f"RunResult(answer={self.answer!r:.200}, status={self.status!r}, "
            f"plans={len(self.plans)}, "
            f"observations={len(self.observations)}, events={len(self.events)}, "
            f"duration={self.duration:.3f})"
        )

    @property
    def model_calls(self) -> tuple[ModelCallFinished, ...]:
        return tuple(e for e in self.events if isinstance(e, ModelCallFinished))

    @property
    def usage(self) -> Usage:
        total = Usage()
        for call in self.model_calls:
            total = total + call.usage
        return total

    @property
    def plan_errors(self) -> tuple[PlanErrorInfo, ...]:
        """Every plan error of the run, in order (empty when every plan parsed)."""
        return tuple(
            PlanErrorInfo(e.round, e.error_line, e.error)
            for e in self.events
            if isinstance(e, PlanFinished) and e.error is not None
        )

    @property
    def breakdown(self) -> TimeBreakdown:
        """Where the run's time went: prompt reading, generating, tools, the joiner."""
        return time_breakdown(self.events, self.observations, self.duration)

    @property
    def replans(self) -> int:
        return max(0, len(self.plans) - 1)

    def observation(self, idx: int) -> Observation:
        for obs in self.observations:
            if obs.idx == idx:
                return obs
        raise KeyError(f"no task {idx} in this run")

    def to_html(self, *, title: str = "parcall run") -> str:
        """The run as one self-contained HTML page: timeline, plan DAG, tasks, tokens."""
        from .observe._page import render_page  # the page is a feature on top of the engine

        return render_page(self.events, title=title, request=self.request)

    @property
    def status(self) -> Status:
        """How the run ended: `"answered"`, `"partial"` (a task failed and nothing made up
        for it), `"refused"` (approval refused an action) or `"dry_run"` (actions only
        shown); see `failed`."""
        return status_of(self.failed)

    @property
    def failed(self) -> tuple[Observation, ...]:
        """The tasks that left no value (failed, refused, not made) and that no later round
        made good: the results the answer lacks."""
        return failures(self.observations, self.plans)

    @property
    def rests_on(self) -> tuple[int, ...]:
        """The tasks whose results the answer was drawn from: every task that succeeded."""
        return tuple(o.idx for o in self.observations if o.ok)

    @property
    def values(self) -> dict[int, object]:
        """The typed value of every task that succeeded, by index."""
        return {o.idx: o.value for o in self.observations if o.ok}
