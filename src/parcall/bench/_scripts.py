"""From one workload, what each agent is given: its model's outputs and the tools.

Every agent's script makes the same tool calls with the same text per call, so the only
differences are the ones being measured: how many model round trips, and when each call
starts. parcall gets the plan(s) and joiner replies; ReAct one `Action:` per turn; the
parallel-calls agent one batch per dependency level. The baselines see results, so their
calls carry the values (`r1`) where the plan has references (`$1`): the same length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import anyio

from .._core.tool import Tool
from ._critical_path import (
    REFERENCE_TIMING,
    Bound,
    BoundRound,
    BoundTask,
    ModelTiming,
    reply_duration,
    rounds_bound,
)
from ._workloads import END_OF_PLAN, SimTask, Workload, quote, task_of

__all__ = ["AGENTS", "AgentName", "Script", "bound", "finish_bound", "scripts", "sim_tools"]

AgentName = Literal["parcall", "parcall-finish", "parallel", "react"]
AGENTS: tuple[AgentName, ...] = ("parcall", "parcall-finish", "parallel", "react")
_REF = re.compile(r"\$\{?(\d+)\}?")


@dataclass(frozen=True, slots=True)
class Script:
    agent: AgentName
    outputs: tuple[str, ...]
    ideal_s: float
    """The makespan of this script with zero overhead: the agent's own lower bound."""
    answer: str
    """What the run answers."""


def scripts(wl: Workload, timing: ModelTiming = REFERENCE_TIMING) -> dict[AgentName, Script]:
    """The scripted model outputs of each agent for `wl`, with their ideal makespans."""
    outputs: list[str] = []
    for rnd in wl.rounds:
        outputs += [rnd.plan_text, rnd.joiner_text]
    parcall = Script("parcall", tuple(outputs), bound(wl, timing).bound_s, wl.answer)
    outputs = []
    for rnd, (plan_text, joined) in zip(wl.rounds, _finish_plans(wl)):
        outputs += [plan_text, rnd.joiner_text] if joined else [plan_text]
    answer = f"r{max(t.idx for t in wl.rounds[-1].tasks)}"
    finish = Script("parcall-finish", tuple(outputs), finish_bound(wl, timing).bound_s, answer)
    final = wl.rounds[-1].joiner_text
    calls = _effective(wl)
    react = [f"Action: {_call(t)}" for t in calls]
    react_ideal = sum(reply_duration(text, timing) + t.latency_s for text, t in zip(react, calls))
    batches = _levels(wl, calls)
    batch_texts = ["\n".join(f"{t.idx}. {_call(t)}" for t in b) for b in batches]
    parallel_ideal = sum(
        reply_duration(text, timing) + max(t.latency_s for t in b)
        for text, b in zip(batch_texts, batches)
    )
    last = reply_duration(final, timing)
    return {
        "parcall": parcall,
        "parcall-finish": finish,
        "parallel": Script("parallel", (*batch_texts, final), parallel_ideal + last, wl.answer),
        "react": Script("react", (*react, final), react_ideal + last, wl.answer),
    }


def _finish_plans(wl: Workload) -> list[tuple[str, bool]]:
    """Each round's plan ending in `finish($last)` instead of `join()`, and whether the
    joiner still runs (a task failed, or the joiner asked for a new plan)."""
    plans: list[tuple[str, bool]] = []
    for rnd in wl.rounds:
        last = max(t.idx for t in rnd.tasks)
        lines = [*(t.line() for t in rnd.tasks), f"finish(${last}){END_OF_PLAN}"]
        joined = rnd.decision == "replan" or any(t.fails for t in rnd.tasks)
        plans.append(("\n".join(lines), joined))
    return plans


def finish_bound(wl: Workload, timing: ModelTiming = REFERENCE_TIMING) -> Bound:
    """The critical-path bound of `wl` when its plans end with an answer template: the
    joiner runs only after a round whose tasks failed."""
    rounds = [
        BoundRound(
            tuple(BoundTask(t.idx, t.deps, t.latency_s, t.fails) for t in rnd.tasks),
            plan_text,
            rnd.joiner_text,
            joiner=joined,
        )
        for rnd, (plan_text, joined) in zip(wl.rounds, _finish_plans(wl))
    ]
    return rounds_bound(rounds, timing)


def bound(wl: Workload, timing: ModelTiming = REFERENCE_TIMING) -> Bound:
    """The critical-path bound of `wl` as parcall's plans stream it (see `_critical_path`)."""
    rounds = [
        BoundRound(
            tuple(BoundTask(t.idx, t.deps, t.latency_s, t.fails) for t in rnd.tasks),
            rnd.plan_text,
            rnd.joiner_text,
        )
        for rnd in wl.rounds
    ]
    return rounds_bound(rounds, timing)


def _call(task: SimTask) -> str:
    """The call as a model that has seen the results writes it: `$1` becomes `r1`."""
    return f"{task.tool}({quote(_REF.sub(lambda m: 'r' + m.group(1), task.arg))})"


def _effective(wl: Workload) -> list[SimTask]:
    """The calls a turn-based agent makes: all but those whose inputs failed."""
    failed: set[int] = set()
    kept: list[SimTask] = []
    for task in wl.tasks:
        if any(d in failed for d in task.deps):
            failed.add(task.idx)
            continue
        if task.fails:
            failed.add(task.idx)
        kept.append(task)
    return kept


def _levels(wl: Workload, calls: Sequence[SimTask]) -> list[list[SimTask]]:
    """Batches by dependency level; a replan's calls also wait to see the earlier failures."""
    level: dict[int, int] = {}
    failed_before: list[int] = []
    round_of = {t.idx: n for n, rnd in enumerate(wl.rounds) for t in rnd.tasks}
    kept = {t.idx for t in calls}
    for task in calls:
        seen = [d for d in failed_before if round_of[d] < round_of[task.idx]]
        deps = [d for d in (*task.deps, *seen) if d in kept]
        level[task.idx] = 1 + max((level[d] for d in deps), default=-1)
        if task.fails:
            failed_before.append(task.idx)
    batches: list[list[SimTask]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for task in calls:
        batches[level[task.idx]].append(task)
    return batches


def sim_tools(wl: Workload) -> list[Tool]:
    """`search` and `math`, sleeping each task's scripted latency and returning `r<idx>`."""
    latency = {t.idx: t.latency_s for t in wl.tasks}
    failing = {t.idx for t in wl.tasks if t.fails}

    async def run(arg: str) -> str:
        idx = task_of(arg)
        await anyio.sleep(latency[idx])
        if idx in failing:
            raise ConnectionError(f"search service unavailable for task {idx}")
        return f"r{idx}"

    async def search(query: str) -> str:
        """Search the web.

        Args:
            query: what to look for.
        """
        return await run(query)

    async def math(expression: str) -> str:
        """Compute with the given values.

        Args:
            expression: what to compute, in words or symbols.
        """
        return await run(expression)

    return [Tool.from_function(search), Tool.from_function(math)]
