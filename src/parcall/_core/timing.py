"""Where a run's time went: model loading, prompt reading, generating, tools, the joiner.

Every moment of a run is counted once: planner calls split at their first output piece
(before it the backend reads the prompt, after it it writes), joiner calls whole, tool time
only where no model call was running (tools that run while the plan streams cost nothing),
and the rest (`other`) is the engine and waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from .events import Event, ModelCallFinished
from .observation import Observation

__all__ = ["TimeBreakdown", "time_breakdown"]


@dataclass(frozen=True, slots=True)
class TimeBreakdown:
    """Seconds of one run by what they were spent on; `total` includes `load`."""

    load: float
    """Loading the model before the run (given by the caller; 0 for a warm model)."""
    prefill: float
    """Planner calls until their first output: reading the prompt (and the first token)."""
    generate: float
    """Planner calls from their first output to their end."""
    tools: float
    """Tools running while no model call was."""
    join: float
    """Joiner calls, whole (0 when the plan's template answered)."""
    other: float
    total: float
    kind: Literal["time_breakdown"] = "time_breakdown"

    def describe(self) -> str:
        parts = ("load", "prefill", "generate", "tools", "join", "other")
        shown = " · ".join(f"{p} {getattr(self, p):.2f} s" for p in parts)
        return f"{shown} · total {self.total:.2f} s"


def time_breakdown(
    events: Iterable[Event],
    observations: Iterable[Observation],
    duration: float,
    *,
    load: float = 0.0,
) -> TimeBreakdown:
    """The breakdown of a run from its events and observations (`RunResult.breakdown`)."""
    prefill = generate = join = 0.0
    model: list[tuple[float, float]] = []
    for e in events:
        if not isinstance(e, ModelCallFinished):
            continue
        model.append((e.started, e.time))
        if e.purpose == "join":
            join += e.time - e.started
            continue
        first = e.time if e.first_chunk is None else e.first_chunk
        prefill += first - e.started
        generate += e.time - first
    tools = _uncovered(
        [(o.started_at, o.finished_at) for o in observations if o.started_at is not None],
        model,
    )
    busy = prefill + generate + join + tools
    return TimeBreakdown(
        load=load,
        prefill=prefill,
        generate=generate,
        tools=tools,
        join=join,
        other=max(0.0, duration - busy),
        total=load + duration,
    )


def _merge(spans: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _uncovered(spans: Sequence[tuple[float, float]], cover: Sequence[tuple[float, float]]) -> float:
    """Length of the union of `spans` minus the union of `cover`."""
    total = 0.0
    holes = _merge(cover)
    for start, end in _merge(spans):
        length = end - start
        for h0, h1 in holes:
            length -= max(0.0, min(end, h1) - max(start, h0))
        total += length
    return total
