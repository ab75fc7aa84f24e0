"""Where a run's time went: each moment counted once, from the events."""

from __future__ import annotations

import math

import pytest

from conftest import FINISH, make_search
from parcall import Agent, ModelCallFinished, Observation, ScriptedModel, TimeBreakdown
from parcall._core.timing import time_breakdown
from parcall.models import Usage


def call(purpose: str, started: float, first: float | None, end: float) -> ModelCallFinished:
    return ModelCallFinished(purpose, 0, Usage(), started, end, first)  # type: ignore[arg-type]


def task(idx: int, started: float, finished: float) -> Observation:
    return Observation(idx, "search", {}, "done", "x", started_at=started, finished_at=finished)


def test_plan_calls_split_at_their_first_output_and_tools_count_outside_model_calls() -> None:
    events = [call("plan", 0.0, 0.5, 1.0), call("join", 3.0, 3.2, 3.5)]
    # task 1 runs while the plan streams (0.8-1.8): only 1.0-1.8 counts; task 2 overlaps it
    tasks = [task(1, 0.8, 1.8), task(2, 1.5, 2.5), task(3, 2.9, 3.1)]
    got = time_breakdown(events, tasks, 4.0, load=2.0)
    assert got.load == 2.0 and got.total == 6.0
    assert math.isclose(got.prefill, 0.5) and math.isclose(got.generate, 0.5)
    assert math.isclose(got.join, 0.5)
    assert math.isclose(got.tools, 1.5 + 0.1)  # 1.0-2.5, and 2.9-3.0 before the joiner
    assert math.isclose(got.other, 4.0 - 0.5 - 0.5 - 0.5 - 1.6)


def test_a_call_with_no_output_is_all_prefill() -> None:
    got = time_breakdown([call("plan", 0.0, None, 0.7)], [], 0.7)
    assert (got.prefill, got.generate, got.other) == (0.7, 0.0, 0.0)


def test_the_description_names_every_part() -> None:
    text = TimeBreakdown(1.0, 2.0, 3.0, 0.5, 0.25, 0.0, 6.75).describe()
    for part in ("load 1.00 s", "prefill 2.00 s", "generate 3.00 s", "tools 0.50 s", "join 0.25"):
        assert part in text
    assert text.endswith("total 6.75 s")


@pytest.mark.anyio
async def test_a_template_answer_spends_nothing_on_the_joiner() -> None:
    model = ScriptedModel(['1. search("a")\nfinish($1)\n'], time_to_first_token=0.01)
    result = await Agent(model, [make_search()]).run("q")
    parts = result.breakdown
    assert parts.join == 0.0 and parts.prefill > 0.0
    spent = parts.prefill + parts.generate + parts.tools + parts.join + parts.other
    assert math.isclose(spent, result.duration, abs_tol=1e-6)


@pytest.mark.anyio
async def test_a_joined_run_counts_the_joiner_call() -> None:
    model = ScriptedModel(['1. search("a")\njoin()\n', FINISH], time_to_first_token=0.01)
    result = await Agent(model, [make_search()]).run("q")
    assert result.breakdown.join > 0.0
