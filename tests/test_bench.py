"""The benchmark harness: workloads, generated scripts, the bound, timelines (no timings)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
from dataclasses import replace
from types import ModuleType

import pytest

from parcall._trace import event_to_dict
from parcall.bench import (
    ModelTiming,
    Round,
    Workload,
    bound,
    critical_path,
    reference_workloads,
    run_agent,
    scripts,
    suite,
    timeline_from_events,
)
from parcall.bench._timeline import render_html

FAST = ModelTiming(ttft_s=0.0, per_token_s=1e-4)
PEERS = pathlib.Path(__file__).parent.parent / "bench" / "peers"


def peers_module(name: str) -> ModuleType:
    if not (PEERS / f"{name}.py").exists():
        pytest.skip("bench/peers is not here")
    sys.path.insert(0, str(PEERS))
    try:
        spec = importlib.util.spec_from_file_location(name, PEERS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(PEERS))


def instant(wl: Workload) -> Workload:
    """The same workload with tools that take no time."""
    rounds = tuple(
        Round(
            tuple(replace(t, latency_s=0.0) for t in r.tasks),
            r.joiner_thought,
            r.decision,
            r.joiner_says,
        )
        for r in wl.rounds
    )
    return Workload(wl.name, wl.description, wl.question, rounds)


def test_reference_workloads_are_the_peers_workloads() -> None:
    theirs = peers_module("workloads").WORKLOADS
    ours = reference_workloads()
    assert set(theirs) == set(ours)
    for name, wl in ours.items():
        assert wl.rounds[0].plan_text == "\n".join(theirs[name].plan_lines)
        assert wl.rounds[0].joiner_text == theirs[name].joiner_text
        assert [(t.idx, t.deps, t.latency_s) for t in wl.tasks] == [
            (t.idx, t.deps, t.latency_s) for t in theirs[name].tasks
        ]


def test_the_bound_is_the_peers_bound() -> None:
    workloads = peers_module("workloads")
    theirs = peers_module("critical_path")
    for name, wl in reference_workloads().items():
        expected = theirs.workload_bound(workloads.WORKLOADS[name])
        assert bound(wl).bound_s == pytest.approx(expected.bound_s)
        assert dict(bound(wl).task_start_s) == pytest.approx(dict(expected.task_start_s))


def test_a_failed_input_skips_its_dependent_and_the_replan_adds_a_round() -> None:
    wl = suite(["replan"])[0]
    b = bound(wl)
    assert 3 not in b.task_start_s  # skipped: its input failed
    one_round = critical_path([(1, (), 1.0)], wl.rounds[0].plan_text, wl.rounds[0].joiner_text)
    assert b.bound_s > one_round.bound_s + 1.0


def test_every_agent_makes_the_same_calls_with_the_same_text() -> None:
    wl = reference_workloads()["W3"]
    s = scripts(wl)
    assert s["react"].outputs[:4] == (
        'Action: search("t1 host country of 2016 Olympics")',
        'Action: search("t2 highest mountain of r1")',
        'Action: search("t3 longest river of r1")',
        'Action: math("t4 compare r2 with r3")',
    )
    assert s["parallel"].outputs[1] == (
        '2. search("t2 highest mountain of r1")\n3. search("t3 longest river of r1")'
    )
    assert s["parcall"].ideal_s < s["parallel"].ideal_s < s["react"].ideal_s


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["W1", "U2", "replan", "dag50"])
async def test_every_agent_answers_every_workload_with_the_expected_calls(name: str) -> None:
    wl = instant(suite([name])[0])
    expected = {"parcall": 2 * len(wl.rounds)}
    for agent, script in scripts(wl).items():
        result = await run_agent(wl, agent, FAST)
        assert result.answer == script.answer
        assert len(result.model_calls) == expected.get(agent, len(script.outputs))


def test_a_timeline_reads_the_same_from_events_and_from_a_trace() -> None:
    import anyio

    wl = instant(suite(["replan"])[0])
    result = anyio.run(run_agent, wl, "parcall", FAST)
    typed = timeline_from_events(result.events, title="parcall")
    dicts = timeline_from_events([event_to_dict(e) for e in result.events], title="parcall")
    assert typed == dicts
    kinds = {s.kind for s in typed.spans}
    assert {"plan", "join", "task", "failed", "skipped"} <= kinds
    assert "<svg" in render_html([typed], title="replan")
