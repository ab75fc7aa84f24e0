"""The simulated benchmark: every workload, every agent, scripted model and tools, real time.

`run_simulated()` runs them one after another in one event loop (never two runs at once, so
they do not disturb each other), writes `simulated.json`, `simulated.md` and a timeline of
each workload's first run, and returns the report.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio

from .._agent import Agent
from .._core.events import ModelCallStarted, TaskStarted
from .._core.extras import MissingExtraError
from .._core.result import RunResult
from .._core.settings import Settings
from ..baselines._parallel_calls import ParallelToolCallAgent
from ..baselines._react import ReActAgent
from ..models._scripted import ScriptedModel
from ._critical_path import REFERENCE_TIMING, ModelTiming
from ._figures import RunFigures
from ._metrics import dispatch_delays, machine_info, percentile
from ._report import PUBLISHED, load_peers, progress, simulated_table
from ._scripts import AGENTS, AgentName, bound, finish_bound, scripts, sim_tools
from ._workloads import Workload, suite

__all__ = ["RunFigures", "SimulatedReport", "run_agent", "run_simulated"]


@dataclass
class SimulatedReport:
    timing: ModelTiming
    machine: dict[str, Any]
    runs: list[RunFigures]
    peers: list[dict[str, Any]]
    files: list[str] = field(default_factory=list)

    def table(self) -> str:
        return simulated_table(self.runs, self.peers)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "parcall-bench-simulated",
            "timing": asdict(self.timing),
            "machine": self.machine,
            "runs": [{**asdict(r), "ratio": r.ratio} for r in self.runs],
            "peers": self.peers,
        }


async def run_agent(
    wl: Workload, agent: AgentName, timing: ModelTiming = REFERENCE_TIMING
) -> RunResult:
    """One run of `agent` on `wl` with its generated script and the scripted tools."""
    script = scripts(wl, timing)[agent]
    model = ScriptedModel(
        script.outputs,
        time_to_first_token=timing.ttft_s,
        tokens_per_second=1.0 / timing.per_token_s,
        chars_per_token=timing.chars_per_token,
    )
    tools = sim_tools(wl)
    if agent in ("parcall", "parcall-finish"):
        return await Agent(model, tools, settings=Settings(max_replans=len(wl.rounds))).run(
            wl.question
        )
    if agent == "parallel":
        # As many turns as the workload's script takes (a deep DAG needs more than six).
        turns = max(len(script.outputs) + 1, 6)
        return await ParallelToolCallAgent(model, tools, max_turns=turns).run(wl.question)
    return await ReActAgent(model, tools, max_turns=len(wl.tasks) + 2).run(wl.question)


def figures(
    wl: Workload, agent: AgentName, repeat: int, result: RunResult, timing: ModelTiming
) -> RunFigures:
    b = bound(wl, timing)
    delays = [d * 1000 for d in dispatch_delays(result.events)]
    late: dict[int, float] = {}
    join_late: float | None = None
    measured: float | None = None
    if agent == "parcall":
        for e in result.events:
            if isinstance(e, TaskStarted) and e.attempt == 0 and e.idx in b.task_start_s:
                late[e.idx] = round((e.time - b.task_start_s[e.idx]) * 1000, 3)
        joins = [e for e in result.events if isinstance(e, ModelCallStarted)]
        join_late = round((joins[-1].time - b.join_start_s) * 1000, 3)
    if agent in ("parcall", "parcall-finish"):
        took = {o.idx: o.duration for o in result.observations if o.duration is not None}
        own_bound = bound if agent == "parcall" else finish_bound
        measured = own_bound(_with_latencies(wl, took), timing).bound_s
    usage = result.usage
    return RunFigures(
        workload=wl.name,
        agent=agent,
        repeat=repeat,
        makespan_s=result.duration,
        bound_s=b.bound_s,
        ideal_s=scripts(wl, timing)[agent].ideal_s,
        model_calls=len(result.model_calls),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        answer_ok=result.answer == scripts(wl, timing)[agent].answer,
        dispatch_p50_ms=percentile(delays, 50),
        dispatch_p99_ms=percentile(delays, 99),
        dispatch_max_ms=max(delays, default=float("nan")),
        task_late_ms=late,
        join_late_ms=join_late,
        measured_bound_s=measured,
    )


def _with_latencies(wl: Workload, took: dict[int, float]) -> Workload:
    rounds = tuple(
        replace(r, tasks=tuple(replace(t, latency_s=took.get(t.idx, t.latency_s)) for t in r.tasks))
        for r in wl.rounds
    )
    return replace(wl, rounds=rounds)


def run_simulated(
    workloads: Sequence[str] | None = None,
    *,
    agents: Sequence[AgentName] = AGENTS,
    repeats: int = 3,
    timing: ModelTiming = REFERENCE_TIMING,
    out_dir: str | Path | None = None,
    peers: str | Path | None = PUBLISHED / "peers.json",
    timelines: bool = True,
    show_progress: bool = True,
    backend: str = "asyncio",
) -> SimulatedReport:
    """Run every workload × agent `repeats` times; write results under `out_dir` (None: don't).

    `workloads` names some of `suite()` (default: all). The markdown table is
    `report.table()`; peers' figures come from the `peers` file when it exists (read only).
    """
    chosen = suite(workloads)
    results: dict[tuple[str, str], RunResult] = {}
    runs: list[RunFigures] = []

    async def main() -> None:
        with progress(show_progress, len(chosen) * len(agents) * repeats) as step:
            for repeat in range(repeats):
                for wl in chosen:
                    for agent in agents:
                        step(f"{wl.name} · {agent} · run {repeat + 1}/{repeats}")
                        gc.collect()
                        result = await run_agent(wl, agent, timing)
                        runs.append(figures(wl, agent, repeat, result, timing))
                        results.setdefault((wl.name, agent), result)

    anyio.run(main, backend=backend)
    out = Path(out_dir) if out_dir is not None else None
    report = SimulatedReport(timing, machine_info(), runs, load_peers(peers))
    report.machine["backend"] = backend
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "simulated.json").write_text(json.dumps(report.to_json(), indent=1) + "\n")
        (out / "simulated.md").write_text(report.table() + "\n")
        report.files += [str(out / "simulated.json"), str(out / "simulated.md")]
        if timelines:
            report.files += _draw(chosen, agents, results, out / "timelines", timing)
    return report


def _draw(
    chosen: Sequence[Workload],
    agents: Sequence[AgentName],
    results: dict[tuple[str, str], RunResult],
    where: Path,
    timing: ModelTiming,
) -> list[str]:
    from ._timeline import timeline_from_events, write_html, write_png

    where.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    for wl in chosen:
        b = bound(wl, timing).bound_s
        lines = [
            timeline_from_events(
                results[wl.name, a].events, title=a, marks=(("critical-path bound", b),)
            )
            for a in agents
            if (wl.name, a) in results
        ]
        title = f"{wl.name}: {wl.description}"
        write_html(lines, where / f"{wl.name}.html", title=title)
        written.append(str(where / f"{wl.name}.html"))
        try:
            write_png(lines, where / f"{wl.name}.png", title=title)
            written.append(str(where / f"{wl.name}.png"))
        except MissingExtraError:
            pass  # matplotlib is the `bench` extra; the HTML needs nothing
    return written
