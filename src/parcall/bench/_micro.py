"""Engine micro-benchmarks: dispatch delay, overhead per task, big plans, many runs at once.

Model and tools cost (almost) nothing here, so what is measured is parcall itself: the plan
parser, the executor (dependency tracking, task start, argument validation, events) and the
agent loop around them. Big plans are measured both on the engine alone (parse, execute) and
end to end through the public API (`Agent.run` with the streaming parser): with async tools,
with sync tools (on worker threads), with `inline=True` sync tools, and with the plan
streamed in 4-character tokens instead of one chunk per line.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from .._agent import Agent
from .._core.events import Event
from .._core.plan import Task
from .._core.tool import Tool
from .._planner.text import parse_plan
from .._run.executor import Executor
from ..models._scripted import ScriptedModel
from ._critical_path import REFERENCE_TIMING
from ._metrics import dispatch_delays, machine_info, percentile
from ._report import progress, write_report
from ._scripts import bound, sim_tools
from ._simulated import run_agent
from ._workloads import Round, Workload, random_dag, reference_workloads

__all__ = ["MicroReport", "SizeFigures", "run_micro"]

FINISH = "Thought: done.\nAction: Finish(done)"


@dataclass(frozen=True, slots=True)
class SizeFigures:
    tasks: int
    parse_s: float
    execute_s: float
    end_to_end_s: float
    parse_peak_mb: float
    execute_peak_mb: float
    end_to_end_peak_mb: float
    end_to_end_sync_s: float = float("nan")
    end_to_end_inline_s: float = float("nan")
    end_to_end_tokens_s: float = float("nan")
    end_to_end_cpu_s: float = float("nan")
    """CPU seconds of the process (every thread) for the end-to-end run with async tools:
    on a shared machine, wall time measures the neighbours too."""
    end_to_end_sync_cpu_s: float = float("nan")

    @property
    def execute_us_per_task(self) -> float:
        return self.execute_s / self.tasks * 1e6

    @property
    def end_to_end_us_per_task(self) -> float:
        return self.end_to_end_s / self.tasks * 1e6

    @property
    def end_to_end_kb_per_task(self) -> float:
        return self.end_to_end_peak_mb * 1024 / self.tasks


@dataclass
class MicroReport:
    machine: dict[str, Any]
    dispatch: dict[str, float] = field(default_factory=dict)
    sizes: list[SizeFigures] = field(default_factory=list)
    concurrent: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        sizes = [
            {
                **asdict(s),
                "execute_us_per_task": s.execute_us_per_task,
                "end_to_end_us_per_task": s.end_to_end_us_per_task,
                "end_to_end_kb_per_task": s.end_to_end_kb_per_task,
            }
            for s in self.sizes
        ]
        return {
            "kind": "parcall-bench-micro",
            "machine": self.machine,
            "dispatch": self.dispatch,
            "sizes": sizes,
            "concurrent": self.concurrent,
        }

    def table(self) -> str:
        d, c = self.dispatch, self.concurrent
        lines = [
            "| dispatch delay | samples | p50 (ms) | p99 (ms) | max (ms) |",
            "|---|---:|---:|---:|---:|",
        ]
        for cause in ("all", "parsed", "input"):
            if f"{cause}_samples" in d:
                lines.append(
                    f"| {cause_name(cause)} | {d[f'{cause}_samples']:.0f} | "
                    f"{d[f'{cause}_p50_ms']:.3f} | {d[f'{cause}_p99_ms']:.3f} | "
                    f"{d[f'{cause}_max_ms']:.3f} |"
                )
        lines += [
            "",
            "| plan size (tasks) | parse (s) | execute (s) | µs / task (execute) | end to end (s) "
            "| peak MB parse / execute / end to end |",
            "|---:|---:|---:|---:|---:|---|",
        ]
        for s in self.sizes:
            lines.append(
                f"| {s.tasks:,} | {s.parse_s:.3f} | {s.execute_s:.3f} | "
                f"{s.execute_us_per_task:.1f} | {s.end_to_end_s:.3f} | {s.parse_peak_mb:.1f} / "
                f"{s.execute_peak_mb:.1f} / {s.end_to_end_peak_mb:.1f} |"
            )
        lines += [
            "",
            "End to end through `Agent.run` (streaming parser, one chunk per line unless said):",
            "",
            "| plan size (tasks) | async tools (s) | µs / task | KB / task | sync tools (s) "
            "| sync, inline=True (s) | async, 4-char tokens (s) | CPU s, async / sync |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in self.sizes:
            lines.append(
                f"| {s.tasks:,} | {s.end_to_end_s:.3f} | {s.end_to_end_us_per_task:.1f} | "
                f"{s.end_to_end_kb_per_task:.2f} | {s.end_to_end_sync_s:.3f} | "
                f"{s.end_to_end_inline_s:.3f} | {s.end_to_end_tokens_s:.3f} | "
                f"{s.end_to_end_cpu_s:.3f} / {s.end_to_end_sync_cpu_s:.3f} |"
            )
        if c:
            lines += [
                "",
                f"{c['runs']:.0f} concurrent runs of W1 in one process: all done in "
                f"{c['wall_s']:.2f} s (one run's bound: {c['bound_s']:.2f} s); makespan / bound "
                f"p50 {c['ratio_p50']:.3f}, p99 {c['ratio_p99']:.3f}, max {c['ratio_max']:.3f}; "
                f"dispatch p99 {c['dispatch_p99_ms']:.2f} ms.",
            ]
        return "\n".join(lines)


def cause_name(cause: str) -> str:
    return {
        "all": "all tasks",
        "parsed": "line parsed → tool started",
        "input": "input settled → tool started",
    }[cause]


def noop_tools(kind: str = "async") -> list[Tool]:
    """One tool `noop`: async, sync (run on worker threads) or sync with `inline=True`."""

    async def noop(x: int = 0) -> int:
        """Return x at once."""
        return x

    def sync_noop(x: int = 0) -> int:
        """Return x at once."""
        return x

    if kind == "async":
        return [Tool.from_function(noop)]
    return [Tool.from_function(sync_noop, name="noop", inline=kind == "inline")]


def big_plan(n: int) -> str:
    """n tasks; every even task uses the result of task n // 2 (a binary tree of inputs)."""
    lines = [
        f"{i}. noop(x=${i // 2})" if i % 2 == 0 else f"{i}. noop(x={i})" for i in range(1, n + 1)
    ]
    return "\n".join([*lines, "join()"]) + "\n"


async def execute(tasks: Sequence[Task], tools: Sequence[Tool]) -> list[Event]:
    """Run parsed tasks on an `Executor`, as `Agent` does, and return their events."""
    events: list[Event] = []
    t0 = anyio.current_time()
    async with anyio.create_task_group() as tg:
        executor = Executor(
            tg,
            {t.name: t for t in tools},
            emit=events.append,
            clock=lambda: anyio.current_time() - t0,
        )
        for task in tasks:
            executor.submit(task)
        await executor.wait_settled()
    return events


def _measure(work: Callable[[], object], memory: bool) -> tuple[float, float, float]:
    """Seconds (without tracemalloc), peak MB (a second run, with it) if `memory`, and the
    CPU seconds of the first run."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    work()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = float("nan")
    if memory:
        gc.collect()
        tracemalloc.start()
        try:
            work()
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    return seconds, peak, cpu


def size_figures(n: int, *, memory: bool = True, backend: str = "asyncio") -> SizeFigures:
    tools = noop_tools()
    text = big_plan(n)
    tasks = parse_plan(text, tools).tasks

    def run(fn: Callable[[], Awaitable[object]]) -> Callable[[], object]:
        return lambda: anyio.run(fn, backend=backend)

    def agent_run(kind: str = "async", chars_per_token: int = 10**9) -> Callable[[], object]:
        async def main() -> object:
            # The default: one chunk per line; or tokens of a few characters, as models send.
            model = ScriptedModel([text, FINISH], chars_per_token=chars_per_token)
            return await Agent(model, noop_tools(kind)).run("q")

        return run(main)

    parse = _measure(lambda: parse_plan(text, tools), memory)
    exe = _measure(run(lambda: execute(tasks, tools)), memory)
    end = _measure(agent_run(), memory)
    sync = _measure(agent_run("sync"), False)
    inline = _measure(agent_run("inline"), False)
    tokens = _measure(agent_run(chars_per_token=4), False)
    return SizeFigures(
        n,
        parse[0],
        exe[0],
        end[0],
        parse[1],
        exe[1],
        end[1],
        sync[0],
        inline[0],
        tokens[0],
        end_to_end_cpu_s=end[2],
        end_to_end_sync_cpu_s=sync[2],
    )


def _scaled(wl: Workload, factor: float) -> Workload:
    rounds = tuple(
        Round(
            tuple(replace(t, latency_s=t.latency_s * factor) for t in r.tasks),
            r.joiner_thought,
            r.decision,
            r.joiner_says,
        )
        for r in wl.rounds
    )
    return Workload(wl.name, wl.description, wl.question, rounds)


def dispatch_figures(runs: int, backend: str) -> dict[str, float]:
    """Delays over `runs` runs of the 50-task DAG, tools of 1–5 ms; every other plan is
    streamed (tasks wait for their lines), the rest given at once (tasks wait for inputs)."""
    wl = _scaled(random_dag(), 1 / 200)
    events: list[list[Event]] = []

    async def main() -> None:
        for n in range(runs):
            model = ScriptedModel(
                [wl.rounds[0].plan_text, wl.rounds[0].joiner_text],
                tokens_per_second=2000 if n % 2 else None,
            )
            result = await Agent(model, sim_tools(wl)).run(wl.question)
            events.append(list(result.events))

    anyio.run(main, backend=backend)
    out: dict[str, float] = {}
    for cause in ("all", "parsed", "input"):
        delays = [
            d * 1000
            for evs in events
            for d in dispatch_delays(evs, None if cause == "all" else cause)  # type: ignore[arg-type]
        ]
        out[f"{cause}_samples"] = len(delays)
        out[f"{cause}_p50_ms"] = percentile(delays, 50)
        out[f"{cause}_p99_ms"] = percentile(delays, 99)
        out[f"{cause}_max_ms"] = max(delays, default=float("nan"))
    return out


def concurrent_figures(runs: int, backend: str) -> dict[str, float]:
    """`runs` parcall runs of W1 at once in one event loop (reference timing)."""
    wl = reference_workloads()["W1"]
    durations: list[float] = []
    delays: list[float] = []

    async def one() -> None:
        result = await run_agent(wl, "parcall")
        durations.append(result.duration)
        delays.extend(dispatch_delays(result.events))

    async def main() -> float:
        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(runs):
                tg.start_soon(one)
        return anyio.current_time() - started

    wall = anyio.run(main, backend=backend)
    b = bound(wl, REFERENCE_TIMING).bound_s
    ratios = [d / b for d in durations]
    return {
        "runs": runs,
        "wall_s": wall,
        "bound_s": b,
        "ratio_p50": statistics.median(ratios),
        "ratio_p99": percentile(ratios, 99),
        "ratio_max": max(ratios),
        "dispatch_p99_ms": percentile(delays, 99) * 1000,
    }


def profile_summary(n: int = 10_000, *, backend: str = "asyncio", top: int = 40) -> str:
    """cProfile of one end-to-end run of an `n`-task plan: the `top` functions by own time."""
    import cProfile
    import io
    import pstats

    text = big_plan(n)

    async def main() -> object:
        model = ScriptedModel([text, FINISH], chars_per_token=10**9)
        return await Agent(model, noop_tools()).run("q")

    profiler = cProfile.Profile()
    profiler.enable()
    anyio.run(main, backend=backend)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    header = f"cProfile: Agent.run end to end, {n:,} tasks, async tools ({backend})\n"
    return header + out.getvalue()


def run_micro(
    sizes: Sequence[int] = (1_000, 10_000, 100_000),
    *,
    dispatch_runs: int = 20,
    concurrent_runs: int = 1_000,
    memory: bool = True,
    out_dir: str | Path | None = None,
    show_progress: bool = True,
    backend: str = "asyncio",
    profile: bool = False,
) -> MicroReport:
    """Measure the engine; write `micro.json` and `micro.md` under `out_dir` (None: don't);
    `profile` also writes `micro_profile.txt`, a cProfile summary of a 10,000-task run."""
    report = MicroReport(machine_info())
    report.machine["backend"] = backend
    steps = 1 + len(sizes) + (1 if concurrent_runs else 0)
    with progress(show_progress, steps) as step:
        step(f"dispatch delay · {dispatch_runs} runs")
        report.dispatch = dispatch_figures(dispatch_runs, backend)
        for n in sizes:
            step(f"plan of {n:,} tasks")
            report.sizes.append(size_figures(n, memory=memory, backend=backend))
        if concurrent_runs:
            step(f"{concurrent_runs:,} concurrent runs")
            report.concurrent = concurrent_figures(concurrent_runs, backend)
    if out_dir is not None:
        report.files += write_report(out_dir, "micro", report.to_json(), report.table())
        if profile:
            (Path(out_dir) / "micro_profile.txt").write_text(profile_summary(backend=backend))
            report.files.append(str(Path(out_dir) / "micro_profile.txt"))
    return report
