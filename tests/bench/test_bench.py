"""The benchmark harness: workloads, generated scripts, the bound, timelines (no timings)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from parcall._core.trace import event_to_dict
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
PEERS = pathlib.Path(__file__).parents[2] / "bench" / "peers"


def peers_module(name: str) -> ModuleType:
    if not (PEERS / f"{name}.py").exists():
        pytest.skip("needs the bench/peers folder of a git checkout of parcall")
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


def mixed_run() -> Any:
    """A real run: a task of microseconds, a failing one, one not run (its input failed)."""
    import anyio

    from parcall import Agent, ScriptedModel, tool

    @tool
    def quick(x: int) -> int:
        """Return x."""
        return x

    @tool
    def broken(x: int) -> int:
        """Fail."""
        raise RuntimeError("out of order")

    text = "1. quick(x=1)\n2. broken(x=2)\n3. quick(x=$2)\njoin()"
    model = ScriptedModel([text, "Action: Finish(done)"], time_to_first_token=0.05)
    return anyio.run(Agent(model, [quick, broken]).run, "q")


def test_a_timeline_shows_every_task_coloured_by_outcome_and_at_least_a_few_pixels_wide() -> None:
    import re

    from parcall.bench._timeline import COLORS, MIN_WIDTH_PX

    timeline = timeline_from_events(mixed_run().events, title="mixed")
    assert timeline.outcomes == {1: "task", 2: "failed", 3: "skipped"}
    page = render_html([timeline], title="mixed")
    bars = re.findall(r"<rect [^>]*data-kind='(\w+)' data-task='(\d+)'", page)
    outcome_bars = {int(t): k for k, t in bars if k != "wait"}
    assert outcome_bars == {1: "task", 2: "failed", 3: "skipped"}  # one bar per task
    widths = [float(w) for w in re.findall(r"<rect [^>]*width='([\d.]+)'", page)]
    assert min(widths) >= MIN_WIDTH_PX  # task 1 took microseconds and still shows
    red = re.findall(r"fill='(#\w+)' data-kind='(?:failed|skipped)'", page)
    assert red and set(red) == {COLORS["failed"]} == {"#C44E52"}
    assert "#2 failed" in page and "out of order" in page and "#3 not run" in page


def test_a_task_that_never_settled_still_has_a_bar() -> None:
    events = [e for e in mixed_run().events if getattr(e, "kind", "") != "task_finished"]
    timeline = timeline_from_events(events)
    assert timeline.outcomes[1] == "unfinished"
    assert len(timeline.outcomes) == 3


def test_the_png_draws_one_labelled_red_bar_for_the_failed_task(tmp_path: pathlib.Path) -> None:
    pytest.importorskip("matplotlib", reason="needs the bench extra: pip install -e '.[bench]'")
    from matplotlib import colors
    from matplotlib.image import imread

    from parcall.bench._timeline import draw, write_png

    timeline = timeline_from_events(mixed_run().events, title="mixed")
    figure = draw([timeline])
    (axes, *_) = figure.axes
    red = colors.to_rgba("#C44E52")
    red_bars = [p for p in axes.patches if colors.same_color(p.get_facecolor(), red)]
    assert len(red_bars) == 2  # task 2 failed, task 3 not run
    labels = [t.get_text() for t in axes.texts]
    assert any(label.startswith(" #2 failed") for label in labels)
    assert sum(label.startswith(" #") for label in labels) == 3  # every task is labelled
    path = tmp_path / "t.png"
    write_png([timeline], path)
    pixels = imread(path)[..., :3]
    near_red = (abs(pixels - red[:3]).sum(axis=-1) < 0.05).sum()
    assert near_red > 50  # the red bars are really drawn


def test_the_passes_benchmark_writes_a_row_per_pass_and_setting(tmp_path: pathlib.Path) -> None:
    from parcall.bench import run_passes

    report = run_passes(["cse", "plan_cache"], repeats=1, out_dir=tmp_path, show_progress=False)
    rows = {(r.case, r.setting): r for r in report.rows}
    assert (rows["cse", "off"].tool_calls, rows["cse", "on"].tool_calls) == (12, 6)
    assert (rows["plan_cache", "off"].planner_calls, rows["plan_cache", "on"].planner_calls) == (
        1,
        0,
    )
    assert all(r.same_results for r in report.rows)
    assert "| cse |" in (tmp_path / "passes.md").read_text()
    assert json.loads((tmp_path / "passes.json").read_text())["kind"] == "parcall-bench-passes"


def test_an_unknown_pass_case_is_named() -> None:
    from parcall.bench import run_passes

    with pytest.raises(ValueError, match="unknown pass case"):
        run_passes(["nope"], out_dir=None, show_progress=False)
