"""`RunResult`: everything a run produced, kept as typed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._events import Event, ModelCallFinished, PlanFinished
from ._observation import Observation
from ._plan import Plan
from ._provenance import Provenance
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
    derived_from: Provenance | None = None
    """What the answer was derived from: the request and the results the joiner read
    (`derived_from.untrusted`: the untrusted ones); None when the run did not answer."""
    kind: Literal["run_result"] = "run_result"

    def __repr__(self) -> str:
        return (
            f"RunResult(answer={self.answer!r:.200}, plans={len(self.plans)}, "
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
    def values(self) -> dict[int, object]:
        """The typed value of every task that succeeded, by index."""
        return {o.idx: o.value for o in self.observations if o.ok}
