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

from .._tool import Tool
from ._critical_path import (
    REFERENCE_TIMING,
    Bound,
    BoundRound,
    BoundTask,
    ModelTiming,
    reply_duration,
    rounds_bound,
)
from ._workloads import SimTask, Workload, quote, task_of

__all__ = ["AGENTS", "AgentName", "Script", "bound", "scripts", "sim_tools"]

AgentName = Literal["parcall", "parallel", "react"]
AGENTS: tuple[AgentName, ...] = ("parcall", "parallel", "react")
_REF = re.compile(r"\$\{?(\d+)\}?")


@dataclass(frozen=True, slots=True)
class Script:
    agent: AgentName
    outputs: tuple[str, ...]
    ideal_s: float
    """The makespan of this script with zero overhead: the agent's own lower bound."""


def scripts(wl: Workload, timing: ModelTiming = REFERENCE_TIMING) -> dict[AgentName, Script]:
    """The scripted model outputs of each agent for `wl`, with their ideal makespans."""
    outputs: list[str] = []
    for rnd in wl.rounds:
        outputs += [rnd.plan_text, rnd.joiner_text]
    parcall = Script("parcall", tuple(outputs), bound(wl, timing).bound_s)
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
        "parallel": Script("parallel", (*batch_texts, final), parallel_ideal + last),
        "react": Script("react", (*react, final), react_ideal + last),
    }


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
