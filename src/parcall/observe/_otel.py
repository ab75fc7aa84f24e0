"""OpenTelemetry spans of a run, built from its events (no engine code knows about them).

`SpanRecorder` is an event consumer: give it each event of `agent.stream(...)` as it comes
(or a finished run's `events`), then `close()` it. The span tree of one run is

    invoke_agent parcall                  run: request, answer, replans, token totals
    ├── plan (round r)                    from the planner call's start to the plan's end
    │   └── chat MODEL                    the planner's model call, with its token usage
    ├── execute_tool TOOL                 one per task, from parsed to settled
    │   └── attempt N                     one per call of the tool (retries are attempts)
    └── join (round r)                    the joiner's decision
        └── chat MODEL

with the GenAI semantic conventions where they exist (`gen_ai.operation.name`,
`gen_ai.request.model`, `gen_ai.usage.*`, `gen_ai.tool.name`, `gen_ai.tool.call.id`) and
`parcall.*` attributes for the rest. Times come from the events, so a trace recorded after
the run looks exactly like one recorded live.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._core.events import (
    Answered,
    Event,
    JoinDecided,
    ModelCallFinished,
    ModelCallStarted,
    PlanFinished,
    Replanned,
    TaskFailed,
    TaskFinished,
    TaskParsed,
    TaskStarted,
)
from .._core.extras import require
from .._core.observation import Observation, format_value

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

__all__ = ["SpanRecorder", "record_spans"]

TRACER_NAME = "parcall"
SYSTEM = "parcall"
VALUE_CHARS = 1000
"""Longest request, answer, argument or result text put on a span."""


def _otel() -> Any:
    return require("opentelemetry.trace", needed_for="OpenTelemetry spans")


class SpanRecorder:
    """Turns one run's events into OpenTelemetry spans.

    ```python
    recorder = SpanRecorder(request=q, model=agent.model.name)
    async with agent.stream(q) as run:
        async for event in run:
            recorder(event)
    recorder.close()
    ```

    `tracer_provider` defaults to the global one. `start_ns` is the run's start in Unix
    nanoseconds (default: now minus the first event's time). `close(error)` ends the spans a
    failed or cancelled run left open, marking the run span as an error.
    """

    def __init__(
        self,
        *,
        request: str = "",
        model: str = "",
        tracer_provider: TracerProvider | None = None,
        start_ns: int | None = None,
        agent_name: str = "parcall",
    ) -> None:
        trace = _otel()
        self._trace = trace
        self._tracer: Tracer = trace.get_tracer(TRACER_NAME, tracer_provider=tracer_provider)
        self._request = request
        self._model = model
        self._agent_name = agent_name
        self._start_ns = start_ns
        self._run: Span | None = None
        self._plans: dict[int, Span] = {}
        self._joins: dict[int, Span] = {}
        self._calls: dict[tuple[str, int], Span] = {}
        self._tasks: dict[int, Span] = {}
        self._attempts: dict[int, Span] = {}
        self._round = 0
        self._input_tokens = 0
        self._output_tokens = 0
        self._closed = False

    def _ns(self, seconds: float) -> int:
        assert self._start_ns is not None
        return self._start_ns + int(seconds * 1e9)

    def _child(self, name: str, parent: Span | None, at: float, attrs: dict[str, Any]) -> Span:
        context = None if parent is None else self._trace.set_span_in_context(parent)
        return self._tracer.start_span(
            name, context=context, start_time=self._ns(at), attributes=attrs
        )

    def _ensure_run(self, at: float) -> Span:
        if self._run is None:
            if self._start_ns is None:
                self._start_ns = time.time_ns() - int(at * 1e9)
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.system": SYSTEM,
                "gen_ai.agent.name": self._agent_name,
                "parcall.request": _text(self._request),
            }
            if self._model:
                attrs["gen_ai.request.model"] = self._model
            self._run = self._tracer.start_span(
                f"invoke_agent {self._agent_name}",
                start_time=self._ns(0.0),
                attributes=attrs,
            )
        return self._run

    def __call__(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("this SpanRecorder is closed; make one per run")
        run = self._ensure_run(event.time)
        if isinstance(event, ModelCallStarted):
            self._model_call_started(run, event)
        elif isinstance(event, ModelCallFinished):
            self._model_call_finished(event)
        elif isinstance(event, TaskParsed):
            task = event.task
            self._tasks[task.idx] = self._child(
                f"execute_tool {task.tool}",
                run,
                event.time,
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": task.tool,
                    "gen_ai.tool.call.id": str(task.idx),
                    "parcall.task.index": task.idx,
                    "parcall.task.deps": list(task.deps),
                    "parcall.round": event.round,
                },
            )
        elif isinstance(event, TaskStarted):
            # A new attempt means the one before failed (it ends here, backoff included).
            self._end_attempt(event.idx, event.time, error="failed; retried")
            parent = self._tasks.get(event.idx)
            self._attempts[event.idx] = self._child(
                f"attempt {event.attempt + 1}",
                parent,
                event.time,
                {
                    "parcall.task.index": event.idx,
                    "parcall.task.attempt": event.attempt + 1,
                    "gen_ai.tool.name": event.tool,
                    "gen_ai.tool.call.id": str(event.idx),
                },
            )
        elif isinstance(event, (TaskFinished, TaskFailed)):
            self._task_settled(event.observation, event.time)
        elif isinstance(event, PlanFinished):
            span = self._plans.pop(event.round, None)
            if span is not None:
                span.set_attribute("parcall.plan.tasks", len(event.plan.tasks))
                span.set_attribute("parcall.plan.joined", event.plan.joined)
                if event.error:
                    span.set_attribute("parcall.plan.error", event.error)
                    self._set_error(span, event.error)
                span.end(end_time=self._ns(event.time))
        elif isinstance(event, JoinDecided):
            span = self._joins.pop(event.round, None)
            if span is not None:
                span.set_attribute("parcall.join.decision", event.decision)
                span.set_attribute("parcall.join.text", _text(event.text))
                span.end(end_time=self._ns(event.time))
        elif isinstance(event, Replanned):
            self._round = event.round
            run.add_event(
                "replanned",
                {"parcall.round": event.round, "parcall.reason": _text(event.reason)},
                timestamp=self._ns(event.time),
            )
        elif isinstance(event, Answered):
            run.set_attribute("parcall.answer", _text(event.answer))
            self._end_run(event.time, error=None)

    def _model_call_started(self, run: Span, event: ModelCallStarted) -> None:
        parent: Span = run
        if event.purpose == "plan":
            parent = self._plans[event.round] = self._child(
                "plan", run, event.time, {"parcall.round": event.round}
            )
        elif event.purpose == "join":
            parent = self._joins[event.round] = self._child(
                "join", run, event.time, {"parcall.round": event.round}
            )
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": SYSTEM,
            "parcall.purpose": event.purpose,
            "parcall.round": event.round,
        }
        if self._model:
            attrs["gen_ai.request.model"] = self._model
        self._calls[(event.purpose, event.round)] = self._child(
            f"chat {self._model}".strip(), parent, event.time, attrs
        )

    def _model_call_finished(self, event: ModelCallFinished) -> None:
        span = self._calls.pop((event.purpose, event.round), None)
        self._input_tokens += event.usage.input_tokens
        self._output_tokens += event.usage.output_tokens
        if span is None:
            return
        span.set_attribute("gen_ai.usage.input_tokens", event.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", event.usage.output_tokens)
        span.set_attribute("parcall.usage.cached_tokens", event.usage.cached_tokens)
        span.end(end_time=self._ns(event.time))

    def _task_settled(self, obs: Observation, at: float) -> None:
        self._end_attempt(obs.idx, at, error=None if obs.ok else obs.error)
        span = self._tasks.pop(obs.idx, None)
        if span is None:
            return
        span.set_attribute("parcall.task.status", obs.status)
        span.set_attribute("parcall.task.attempts", obs.attempts)
        span.set_attribute("parcall.task.arguments", _text(obs.args))
        if obs.ok:
            span.set_attribute("parcall.task.result", _text(obs.value))
        else:
            span.set_attribute("error.type", obs.error_type or "error")
            self._set_error(span, obs.error or "failed")
        span.end(end_time=self._ns(at))

    def _end_attempt(self, idx: int, at: float, error: str | None) -> None:
        span = self._attempts.pop(idx, None)
        if span is None:
            return
        if error is not None:
            self._set_error(span, error)
        span.end(end_time=self._ns(at))

    def _set_error(self, span: Span, message: str) -> None:
        span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, message))

    def _end_run(self, at: float, error: str | None) -> None:
        run = self._run
        if run is None or self._closed:
            return
        end = self._ns(at)
        # Whatever a failed or cancelled run left open ends with it, children first.
        for group in (self._attempts, self._tasks, self._calls, self._plans, self._joins):
            for span in group.values():
                if error is not None:
                    self._set_error(span, error)
                span.end(end_time=end)
            group.clear()
        run.set_attribute("gen_ai.usage.input_tokens", self._input_tokens)
        run.set_attribute("gen_ai.usage.output_tokens", self._output_tokens)
        run.set_attribute("parcall.replans", self._round)
        if error is not None:
            self._set_error(run, error)
        run.end(end_time=end)
        self._closed = True

    def close(self, error: BaseException | str | None = None) -> None:
        """End the run's spans (a no-op after `Answered`); `error` marks the run as failed."""
        if self._closed or (self._run is None and error is None):
            self._closed = True
            return
        self._ensure_run(0.0)  # a run that failed before its first event is still a span
        assert self._start_ns is not None
        now = (time.time_ns() - self._start_ns) / 1e9
        message = None if error is None else (str(error) or type(error).__name__)
        self._end_run(now, error=message or ("the run ended without an answer"))


def record_spans(
    events: Iterable[Event],
    *,
    request: str = "",
    model: str = "",
    tracer_provider: TracerProvider | None = None,
    start_ns: int | None = None,
    error: BaseException | str | None = None,
) -> None:
    """Spans of a finished run (e.g. `result.events`), as `SpanRecorder` makes them live;
    `error` is what a run without an answer failed with."""
    recorder = SpanRecorder(
        request=request, model=model, tracer_provider=tracer_provider, start_ns=start_ns
    )
    for event in events:
        recorder(event)
    recorder.close(error)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = dict(value)
    return format_value(value, VALUE_CHARS)
