"""`RunResult`: everything a run produced, kept as typed data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._events import Event, ModelCallFinished
from ._observation import Observation
from ._plan import Plan
from .models._base import Usage

__all__ = ["RunResult"]


@dataclass(frozen=True, slots=True)
class RunResult:
    """The answer, every plan, every observation (typed values, start/end times), tokens,
    and the full event trace of one run."""

    request: str
    answer: str
    plans: tuple[Plan, ...]
    observations: tuple[Observation, ...]
    events: tuple[Event, ...]
    duration: float
    kind: Literal["run_result"] = "run_result"

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
