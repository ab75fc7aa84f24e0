"""`RunResult`: everything a run produced, kept as typed data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from .events import Event, JoinDecided, ModelCallFinished, PlanFinished
from .history import Turn, dump_turns, turn_of
from .observation import Observation
from .outcome import Status, failures, how_missing, status_of
from .plan import Plan
from .provenance import Provenance
from .timing import TimeBreakdown, time_breakdown
from .usage import Usage

__all__ = ["PlanErrorInfo", "RunResult", "outcome_fields"]


class PageRenderer(Protocol):
    """Draws a run's events as one HTML page (`parcall.observe.render_page`)."""

    def __call__(self, events: Sequence[Event], *, title: str, request: str | None) -> str: ...


_page: PageRenderer | None = None


def draw_pages_with(renderer: PageRenderer) -> None:
    """Set what `RunResult.to_html` draws with. The engine knows no page; the package gives
    it `observe`'s on import, so `_core` imports nothing above it."""
    global _page
    _page = renderer


TEXT: Final[Any] = object()
"""`RunResult.output` when none is given: the answer text."""


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
    """The run's id (in the agent's journal, with `Agent(store=...)`)."""
    output: Any = TEXT
    """The typed answer (`Agent(output_type=...)`); without a type, the `answer` itself."""
    message_history: tuple[Turn, ...] = ()
    """The earlier turns the run was given (`run(q, message_history=...)`)."""
    derived_from: Provenance | None = None
    """What the answer was derived from: the request and the results the joiner read
    (`derived_from.untrusted`: the untrusted ones); None when the run did not answer."""
    kind: Literal["run_result"] = "run_result"

    def __post_init__(self) -> None:
        if self.output is TEXT:
            object.__setattr__(self, "output", self.answer)

    def __repr__(self) -> str:
        return (
            f"RunResult(answer={self.answer!r:.200}, status={self.status!r}, "
            f"plans={len(self.plans)}, "
            f"observations={len(self.observations)}, events={len(self.events)}, "
            f"duration={self.duration:.3f})"
        )

    def new_messages(self) -> list[Turn]:
        """This run as a turn of its conversation: request, answer, each task's call and
        result (compactly, as text)."""
        return [turn_of(self.request, self.answer, self.observations, self.run_id)]

    def all_messages(self) -> list[Turn]:
        """The conversation so far: the turns the run was given, then this run's. Give it to
        the next run as `message_history`."""
        return [*self.message_history, *self.new_messages()]

    def new_messages_json(self) -> str:
        """`new_messages()` as JSON text (`json.loads` it back into `message_history`)."""
        return json.dumps(dump_turns(self.new_messages()), ensure_ascii=False)

    def all_messages_json(self) -> str:
        """`all_messages()` as JSON text (`json.loads` it back into `message_history`)."""
        return json.dumps(dump_turns(self.all_messages()), ensure_ascii=False)

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
        if _page is None:  # pragma: no cover - the package sets it on import
            raise RuntimeError("no page renderer: import parcall first")
        return _page(self.events, title=title, request=self.request)

    @property
    def status(self) -> Status:
        """How the run ended: `"answered"`, `"partial"` (a task failed and nothing made up
        for it, or the answer has a number no result holds marked `(unknown)`), `"refused"`
        (approval refused an action) or `"dry_run"` (actions only shown); see `failed` and
        `unknown`."""
        return status_of(self.failed, unknown=bool(self.unknown))

    @property
    def unknown(self) -> tuple[str, ...]:
        """The numbers the answer stated that no result, argument or the request holds (a
        sum worked out in the model's head, a value from its memory), as the model wrote
        them; the answer shows each as `(unknown)`."""
        for event in reversed(self.events):
            if isinstance(event, JoinDecided) and event.decision == "finish":
                return event.unknown
        return ()

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


def outcome_fields(result: RunResult) -> dict[str, Any]:
    """The status, the tasks the answer rests on and those it lacks, as JSON-able data
    (`parcall run --json`, the `parcall` field of a `serve` response)."""
    return {
        "status": result.status,
        "rests_on": list(result.rests_on),
        "unknown": list(result.unknown),
        "failed": [
            {"idx": o.idx, "tool": o.tool, "how": how_missing(o), "error": o.error}
            for o in result.failed
        ],
    }
