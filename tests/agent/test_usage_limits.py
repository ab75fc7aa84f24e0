"""`UsageLimits`: a run that goes past one ends with `UsageLimitExceeded` and its result so far."""

from __future__ import annotations

import pytest

from conftest import FINISH, make_search, plan
from parcall import Agent, ParcallError, ScriptedModel, UsageLimitExceeded, UsageLimits

pytestmark = pytest.mark.anyio

REPLAN = "Action: Replan(search b too)"


def replanning() -> ScriptedModel:
    """Plan, join (replan), plan, join (finish): four model calls."""
    return ScriptedModel([plan('1. search("a")'), REPLAN, plan('2. search("b")'), FINISH])


async def test_the_request_limit_stops_the_run_before_the_call_past_it() -> None:
    model = replanning()
    agent = Agent(model, [make_search()], usage_limits=UsageLimits(request_limit=3))
    with pytest.raises(UsageLimitExceeded, match="request_limit of 3") as caught:
        await agent.run("q")
    assert len(model.requests) == 3  # the fourth call was never made
    partial = caught.value.result
    assert isinstance(caught.value, ParcallError)
    assert partial.values == {1: "result for a", 2: "result for b"}  # the run so far
    assert len(partial.model_calls) == 3 and partial.answer == ""


async def test_a_run_within_its_limits_is_not_affected() -> None:
    limits = UsageLimits(request_limit=4, total_tokens_limit=100_000)
    result = await Agent(replanning(), [make_search()], usage_limits=limits).run("q")
    assert result.answer == "done"


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("input_tokens_limit", "input tokens"),
        ("output_tokens_limit", "output tokens"),
        ("total_tokens_limit", "total tokens"),
    ],
)
async def test_each_token_limit_ends_the_run_after_the_call_that_passed_it(
    limit: str, words: str
) -> None:
    # Measured on a run without limits: the first call fits, the first two do not.
    calls = (await Agent(replanning(), [make_search()]).run("q")).model_calls
    used = {
        "input_tokens_limit": lambda u: u.input_tokens,
        "output_tokens_limit": lambda u: u.output_tokens,
        "total_tokens_limit": lambda u: u.input_tokens + u.output_tokens,
    }[limit]
    bound = used(calls[0].usage)
    model = replanning()
    agent = Agent(model, [make_search()])
    with pytest.raises(UsageLimitExceeded, match=f"more than its {limit} of {bound}") as caught:
        await agent.run("q", usage_limits=UsageLimits(**{limit: bound}))
    assert words in str(caught.value)
    assert len(model.requests) == 2  # the limit is checked after each call
    assert used(caught.value.result.usage) > bound
    assert caught.value.result.values == {1: "result for a"}


async def test_a_runs_own_limits_replace_the_agents() -> None:
    agent = Agent(replanning(), [make_search()], usage_limits=UsageLimits(request_limit=1))
    result = await agent.run("q", usage_limits=UsageLimits(request_limit=None))
    assert result.answer == "done"


def test_bad_limits_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="UsageLimits: request_limit must be at least 0"):
        UsageLimits(request_limit=-1)
    with pytest.raises(TypeError, match="total_tokens_limit must be an int or None"):
        UsageLimits(total_tokens_limit="1k")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Agent: usage_limits must be"):
        Agent(ScriptedModel([]), [make_search()], usage_limits={"request_limit": 3})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="run: usage_limits must be"):
        Agent(ScriptedModel([]), [make_search()]).run_sync("q", usage_limits=3)  # type: ignore[arg-type]
