"""Figures read from a run's events: dispatch delays, percentiles, machine information."""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any, Literal

from .._core.events import Event, TaskFinished, TaskParsed, TaskStarted

__all__ = ["dispatch_delays", "machine_info", "percentile"]


def dispatch_delays(
    events: Iterable[Event], cause: Literal["parsed", "input"] | None = None
) -> list[float]:
    """For each task's first start: seconds from the moment it could start (its line parsed
    and its last input settled) until the tool was called. `cause` keeps only the tasks
    whose start was last held up by their line being parsed, or by an input settling."""
    parsed: dict[int, tuple[float, tuple[int, ...]]] = {}
    settled: dict[int, float] = {}
    delays: list[float] = []
    for event in events:
        if isinstance(event, TaskParsed):
            parsed[event.task.idx] = (event.time, event.task.deps)
        elif isinstance(event, TaskFinished):
            settled[event.observation.idx] = event.time
        elif isinstance(event, TaskStarted) and event.attempt == 0 and event.idx in parsed:
            at, deps = parsed[event.idx]
            ready = max([at, *(settled.get(d, at) for d in deps)])
            if cause is None or (cause == "parsed") == (ready == at):
                delays.append(event.time - ready)
    return delays


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def machine_info() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in ("parcall", "anyio", "pydantic", "trio", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "load_average": load,
        "versions": versions,
    }
