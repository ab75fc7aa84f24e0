"""Plan passes on and off: one workload built for each pass, scripted latencies in real time.

Each case runs the same plan (and the same tools) with the pass off and on, and reports the
makespan of the measured run, how many tool calls and planner calls it made, and whether the
results were the same. The scheduling cases also give the bound for limited resources: no
schedule can beat the longest chain, nor the total work divided by the limit.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio

from .._agent import Agent
from .._core.settings import Settings
from .._core.tool import Tool
from .._run.plan_pass import Pass
from ..models._scripted import ScriptedModel
from ..passes import CommonSubexpressions, CriticalPath, DeadTasks, Fusion, PlanCache, ResultCache
from ._metrics import machine_info
from ._report import progress, write_report

__all__ = ["PassCase", "PassRow", "PassesReport", "pass_cases", "run_passes"]

FINISH = "Thought: done.\nAction: Finish(done)"
LATENCY_S = 0.1


@dataclass(frozen=True, slots=True)
class PassCase:
    name: str
    description: str
    make_pass: Callable[[], Pass]
    lines: tuple[str, ...]
    tools: Callable[[Counter[str]], list[Tool]]
    max_concurrency: int | None = None
    runs: int = 1
    """Runs in a row sharing the pass (caches); the last one is measured."""
    bound_s: float | None = None
    time_to_first_token: float = 0.0
    tokens_per_second: float | None = None
    """The planner's timing (None: the plan arrives at once)."""


@dataclass(frozen=True, slots=True)
class PassRow:
    case: str
    setting: str
    makespan_s: float
    tool_calls: int
    planner_calls: int
    bound_s: float | None
    same_results: bool


@dataclass
class PassesReport:
    machine: dict[str, Any]
    rows: list[PassRow] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "parcall-bench-passes",
            "machine": self.machine,
            "rows": [asdict(r) for r in self.rows],
        }

    def table(self) -> str:
        lines = [
            "| pass | off: makespan (s) | on: makespan (s) | on / off | tool calls off → on "
            "| planner calls off → on | bound (s) | same results |",
            "|---|---:|---:|---:|---|---|---:|---|",
        ]
        cases = list(dict.fromkeys(r.case for r in self.rows))
        for case in cases:
            off = next(r for r in self.rows if (r.case, r.setting) == (case, "off"))
            on = next(r for r in self.rows if (r.case, r.setting) == (case, "on"))
            bound = "–" if on.bound_s is None else f"{on.bound_s:.3f}"
            lines.append(
                f"| {case} | {off.makespan_s:.3f} | {on.makespan_s:.3f} | "
                f"{on.makespan_s / off.makespan_s:.2f} | {off.tool_calls} → {on.tool_calls} | "
                f"{off.planner_calls} → {on.planner_calls} | {bound} | "
                f"{'yes' if on.same_results else '**no**'} |"
            )
        return "\n".join(lines)


def _sleeper(
    name: str,
    calls: Counter[str],
    latency: float = LATENCY_S,
    *,
    idempotent: bool = True,
    batch_latency: float | None = None,
    max_concurrency: int | None = None,
) -> Tool:
    async def function(x: str = "") -> str:
        calls[name] += 1
        await anyio.sleep(latency)
        return f"{name}({x})"

    async def batch(args: list[dict[str, Any]]) -> list[str]:
        calls[name] += 1
        await anyio.sleep(batch_latency or latency)
        return [f"{name}({a.get('x', '')})" for a in args]

    function.__doc__ = f"The {name} tool (sleeps {latency:g} s)."
    return Tool.from_function(
        function,
        name=name,
        idempotent=idempotent,
        batch=batch if batch_latency is not None else None,
        max_concurrency=max_concurrency,
    )


def pass_cases() -> list[PassCase]:
    """One workload per pass, each built so the pass has something to do."""
    dupes = tuple(f'{i}. search("q{(i - 1) % 6}")' for i in range(1, 13))
    shorts = [f'{i}. fetch("{i}")' for i in range(2, 18)]
    chain = ['18. step("$1")', *(f'{i}. step("${i - 1}")' for i in range(19, 24))]
    dead = (
        '1. seed("s")',
        *(f'{i}. search("d{i}")' for i in range(2, 8)),
        '8. step("$1")',
        '9. step("$8")',
        '10. step("$9")',
        '11. report("$10")',
    )
    return [
        PassCase(
            "cse",
            "12 searches of 6 distinct queries (each asked twice), limit 4",
            CommonSubexpressions,
            dupes,
            lambda c: [_sleeper("search", c)],
            max_concurrency=4,
        ),
        PassCase(
            "result_cache",
            "8 distinct searches, the same request twice; the second run is measured",
            ResultCache,
            tuple(f'{i}. search("q{i}")' for i in range(1, 9)),
            lambda c: [_sleeper("search", c)],
            runs=2,
        ),
        PassCase(
            "fusion",
            "16 lookups, tool limit 4, a batch form taking 0.12 s for any batch",
            lambda: Fusion(window=0.005),
            tuple(f'{i}. lookup("k{i}")' for i in range(1, 17)),
            lambda c: [_sleeper("lookup", c, batch_latency=0.12, max_concurrency=4)],
        ),
        PassCase(
            "dead_tasks",
            "6 searches nothing uses, then a chain of 3 steps feeding a report; limit 2",
            DeadTasks,
            dead,
            lambda c: [
                _sleeper("seed", c),
                _sleeper("search", c),
                _sleeper("step", c),
                _sleeper("report", c, idempotent=False),
            ],
            max_concurrency=2,
            bound_s=LATENCY_S * (1 + max(4, (6 + 4) / 2)),
        ),
        PassCase(
            "critical_path",
            "16 short tasks and one chain of 6, all after a seed task; limit 2",
            CriticalPath,
            ('1. seed("s")', *shorts, *chain),
            lambda c: [_sleeper("seed", c), _sleeper("fetch", c), _sleeper("step", c)],
            max_concurrency=2,
            bound_s=LATENCY_S * (1 + max(6, (16 + 6) / 2)),
        ),
        PassCase(
            "plan_cache",
            "4 searches; planner 0.2 s to first token, 200 tokens/s; second run measured",
            PlanCache,
            tuple(f'{i}. search("q{i}")' for i in range(1, 5)),
            lambda c: [_sleeper("search", c)],
            runs=2,
            time_to_first_token=0.2,
            tokens_per_second=200,
        ),
    ]


async def _measure(case: PassCase, on: bool) -> tuple[float, int, int, dict[int, Any]]:
    calls: Counter[str] = Counter()
    tools = case.tools(calls)
    passes = [case.make_pass()] if on else []
    plan = "\n".join([*case.lines, "join()"]) + "\n"
    duration, planner, values = 0.0, 0, {}
    for _ in range(case.runs):
        calls.clear()
        model = ScriptedModel(
            [plan, FINISH],
            chars_per_token=10**9,
            time_to_first_token=case.time_to_first_token,
            tokens_per_second=case.tokens_per_second,
        )
        agent = Agent(
            model, tools, settings=Settings(max_concurrency=case.max_concurrency), passes=passes
        )
        result = await agent.run("q")
        duration, values = result.duration, result.values
        planner = sum(1 for r in model.requests if r.purpose == "plan")
    return duration, sum(calls.values()), planner, values


def run_passes(
    cases: Sequence[str] | None = None,
    *,
    repeats: int = 3,
    out_dir: str | Path | None = None,
    show_progress: bool = True,
    backend: str = "asyncio",
) -> PassesReport:
    """Each pass off and on (medians of `repeats`); writes `passes.json` and `passes.md`."""
    chosen = [c for c in pass_cases() if cases is None or c.name in cases]
    if cases is not None and len(chosen) != len(set(cases)):
        known = ", ".join(c.name for c in pass_cases())
        raise ValueError(f"unknown pass case in {list(cases)} (known: {known})")
    report = PassesReport(machine_info())
    report.machine["backend"] = backend
    with progress(show_progress, len(chosen) * 2) as step:
        for case in chosen:
            results: dict[str, dict[int, Any]] = {}
            for setting in ("off", "on"):
                step(f"{case.name} · {setting}")
                figures = [
                    anyio.run(_measure, case, setting == "on", backend=backend)
                    for _ in range(repeats)
                ]
                results[setting] = figures[-1][3]
                report.rows.append(
                    PassRow(
                        case.name,
                        setting,
                        statistics.median(f[0] for f in figures),
                        figures[-1][1],
                        figures[-1][2],
                        case.bound_s,
                        all(f[3] == figures[0][3] for f in figures)
                        and (setting == "off" or results["off"] == results["on"]),
                    )
                )
    if out_dir is not None:
        report.files += write_report(out_dir, "passes", report.to_json(), report.table())
    return report
