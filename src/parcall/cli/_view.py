"""The CLI's live view of a run: each task's state and duration, then the answer."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .._core.events import (
    AnswerDelta,
    Answered,
    Event,
    JoinDecided,
    ModelCallFinished,
    ModelCallStarted,
    PlanFinished,
    PolicyDenied,
    Replanned,
    TaskFailed,
    TaskFinished,
    TaskParsed,
    TaskStarted,
)
from .._core.observation import truncate

if TYPE_CHECKING:
    from .._agent import Agent
    from .._core.result import RunResult

__all__ = ["RunView", "answered_by", "first_task_started", "load_model", "show_run"]

_STYLE = {
    "queued": "dim",
    "running": "yellow",
    "done": "green",
    "failed": "red",
    "denied": "bold red",
}


@dataclass
class _Row:
    call: str
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    note: str = ""


class RunView:
    """Renders events as they come; a context manager around the rich `Live` display."""

    def __init__(self, console: Console, question: str, model: str, *, live: bool = True):
        self._console = console
        self._question = question
        self._model = model
        self._rows: dict[int, _Row] = {}
        self._status = "planning …"
        self._answer: str | None = None
        self._notes: list[tuple[str, str]] = []  # (text, style)
        self._now = 0.0
        self._live = (
            Live(self._render(), console=console, refresh_per_second=12, transient=False)
            if live
            else None
        )

    @property
    def console(self) -> Console:
        return self._console

    def __enter__(self) -> RunView:
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live:
            self._live.update(self._render())
            self._live.__exit__(exc_type, exc, tb)
            if not self._console.is_terminal:
                # rich ends its last render with a newline on terminals only; what is
                # printed next (an error, say) must start on a line of its own.
                self._console.line()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop redrawing while something else uses the terminal (an approval prompt)."""
        if self._live is None or not self._live.is_started:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def update(self, event: Event) -> None:
        self._now = event.time
        if isinstance(event, TaskParsed):
            self._rows[event.task.idx] = _Row(truncate(event.task.describe().split(". ", 1)[1], 70))
        elif isinstance(event, TaskStarted):
            row = self._rows[event.idx]
            row.state = "running" if event.attempt == 0 else f"retry {event.attempt}"
            row.started = row.started if row.started is not None else event.time
        elif isinstance(event, (TaskFinished, TaskFailed)):
            obs = event.observation
            row = self._rows.setdefault(obs.idx, _Row(obs.tool))
            denied = obs.error_type == "PolicyDeniedError"
            row.state = "done" if obs.ok else ("denied" if denied else "failed")
            row.finished = obs.finished_at
            row.started = obs.started_at
            row.note = truncate(" ".join(obs.show(200).split()), 60)
        elif isinstance(event, ModelCallStarted):
            self._status = "planning …" if event.purpose == "plan" else "joining …"
        elif isinstance(event, ModelCallFinished):
            u = event.usage
            if event.purpose == "plan":
                early = [
                    i
                    for i, r in self._rows.items()
                    if r.started is not None and r.started >= event.started
                ]
                if early:
                    self._note(
                        f"tasks {', '.join(map(str, early))} started while the plan was "
                        "still streaming"
                    )
            self._note(f"{event.purpose}: {event.time - event.started:.2f} s, {u.describe()}")
            self._status = "running tasks …" if event.purpose == "plan" else self._status
        elif isinstance(event, JoinDecided) and event.decision == "replan":
            self._status = f"replanning: {truncate(event.text, 80)}"
        elif isinstance(event, JoinDecided) and event.source == "template":
            self._note("answered from the plan's finish(...) template: no joiner call")
        elif isinstance(event, Replanned):
            self._note(f"replan {event.round}: {truncate(event.reason, 80)}")
        elif isinstance(event, PlanFinished) and event.error is not None:
            self._note(f"plan error (round {event.round}): {truncate(event.error, 200)}", "red")
        elif isinstance(event, AnswerDelta):  # the answer as it is written
            self._answer = (self._answer or "") + event.text
        elif isinstance(event, PolicyDenied):
            row = self._rows.setdefault(event.idx, _Row(event.tool))
            row.state = "denied"
            self._note(
                f"${event.idx} {event.tool} denied by the {event.policy} policy: "
                f"{truncate(event.reason, 200)}",
                "red",
            )
        elif isinstance(event, Answered):
            self._answer = event.answer
            self._status = f"answered in {event.time:.2f} s"
        if self._live:
            self._live.update(self._render())

    def _note(self, text: str, style: str = "dim") -> None:
        self._notes.append((text, style))

    def _render(self) -> RenderableType:
        table = Table(box=None, pad_edge=False, expand=False)
        for column in ("#", "task", "state", "start", "took", "result"):
            table.add_column(column, overflow="fold")
        for idx, row in self._rows.items():
            end = row.finished if row.finished is not None else self._now
            took = f"{end - row.started:.2f} s" if row.started is not None else ""
            start = f"{row.started:.2f} s" if row.started is not None else ""
            style = _STYLE.get(row.state, "yellow")
            table.add_row(str(idx), row.call, Text(row.state, style=style), start, took, row.note)
        parts: list[RenderableType] = [
            Text.assemble(("? ", "bold cyan"), self._question, (f"   [{self._model}]", "dim")),
            table,
            Text(self._status, style="dim"),
        ]
        parts.extend(Text(text, style=style) for text, style in self._notes)
        if self._answer is not None:
            parts.append(
                Panel(self._answer, title="answer", title_align="left", border_style="green")
            )
        return Group(*parts)


async def load_model(backend: Any, console: Console) -> float:
    """Load a backend that loads (llama.cpp) with a spinner; the seconds it took."""
    if not hasattr(backend, "load"):
        return 0.0
    began = time.perf_counter()
    with console.status(f"loading {backend.name} …"):
        await backend.load()
    return time.perf_counter() - began


async def show_run(
    agent: Agent,
    question: str,
    view: RunView,
    writer: Callable[[Event], None] | None = None,
    **journal: Any,
) -> RunResult:
    """Run `question`, showing its events live (and handing each to `writer`); `journal`
    goes to `Agent.stream` (run_id, meta, resume, message_history)."""
    async with agent.stream(question, **journal) as events:
        with view:
            async for event in events:
                view.update(event)
                if writer:
                    writer(event)
    return events.result


def answered_by(result: RunResult) -> str:
    """`"template"` when the plan's `finish(...)` answered, else `"joiner"`."""
    decided = [e for e in result.events if isinstance(e, JoinDecided)]
    return decided[-1].source if decided else "joiner"


def first_task_started(result: RunResult) -> float | None:
    """Seconds from the start of the run (the model is loaded by then) to its first task."""
    return next((e.time for e in result.events if isinstance(e, TaskStarted)), None)
