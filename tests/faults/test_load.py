"""Load: 1,000 concurrent runs in one process, tools failing at random (10 %, seeded), under a
global and per-tool limits. Every run returns, no limit is exceeded, nothing leaks."""

from __future__ import annotations

import gc
import json
import pathlib
import random
import threading
import time
import tracemalloc
import weakref
from collections import Counter
from typing import Any

import anyio
import pytest

from conftest import live_tasks
from faults.conftest import FaultCounter
from parcall import Agent, ModelRequest, Observation, RunResult, ScriptedModel, Settings, Tool, tool

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.anyio]

RUNS = 1_000
GLOBAL_LIMIT = 64
TOOL_LIMITS = {"fetch": 16, "crunch": 4, "lookup": None}
FAILURE_RATE = 0.10
PLAN = (
    '1. fetch("a")\n2. lookup("b")\n3. crunch(x=$1)\n4. fetch(name="$2")\n'
    "5. lookup(key=$4)\n6. crunch(x=$3)\njoin()\n"
)


class Peaks:
    def __init__(self) -> None:
        self.running: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.lock = threading.Lock()  # crunch runs in worker threads

    def enter(self, name: str) -> None:
        with self.lock:
            for key in (name, "global"):
                self.running[key] += 1
                self.peak[key] = max(self.peak[key], self.running[key])

    def leave(self, name: str) -> None:
        with self.lock:
            self.running[name] -= 1
            self.running["global"] -= 1


def make_tools(peaks: Peaks, rng: random.Random, faults: FaultCounter) -> list[Tool]:
    def maybe_fail(name: str) -> None:
        if rng.random() < FAILURE_RATE:
            faults.inject("load.tool_failures")
            raise RuntimeError(f"{name}: injected failure")

    @tool(max_concurrency=TOOL_LIMITS["fetch"])
    async def fetch(name: str) -> str:
        """Fetch (async, with a scripted latency)."""
        peaks.enter("fetch")
        try:
            await anyio.sleep(0.001)
            maybe_fail("fetch")
            return Page(f"page {name}")
        finally:
            peaks.leave("fetch")

    @tool(max_concurrency=TOOL_LIMITS["crunch"])
    def crunch(x: Any) -> int:
        """CPU work (sync, in a worker thread)."""
        peaks.enter("crunch")
        try:
            time.sleep(0.001)  # holds its worker thread, so calls overlap
            maybe_fail("crunch")
            return len(str(x))
        finally:
            peaks.leave("crunch")

    @tool
    async def lookup(key: Any) -> str:
        """Unlimited async lookup."""
        peaks.enter("lookup")
        try:
            await anyio.lowlevel.checkpoint()
            maybe_fail("lookup")
            return str(key).upper()
        finally:
            peaks.leave("lookup")

    return [fetch, crunch, lookup]


def script(request: ModelRequest) -> str:
    return PLAN if request.purpose == "plan" else "Action: Finish(ok)"


async def load(faults: FaultCounter, runs: int) -> dict[str, Any]:
    peaks = Peaks()
    rng = random.Random(1000)
    model = ScriptedModel([script], cycle=True, time_to_first_token=0.001)
    agent = Agent(
        model, make_tools(peaks, rng, faults), settings=Settings(max_concurrency=GLOBAL_LIMIT)
    )
    results: list[RunResult | None] = [None] * runs

    async def one(i: int) -> None:
        results[i] = await agent.run(f"request {i}")

    started = time.perf_counter()
    with anyio.fail_after(150):  # tracemalloc with frames (below) slows the runs several-fold
        async with anyio.create_task_group() as tg:
            for i in range(runs):
                tg.start_soon(one, i)
    elapsed = time.perf_counter() - started
    done = [r for r in results if r is not None]
    failed_tasks = sum(1 for r in done for o in r.observations if not o.ok)
    values = [
        weakref.ref(o.value) for r in done for o in r.observations if isinstance(o.value, Page)
    ]
    figures = {
        "runs": runs,
        "answered": sum(1 for r in done if r.answer.startswith("ok")),
        "tasks": sum(len(r.observations) for r in done),
        "failed_tasks": failed_tasks,
        "peak": dict(peaks.peak),
        "limits": {"global": GLOBAL_LIMIT, **TOOL_LIMITS},
        "seconds": round(elapsed, 2),
    }
    figures["values"] = values  # weakrefs, checked once this frame is gone
    return figures


def alive(kind: type) -> int:
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


class Page:
    """A tool value that can be weakly referenced, to see it freed after the runs."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


@pytest.mark.timeout(240)
async def test_a_thousand_concurrent_runs_hold_every_limit_and_leak_nothing(
    anyio_backend: str, faults: FaultCounter, figures_dir: pathlib.Path
) -> None:
    await load(faults, 20)  # warm up caches (pydantic, regexes, the thread pool)
    gc.collect()
    tasks = live_tasks(anyio_backend)
    tracemalloc.start(10)  # deep enough to see whether an allocation came from an import
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        figures = await load(faults, RUNS)
        gc.collect()
        values = figures.pop("values")
        figures["tool_values_alive"] = sum(1 for v in values if v() is not None)
        figures["results_alive"] = alive(RunResult)
        figures["observations_alive"] = alive(Observation)
        current, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        top = snapshot.statistics("lineno")[:5]
        in_parcall = snapshot.filter_traces([tracemalloc.Filter(True, "*/parcall/*")])
        parcall_bytes = sum(stat.size for stat in in_parcall.statistics("filename"))
        # Modules first imported during the runs (by libraries, lazily) stay loaded: that is
        # the interpreter's, not the runs'.
        importing = snapshot.filter_traces(
            [tracemalloc.Filter(True, "<frozen importlib._bootstrap*", all_frames=True)]
        )
        import_bytes = sum(stat.size for stat in importing.statistics("filename"))
    finally:
        tracemalloc.stop()
    figures["memory"] = {
        "baseline_bytes": baseline,
        "peak_bytes": peak,
        "after_bytes": current,
        "retained_bytes": current - baseline,
        "retained_by_parcall_code_bytes": parcall_bytes,
        "retained_by_imports_bytes": import_bytes,
    }
    figures["retained_top"] = [str(stat) for stat in top]
    figures["leaked_tasks"] = len(live_tasks(anyio_backend) - tasks)
    path = figures_dir / "load.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report[anyio_backend] = figures
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")

    assert figures["answered"] == RUNS
    assert figures["failed_tasks"] > 0
    for name, limit in figures["limits"].items():
        if limit is not None:
            assert 0 < figures["peak"][name] <= limit, (name, figures["peak"])
    assert figures["tool_values_alive"] == 0
    assert figures["results_alive"] == 0 and figures["observations_alive"] == 0
    assert figures["leaked_tasks"] == 0
    # What stays is small next to what the runs used: interpreter caches (the parser's, the
    # event loop's task set at its high-water size), not runs; parcall's own lines keep ~nothing.
    retained = figures["memory"]["retained_bytes"] - figures["memory"]["retained_by_imports_bytes"]
    assert retained < 0.15 * (peak - baseline)
    assert figures["memory"]["retained_by_parcall_code_bytes"] < 100_000
